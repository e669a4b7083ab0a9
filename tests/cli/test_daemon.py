"""``keepfor daemon`` as a real process: scheduled runs happen and are recorded, records
that fall due between runs are swept at the next, ``--once``, the catch-up after missed
times (exactly one run), two daemons on one database (every due record purged once,
one audit entry each, no two runs at once), SIGTERM in the middle of a sweep (exit 0,
the trail intact, the next start finishes), and a bad start (one line, exit 2).

Every wait is bounded and generous (CI machines are slow); nothing asserts how long
anything took. Each process is stopped by its own pid in a ``finally``.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor.audit import verify
from keepfor.daemon import runs
from keepfor.daemon.lock import create_quietly
from tests.daemon.shop import (
    KEEPFOR,
    PACK,
    SOURCE,
    TABLE,
    WAIT,
    DaemonProcess,
    add,
    build,
    daemon_args,
    env,
    ids,
    names,
    query,
    write_config,
    write_pack,
)
from tests.proxy import POLL, Proxy

pytestmark = pytest.mark.slow


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KEEPFOR), *args], cwd=folder, env=env(), capture_output=True, text=True,
        timeout=WAIT, check=False,
    )  # fmt: skip


def _purges(url: str) -> Counter[int]:
    """Order id -> its purge entries in the audit trail."""
    named = names(10_000)
    rows = query(url, "SELECT record, action FROM keepfor_audit")
    assert all(action == "purge" for _, action in rows)
    return Counter(named[record] for record, _ in rows)


def _verified(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = verify(conn)
            assert result.ok, result
    finally:
        engine.dispose()


def _runs(url: str) -> list[tuple[datetime, datetime | None, str]]:
    sql = f"SELECT started, finished, outcome FROM keepfor_runs WHERE source = '{SOURCE}'"
    rows = query(url, sql)
    return sorted((r[0], r[1], r[2]) for r in rows)


# -- a bad start ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "pack", "message"),
    [
        ({"schedule": "0 2 * *"}, None, "five fields"),
        ({"every": "PT1S"}, "pack: x\nrules: nope\n", "pack.yaml"),
        ({}, None, "no source has a schedule"),
        ({"every": "PT1S", "aply": True}, None, "unknown key 'aply'"),
    ],
)
def test_a_bad_start_is_one_line_and_exit_2(
    tmp_path: Path, keys: dict[str, object], pack: str | None, message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 4))
    config = write_config(tmp_path, url, **keys)
    done = _run(tmp_path, *daemon_args(write_pack(tmp_path, text=pack), config))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not query(url, "SELECT * FROM keepfor_runs")  # nothing ran


@pytest.mark.parametrize("once", [True, False], ids=["once", "serving"])
@pytest.mark.parametrize(
    ("pack", "section", "message"),
    [
        (PACK.format(version="1").replace("placed_at", "sent_at"), "", "'sent_at'"),
        (None, '[sources.orders.anonymise]\nplaced_at = "null"\n', "is NOT NULL"),
    ],
    ids=["no-such-column", "strategy-the-column-refuses"],
)
def test_a_config_the_table_refuses_is_a_bad_start(
    tmp_path: Path, once: bool, pack: str | None, section: str, message: str
) -> None:
    """Checked against the table before anything runs, as a run would check it: one
    line, exit 2, no run and none of keepfor's tables in the database."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 4))
    config = write_config(tmp_path, url, every="PT1S", apply=True)
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")
    more = ("--once",) if once else ()
    done = _run(tmp_path, *daemon_args(write_pack(tmp_path, text=pack), config, *more))
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"source '{SOURCE}'" in done.stderr
    assert message in done.stderr
    made = query(url, "SELECT name FROM sqlite_master WHERE name LIKE 'keepfor%'")
    assert made == []
    assert len(query(url, f"SELECT * FROM {TABLE}")) == 3


@pytest.mark.parametrize("once", [True, False])
def test_a_sqlite_file_that_is_not_there_is_refused_and_not_made(
    tmp_path: Path, once: bool
) -> None:
    """As every command refuses it: no empty database left behind, whose "no such
    table" would hide the misspelt path from the next command."""
    gone = tmp_path / "gone.db"
    config = write_config(tmp_path, f"sqlite:///{gone}", every="PT1S")
    more = ("--once",) if once else ()
    done = _run(tmp_path, *daemon_args(write_pack(tmp_path), config, *more))
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"source '{SOURCE}'" in done.stderr
    assert f"no such SQLite database file: {gone}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not gone.exists()


