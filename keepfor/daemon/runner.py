"""One run of one source: take its lock, record the run, sweep (applying or dry, as the
config says), record the end, write a dry run's report, log, count.

A run never raises: whatever goes wrong (a database gone, the safety valve, a pack
or setting the source refuses) is its outcome, logged in one event and recorded where
the database still answers, and the daemon goes on. SIGTERM sets ``stopping``: the
batch under way finishes, later ones are left (:class:`StoppingTarget`), the lock is
released.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import ActionBatch, ActionTarget, BatchResult, Clock, RecordSource
from keepfor.actions.sweep import MassDisposal, SweepResult, SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.connectors.config import SourceConfig
from keepfor.connectors.targets import acting_on, target_for
from keepfor.daemon import runs
from keepfor.daemon.databases import require_database
from keepfor.daemon.events import Events
from keepfor.daemon.lock import LEASE, create_quietly, lock_for
from keepfor.daemon.metrics import Metrics
from keepfor.daemon.packs import PackKeeper, versions
from keepfor.daemon.reports import write_report
from keepfor.daemon.runs import Run, RunOutcome
from keepfor.database import create_engine, first_line
from keepfor.engine import Action, Instant, RuleSet
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import KeepforError

__all__ = ["STOPPING", "Runner", "StopFlag", "StoppingTarget"]

STOPPING = "stopping: batch left for the next run"


class StopFlag:
    """Set once the daemon is to stop. A plain attribute, not a ``threading.Event``: a
    signal handler sets it, and an Event's lock may be held by the very thread the
    handler interrupts."""

    def __init__(self) -> None:
        self._set = False
        self.signal: str | None = None

    def set(self, signal: str | None = None) -> None:
        self.signal = self.signal or signal
        self._set = True

    def is_set(self) -> bool:
        return self._set


class StoppingTarget(ActionTarget):
    """A target that refuses every batch once the daemon is stopping: the sweep counts
    them as not done, and the next run does them."""

    def __init__(self, inner: ActionTarget, stopping: StopFlag) -> None:
        self.inner = inner
        self.stopping = stopping
        self.left = 0
        """Records of batches refused because the daemon was stopping."""

    @property
    def actions(self) -> frozenset[Action]:
        return self.inner.actions

    def cannot(self, action: Action) -> str:
        return self.inner.cannot(action)

    @property
    def rewrites(self) -> bool:
        return self.inner.rewrites

    def prepare(self, actions: Collection[Action]) -> None:
        self.inner.prepare(actions)

    def approved(self, recheck: Predicate, size: int) -> list[ActionBatch]:
        return self.inner.approved(recheck, size)

    @property
    def batch_size(self) -> tuple[int, int]:
        return self.inner.batch_size

    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        return self.apply_round((batch,), at)[0]

    def apply_round(self, batches: Sequence[ActionBatch], at: Instant) -> list[BatchResult]:
        if self.stopping.is_set():
            self.left += sum(len(batch.keys) for batch in batches)
            raise KeepforError(STOPPING)
        return self.inner.apply_round(batches, at)


@dataclass(frozen=True)
class _Swept:
    result: SweepResult
    left: int
    """Records left for the next run: refused batches (counted as failed by the sweep)
    and what the sweep did not reach."""
    refused: int


class Runner:
    """Runs one source, as often as asked; one run at a time in this process, and one
    across processes (the source's lock)."""

    def __init__(
        self,
        config: SourceConfig,
        packs: PackKeeper,
        clock: Clock,
        events: Events,
        metrics: Metrics,
        stopping: StopFlag,
        batch_size: int | None = None,
    ) -> None:
        self.config = config
        self.batch_size = batch_size
        self.name = config.name
        self.packs = packs
        self.clock = clock
        self.events = events
        self.metrics = metrics
        self.stopping = stopping
        self.lease = LEASE
        self.engine = create_engine(config.url)
        self._busy = threading.Lock()

    def last(self) -> Run | None:
        """The source's last run, from its database (one that has gone: SourceError)."""
        require_database(self.config)
        with self.engine.connect() as conn:
            return runs.last_run(conn, self.name)

    def run(self) -> Run | None:
        """One run; None when it was skipped (this source is being swept already)."""
        if not self._busy.acquire(blocking=False):
            self._skipped("a run of this source is still going in this daemon")
            return None
        try:
            lock = lock_for(self.engine, self.name, self.clock, self.lease)
            try:
                # a SQLite file gone since the start: fail (and retry), not make it anew
                require_database(self.config)
                if not lock.acquire():
                    self._skipped("another sweeper holds this source's lock")
                    return None
            except (SQLAlchemyError, KeepforError) as error:
                return self._failed_early(error)
            try:
                return self._locked()
            finally:
                lock.release()
        finally:
            self._busy.release()

    def _skipped(self, why: str) -> None:
        self.events.emit("run_skipped", source=self.name, reason=why)
        self.metrics.runs.labels(self.name, "skipped").inc()

    def _failed_early(self, error: Exception) -> Run:
        """A run that could not even take its lock (the database does not answer)."""
        now = self.clock.now()
        run = Run(self.name, now, now, RunOutcome.FAILED, self.config.schedule.apply,
                  detail=_one_line(error))  # fmt: skip
        self._ended(run)
        return run

    def _locked(self) -> Run:
        rules = self.packs.current()
        apply = self.config.schedule.apply
        started = self.clock.now()
        run = Run(self.name, started, None, RunOutcome.RUNNING, apply, packs=versions(rules))
        try:
            create_quietly(self.engine, runs.RUNS)
            with self.engine.begin() as conn:
                run_id: int | None = runs.begin(conn, run)
        except (SQLAlchemyError, KeepforError) as error:  # KeepforError: tables' lock waited
            ended = self.clock.now()
            return self._ended(
                replace(run, finished=ended, outcome=RunOutcome.FAILED, detail=_one_line(error))
            )
        self.events.emit("run_started", source=self.name, applied=apply, packs=run.packs)
        run = self._swept(rules, run)
        with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
            assert run_id is not None
            runs.finish(conn, run_id, run)
        return self._ended(run)

    def _swept(self, rules: RuleSet, run: Run) -> Run:
        """The sweep, and the run as it ended."""
        try:
            swept = self._sweep(rules, run.started, run.applied)
        except MassDisposal as refused:
            return replace(run, finished=self.clock.now(), outcome=RunOutcome.REFUSED,
                           detail=str(refused))  # fmt: skip
        except Exception as error:  # a daemon keeps running whatever one run meets
            return replace(run, finished=self.clock.now(), outcome=RunOutcome.FAILED,
                           detail=_one_line(error))  # fmt: skip
        tally = swept.result.sources[self.name].to_dict()
        failures = [f for f in swept.result.failures if f != STOPPING]
        if swept.left:
            tally["failed"] -= swept.refused
            tally["left"] = swept.left
        outcome = (
            RunOutcome.PARTLY if failures
            else RunOutcome.STOPPED if swept.left or swept.result.stopped
            else RunOutcome.OK
        )  # fmt: skip
        detail = "; ".join(failures[:3]) or None
        return replace(run, finished=self.clock.now(), outcome=outcome, counts=tally,
                       detail=detail)  # fmt: skip

    def _sweep(self, rules: RuleSet, at: datetime, apply: bool) -> _Swept:
        trail = None
        if apply:
            from keepfor.audit import load_key

            trail = Trail(load_key(self.config.audit_key_file), rules, self.clock)
        made: list[StoppingTarget] = []
        with self._opened(trail, made) as swept:
            result = run_sweep(
                rules, [swept], at, apply=apply, batch_size=self.batch_size,
                stop=self.stopping.is_set,
            )  # fmt: skip
        refused = sum(t.left for t in made)
        return _Swept(result, refused + sum(result.left.values()), refused)

    @contextlib.contextmanager
    def _opened(self, trail: Trail | None, made: list[StoppingTarget]) -> Iterator[SweptSource]:
        source = self.config.open()
        try:
            source.open()
            yield SweptSource(source, self.config.actions, self._target(trail, made), _tables)
        finally:
            source.close()

    def _target(
        self, trail: Trail | None, made: list[StoppingTarget]
    ) -> Callable[[RecordSource], ActionTarget]:
        settings = self.config.actions

        def make(source: RecordSource) -> ActionTarget:
            target = StoppingTarget(target_for(source, settings, trail), self.stopping)
            made.append(target)
            return target

        return make

    def _ended(self, run: Run) -> Run:
        """Log, count, and write a dry run's report."""
        assert run.finished is not None
        self.metrics.run(self.name, run.outcome.value, run.applied, run.counts, run.finished)
        report = None
        if not run.applied and run.outcome is RunOutcome.OK:
            schedule = self.config.schedule
            try:
                report = write_report(schedule.reports, run, schedule.keep_reports)
            except OSError as error:
                self.events.emit("report_failed", "error", source=self.name, error=str(error))
        level = "info" if run.outcome in (RunOutcome.OK, RunOutcome.STOPPED) else "error"
        seconds = round((run.finished - run.started).total_seconds(), 3)
        self.events.emit(
            "run_finished", level, source=self.name, outcome=run.outcome.value,
            applied=run.applied, seconds=seconds, counts=dict(run.counts),
            error=run.detail, report=None if report is None else str(report),
        )  # fmt: skip
        return run

    def close(self) -> None:
        self.engine.dispose()


def _tables(source: RecordSource) -> contextlib.AbstractContextManager[None]:
    """keepfor's tables made once the config is checked (the run holds the lock)."""
    return acting_on(source, None)


def _one_line(error: BaseException) -> str:
    if isinstance(error, KeepforError):
        return " ".join(str(error).split())
    if isinstance(error, sa.exc.SQLAlchemyError):
        return f"database error: {first_line(error)}"
    return f"{type(error).__name__}: {first_line(error)}"
