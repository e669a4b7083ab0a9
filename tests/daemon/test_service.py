"""The daemon's loop in-process: a run that fails is retried with backoff until its
database answers again, the daemon staying up; a stop flag ends it after the runs under
way; ``--once``'s exit codes."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.clock import SystemClock
from keepfor.connectors.config import load_settings
from keepfor.daemon import runs, service
from keepfor.daemon.events import Events
from keepfor.daemon.lock import create_quietly
from keepfor.daemon.metrics import Metrics
from keepfor.daemon.packs import PackKeeper
from keepfor.daemon.runs import Run, RunOutcome
from keepfor.daemon.service import Daemon, exit_code
from tests.daemon.shop import AUDIT_KEY, SOURCE, TABLE, WAIT, build, ids, write_config, write_pack

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def _run(outcome: RunOutcome) -> Run:
    return Run(SOURCE, T0, T0, outcome, True)


def test_exit_codes() -> None:
    assert exit_code([]) == 0
    assert exit_code([None, _run(RunOutcome.OK), _run(RunOutcome.STOPPED)]) == 0
    assert exit_code([_run(RunOutcome.OK), _run(RunOutcome.REFUSED)]) == 3
    assert exit_code([_run(RunOutcome.REFUSED), _run(RunOutcome.PARTLY)]) == 4
    assert exit_code([_run(RunOutcome.FAILED)]) == 4


def test_a_failing_source_is_retried_until_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setattr(service, "BACKOFF_FIRST", timedelta(seconds=0.2))
    monkeypatch.setattr(service, "BACKOFF_MOST", timedelta(seconds=0.5))
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 11))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {TABLE} RENAME TO away"))  # the table has gone
    create_quietly(engine, runs.RUNS)
    with engine.begin() as conn:  # a run two hours ago: the first run is a catch-up, now
        ago = datetime.now(UTC) - timedelta(hours=2)
        runs.begin(conn, Run(SOURCE, ago, ago, RunOutcome.OK, True))
    log = io.StringIO()
    events = Events("json", log, SystemClock())
    (config,) = load_settings(write_config(tmp_path, url, every="PT1H", apply=True)).sources
    packs = PackKeeper([str(write_pack(tmp_path))], events)
    daemon = Daemon([config], packs, SystemClock(), events, Metrics())
    loop = threading.Thread(target=daemon.serve, daemon=True)
    loop.start()

    def logged(name: str) -> list[dict[str, object]]:
        lines = [json.loads(line) for line in log.getvalue().splitlines()]
        return [line for line in lines if line["event"] == name]

    try:
        deadline = time.monotonic() + WAIT
        while len(logged("retry")) < 3:
            assert time.monotonic() < deadline, log.getvalue()
            time.sleep(0.05)
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE away RENAME TO {TABLE}"))  # back again
        while ids(url):
            assert time.monotonic() < deadline, log.getvalue()
            time.sleep(0.05)
    finally:
        daemon.stopping.set("test")
        loop.join(WAIT)
        engine.dispose()
    assert not loop.is_alive()
    outcomes = [e["outcome"] for e in logged("run_finished")]
    assert outcomes[:3] == ["failed"] * 3
    assert outcomes[-1] == "ok"
    assert [e["failures"] for e in logged("retry")][:3] == [1, 2, 3]
    assert logged("daemon_stopped")


def test_a_database_file_gone_after_the_start_is_retried_not_made_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up check passed (``keepfor daemon`` refuses a file never there); the file
    then goes: the runs fail and are retried, no empty database is made in its place, and
    the sweep happens once it is back."""
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setattr(service, "BACKOFF_FIRST", timedelta(seconds=0.2))
    monkeypatch.setattr(service, "BACKOFF_MOST", timedelta(seconds=0.5))
    shop, away = tmp_path / "shop.db", tmp_path / "away.db"
    url = f"sqlite:///{shop}"
    build(url, range(1, 11))
    log = io.StringIO()
    events = Events("json", log, SystemClock())
    (config,) = load_settings(write_config(tmp_path, url, every="PT1H", apply=True)).sources
    packs = PackKeeper([str(write_pack(tmp_path))], events)
    daemon = Daemon([config], packs, SystemClock(), events, Metrics())
    shop.rename(away)
    loop = threading.Thread(target=daemon.serve, daemon=True)
    loop.start()

    def logged(name: str) -> list[dict[str, object]]:
        lines = [json.loads(line) for line in log.getvalue().splitlines()]
        return [line for line in lines if line["event"] == name]

    try:
        deadline = time.monotonic() + WAIT
        while len(logged("retry")) < 2:
            assert time.monotonic() < deadline, log.getvalue()
            time.sleep(0.05)
        assert not shop.exists()
        away.rename(shop)
        while ids(url):
            assert time.monotonic() < deadline, log.getvalue()
            time.sleep(0.05)
    finally:
        daemon.stopping.set("test")
        loop.join(WAIT)
    assert not loop.is_alive()
    (unknown,) = logged("last_run_unknown")
    assert "no such SQLite database file" in str(unknown["error"])
    finished = logged("run_finished")
    assert finished[0]["outcome"] == "failed"
    assert "no such SQLite database file" in str(finished[0]["error"])
    assert finished[-1]["outcome"] == "ok"