def test_an_applying_source_needs_the_audit_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 4))
    config = write_config(tmp_path, url, every="PT1S", apply=True)
    command = [str(KEEPFOR), *daemon_args(write_pack(tmp_path), config)]
    bare = {k: v for k, v in env().items() if k != "KEEPFOR_AUDIT_KEY"}
    done = subprocess.run(command, cwd=tmp_path, env=bare, capture_output=True, text=True,
                          timeout=WAIT, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "KEEPFOR_AUDIT_KEY" in done.stderr


# -- --once ----------------------------------------------------------------------------------


def test_once_dry_then_applying(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 11), range(11, 16))
    pack = write_pack(tmp_path)
    config = write_config(tmp_path, url, reports="reports")  # no schedule: --once still runs it
    done = _run(tmp_path, *daemon_args(pack, config, "--once"))
    assert done.returncode == 0, done
    assert ids(url) == set(range(1, 16))
    (report,) = (tmp_path / "reports" / SOURCE).iterdir()
    assert '"purge": 10' in report.read_text(encoding="utf-8")
    write_config(tmp_path, url, apply=True)
    done = _run(tmp_path, *daemon_args(pack, config, "--once"))
    assert done.returncode == 0, done
    assert ids(url) == set(range(11, 16))
    assert [outcome for _, _, outcome in _runs(url)] == ["ok", "ok"]
    _verified(url)


# -- on a schedule ---------------------------------------------------------------------------


def test_every_second_runs_are_recorded_and_new_due_records_swept(
    db_url: str, tmp_path: Path
) -> None:
    url = db_url
    build(url, range(1, 21), range(21, 31))
    config = write_config(tmp_path, url, every="PT1S", apply=True)
    daemon = DaemonProcess(tmp_path, daemon_args(write_pack(tmp_path), config), tmp_path / "log")
    try:
        daemon.wait_for(lambda: ids(url) == set(range(21, 31)), "first sweep")
        add(url, range(31, 41))  # fall due between runs
        daemon.wait_for(lambda: ids(url) == set(range(21, 31)), "sweep of the new records")
        daemon.wait_for(lambda: len(_runs(url)) >= 3, "third recorded run")
        assert daemon.stop() == 0, daemon.text()
    finally:
        daemon.kill()
    recorded = _runs(url)
    outcomes = [outcome for _, _, outcome in recorded]
    # the last run may have been under way when SIGTERM came: it stops, reading no more
    assert set(outcomes[:-1]) == {"ok"}
    assert outcomes[-1] in ("ok", "stopped")
    assert all(finished is not None for _, finished, _ in recorded)
    assert sum(e["counts"]["purge"] for e in daemon.events("run_finished")) == 30
    assert _purges(url) == Counter(range(1, 21)) + Counter(range(31, 41))
    _verified(url)
    assert daemon.events("daemon_stopped")


def test_catch_up_after_missed_times_is_one_run(db_url: str, tmp_path: Path) -> None:
    url = db_url
    build(url, range(1, 6))
    engine = sa.create_engine(url)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    create_quietly(engine, runs.RUNS)
    with engine.begin() as conn:
        runs.begin(conn, runs.Run(SOURCE, long_ago, long_ago, runs.RunOutcome.OK, True))
    engine.dispose()
    hour = (datetime.now(UTC).hour + 12) % 24  # nightly, far from now: no regular run
    config = write_config(tmp_path, url, schedule=f"0 {hour} * * *", apply=True)
    daemon = DaemonProcess(tmp_path, daemon_args(write_pack(tmp_path), config), tmp_path / "log")
    try:
        daemon.wait_for(lambda: bool(daemon.events("run_finished")), "catch-up run")
        (scheduled,) = daemon.events("scheduled")
        assert scheduled["catch_up"] is True
        time.sleep(3)  # room for a wrong second run; none may come
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert len(daemon.events("run_started")) == 1
    assert len(_runs(url)) == 2  # the one before, and the catch-up
    assert ids(url) == set()


# -- two daemons -----------------------------------------------------------------------------


def test_two_daemons_purge_each_record_once(db_url: str, tmp_path: Path) -> None:
    due, kept = range(1, 2001), range(2001, 2201)
    build(db_url, due, kept)
    pack = write_pack(tmp_path)
    config = write_config(tmp_path, db_url, every="PT1S", apply=True)
    args = daemon_args(pack, config, "--batch-size", "50")
    first = DaemonProcess(tmp_path, args, tmp_path / "first.log")
    second = DaemonProcess(tmp_path, args, tmp_path / "second.log")
    try:
        first.wait_for(lambda: ids(db_url) == set(kept), "every due record purged")
        for daemon in (first, second):
            daemon.wait_for(
                lambda d=daemon: len(d.events("run_finished") + d.events("run_skipped")) >= 2,
                "two runs or skips",
            )
        assert first.stop() == 0, first.text()
        assert second.stop() == 0, second.text()
    finally:
        first.kill()
        second.kill()
    assert _purges(db_url) == Counter(due)  # each once, no other entry
    _verified(db_url)
    recorded = _runs(db_url)
    for (_, end, _), (start, _, _) in itertools.pairwise(recorded):
        assert end is not None
        assert end <= start, "two runs of one source at once"
    both = [d.events("run_finished") for d in (first, second)]
    outcomes = [e for runs_ in both for e in runs_ if e["outcome"] != "ok"]
    assert not outcomes, [(e["outcome"], e["error"]) for e in outcomes]
    assert sum(e["counts"]["purge"] for runs_ in both for e in runs_) == len(due)


