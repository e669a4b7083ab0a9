"""``keepfor daemon``: every scheduled source on its schedule (APScheduler 3.x, a
``BackgroundScheduler`` with its in-memory job store), until SIGTERM or SIGINT.

Each source is one job (coalescing, with a misfire grace, one instance at a time); its
first time comes from keepfor's record of its last run (:func:`.schedule.plan`). A run
that fails is retried after a backoff (5 s, doubling, at most 10 minutes) unless the
schedule comes sooner; the daemon keeps running whatever a run meets. On a signal, the
runs under way finish their current batch and release their locks, and the daemon
exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from keepfor.abc import Clock
from keepfor.connectors.config import SourceConfig
from keepfor.daemon import schedule
from keepfor.daemon.events import Events, SchedulerLog
from keepfor.daemon.metrics import Metrics
from keepfor.daemon.packs import PackKeeper
from keepfor.daemon.runner import Runner, StopFlag
from keepfor.daemon.runs import Run, RunOutcome

__all__ = ["BACKOFF_FIRST", "BACKOFF_MOST", "Daemon", "exit_code"]

BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MOST = timedelta(minutes=10)

EXIT_REFUSED = 3
EXIT_FAILED = 4


def exit_code(ended: Sequence[Run | None]) -> int:
    """``--once``'s exit: 0 when every run succeeded, was stopped, or was skipped
    (another sweeper had the source); 3 when the safety valve refused one; 4 when one
    failed or was partly done."""
    outcomes = {run.outcome for run in ended if run is not None}
    if outcomes & {RunOutcome.FAILED, RunOutcome.PARTLY}:
        return EXIT_FAILED
    if RunOutcome.REFUSED in outcomes:
        return EXIT_REFUSED
    return 0


class Daemon:
    """The runners of a config's sources, and the loop that schedules them."""

    def __init__(
        self,
        configs: Sequence[SourceConfig],
        packs: PackKeeper,
        clock: Clock,
        events: Events,
        metrics: Metrics,
        batch_size: int | None = None,
    ) -> None:
        self.clock = clock
        self.events = events
        self.metrics = metrics
        self.stopping = StopFlag()
        self._active = 0
        self._idle = threading.Condition()
        self.runners = {c.name: Runner(c, packs, clock, events, metrics, self.stopping, batch_size)
                        for c in configs}  # fmt: skip
        self._failures: dict[str, int] = {}
        self._scheduler: Any = None
        for name in self.runners:
            metrics.source(name)

    def on_signals(self) -> None:
        """SIGTERM and SIGINT stop the daemon after the batches under way (main thread)."""
        signal.signal(signal.SIGTERM, self._signalled)
        signal.signal(signal.SIGINT, self._signalled)

    def _signalled(self, number: int, _frame: FrameType | None) -> None:
        """Only a flag: the interrupted thread may hold any lock (the log's too)."""
        self.stopping.set(signal.Signals(number).name)

    def once(self) -> int:
        """Every source's sweep once, one after the other; the exit code."""
        ended = []
        for runner in self.runners.values():
            if self.stopping.is_set():
                break
            ended.append(runner.run())
        if self.stopping.is_set():
            self.events.emit("stopping", signal=self.stopping.signal)
        self.close()
        return exit_code(ended)

    def serve(self) -> int:
        """Run the schedule until stopped; 0."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduled = [r for r in self.runners.values() if r.config.schedule.scheduled]
        self._scheduler = BackgroundScheduler(
            # a thread per source, and one for its retry (which waits on nothing: a run of
            # a source already under way is skipped)
            executors={"default": ThreadPoolExecutor(max(2, 2 * len(scheduled)))},
            timezone=UTC,
        )
        logging.getLogger("apscheduler").addHandler(SchedulerLog(self.events))
        for runner in scheduled:
            self._add(runner)
        self._scheduler.start()
        self.events.emit("daemon_started", sources=[r.name for r in scheduled])
        while not self.stopping.is_set():
            time.sleep(0.2)
        self.events.emit("stopping", signal=self.stopping.signal)
        with self._idle:  # the runs under way end after their batch
            while self._active:
                self._idle.wait(1.0)
        # no job runs now, nor will: shutdown(wait=True) would hold the job store's lock
        # while waiting, which a job ending (get_job, add_job) needs
        self._scheduler.shutdown(wait=False)
        self.close()
        self.events.emit("daemon_stopped")
        return 0

    def _add(self, runner: Runner) -> None:
        settings = runner.config.schedule
        now = self.clock.now()
        try:
            last = runner.last()
            plan = schedule.plan(settings, None if last is None else last.started, now)
        except Exception as error:  # the database does not answer: try now, then retry
            self.events.emit("last_run_unknown", "warning", source=runner.name, error=str(error))
            plan = schedule.Plan(now, True, now)
        self._scheduler.add_job(
            self._job, schedule.trigger(settings, plan.anchor), args=[runner.name],
            id=runner.name, next_run_time=plan.first, coalesce=True, max_instances=1,
            misfire_grace_time=max(1, int(schedule.grace(settings).total_seconds())),
        )  # fmt: skip
        self.metrics.scheduled(runner.name, plan.first)
        self.events.emit("scheduled", source=runner.name, schedule=settings.describe(),
                         first_run=plan.first, catch_up=plan.catch_up)  # fmt: skip

    def _job(self, name: str) -> None:
        """A scheduled (or retried) run of one source, then its retry if it failed."""
        with self._idle:
            if self.stopping.is_set():
                return
            self._active += 1
        try:
            self._run(name)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _run(self, name: str) -> None:
        run = self.runners[name].run()
        job = self._scheduler.get_job(name) if self._scheduler is not None else None
        upcoming: datetime | None = None if job is None else _instant(job.next_run_time)
        if run is not None and run.outcome is RunOutcome.FAILED:
            upcoming = self._retry(name, upcoming)
        elif run is not None:
            self._failures.pop(name, None)
        self.metrics.scheduled(name, upcoming)

    def _retry(self, name: str, upcoming: datetime | None) -> datetime | None:
        """Schedule a retry after the backoff, unless the schedule comes sooner."""
        failures = self._failures[name] = self._failures.get(name, 0) + 1
        wait = min(BACKOFF_MOST, BACKOFF_FIRST * (1 << min(failures - 1, 16)))
        when = self.clock.now() + wait
        if self.stopping.is_set() or (upcoming is not None and upcoming <= when):
            return upcoming
        self._scheduler.add_job(
            self._job, "date", run_date=when, args=[name], id=f"{name}:retry",
            replace_existing=True, misfire_grace_time=None, coalesce=True,
        )  # fmt: skip
        self.events.emit("retry", source=name, at=when, failures=failures)
        return when

    def close(self) -> None:
        for runner in self.runners.values():
            runner.close()


def _instant(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