# -- SIGTERM in the middle of a sweep --------------------------------------------------------


@pytest.mark.parametrize("once", [True, False], ids=["once", "scheduled"])
def test_sigterm_mid_sweep_exits_0_and_the_next_start_finishes(
    db_url: str, tmp_path: Path, once: bool
) -> None:
    due = range(1, 3001)
    build(db_url, due)
    pack = write_pack(tmp_path)
    config = write_config(tmp_path, db_url, apply=True, **({} if once else {"every": "PT1S"}))
    args = daemon_args(pack, config, "--batch-size", "10", *(["--once"] if once else []))
    daemon = DaemonProcess(tmp_path, args, tmp_path / "log")
    try:
        daemon.wait_for(lambda: bool(query(db_url, "SELECT 1 FROM keepfor_audit")), "a batch")
        assert daemon.stop() == 0, daemon.text()
    finally:
        daemon.kill()
    assert daemon.events("stopping")
    gone = set(due) - ids(db_url)
    assert _purges(db_url) == Counter(gone)  # what was done is audited, once
    _verified(db_url)
    recorded = _runs(db_url)
    assert all(finished is not None for _, finished, _ in recorded)
    assert {outcome for _, _, outcome in recorded} <= {"ok", "stopped"}
    last = daemon.events("run_finished")[-1]
    if last["outcome"] == "stopped":  # unless it had finished before the signal came
        assert last["counts"]["left"] == len(due) - len(gone) > 0
    done = _run(tmp_path, *daemon_args(pack, config, "--once"))
    assert done.returncode == 0, done
    assert ids(db_url) == set()
    assert _purges(db_url) == Counter(due)
    _verified(db_url)


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_scraped_over_http_agree_with_the_audit_trail(tmp_path: Path) -> None:
    from tests.daemon.test_metrics import scrape

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 13), range(13, 16))
    config = write_config(tmp_path, url, every="PT1S", apply=True)
    args = daemon_args(write_pack(tmp_path), config, "--metrics-port", "0")
    daemon = DaemonProcess(tmp_path, args, tmp_path / "log")
    try:
        daemon.wait_for(lambda: bool(daemon.events("metrics")), "metrics server")
        port = int(daemon.events("metrics")[0]["port"])
        daemon.wait_for(lambda: len(daemon.events("run_finished")) >= 2, "two runs")
        samples = scrape(port)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    source = (("source", SOURCE),)
    assert samples[("keepfor_daemon_up", ())] == 1
    assert samples[("keepfor_runs_total", (("outcome", "ok"), *source))] >= 2
    assert samples[("keepfor_records_total", (("action", "purge"), *source))] == 12
    assert samples[("keepfor_run_failures_total", source)] == 0
    assert samples[("keepfor_last_success_timestamp_seconds", source)] > 0
    assert len(_purges(url)) == 12


# -- a database that goes away ---------------------------------------------------------------


class RestartableProxy(Proxy):
    """A proxy that can come back on the same port after :meth:`stop`."""

    def restart(self) -> None:
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(POLL)
        self._start(self._accept)


def _failed(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [e for e in daemon.events("run_finished") if e["outcome"] == "failed"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_outage_fails_runs_and_the_daemon_recovers(db_url: str, tmp_path: Path) -> None:
    """Through a proxy of the test's own: the shared server itself is never stopped."""
    postgres_url = db_url
    build(postgres_url, range(1, 11), range(11, 13))
    real = make_url(postgres_url)
    with RestartableProxy(
        (real.host or "127.0.0.1", real.port or 5432), lifetime=10 * WAIT
    ) as proxy:
        through = real.set(host="127.0.0.1", port=proxy.port)
        config = write_config(tmp_path, through.render_as_string(hide_password=False),
                              every="PT1S", apply=True)  # fmt: skip
        daemon = DaemonProcess(
            tmp_path, daemon_args(write_pack(tmp_path), config), tmp_path / "log"
        )
        try:
            daemon.wait_for(lambda: ids(postgres_url) == {11, 12}, "the first sweep")
            proxy.stop()  # the database goes away
            add(postgres_url, range(13, 21))  # falls due while the database is away
            daemon.wait_for(lambda: len(_failed(daemon)) >= 2, "two failed runs")
            proxy.restart()
            daemon.wait_for(lambda: ids(postgres_url) == {11, 12}, "the sweep after the outage")
            assert daemon.stop() == 0, daemon.text()
        finally:
            daemon.kill()
    assert all(e["level"] == "error" and "database" in e["error"] for e in _failed(daemon))
    assert daemon.events("run_finished")[-1]["outcome"] == "ok"
    assert _purges(postgres_url) == Counter([*range(1, 11), *range(13, 21)])
    _verified(postgres_url)
