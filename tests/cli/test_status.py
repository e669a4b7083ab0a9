"""``keepfor status``: per source, the last run (start, end, outcome, counts) from
``keepfor_runs``, and the next run time by the schedule; its counts agree with the
audit trail."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.clock import FixedClock
from keepfor.daemon import runs
from keepfor.daemon.lock import create_quietly
from keepfor.daemon.runs import Run, RunOutcome
from tests.cli.conftest import NOW, assert_bad_input, invoke
from tests.cli.test_report_files import setup as file_source
from tests.daemon.shop import AUDIT_KEY, KEEPFOR, SOURCE, build, query, write_pack

STARTED = NOW - timedelta(hours=3)


def _config(folder: Path, url: str) -> Path:
    path = folder / "keepfor.toml"
    path.write_text(
        f'[sources.{SOURCE}]\nurl = "{url}"\ntable = "kf_daemon_orders"\n'
        'schedule = "0 2 * * *"\nschedule_timezone = "Europe/London"\napply = true\n'
        "max_disposal_share = 1.0\n"
        f'[sources.quotes]\nurl = "{url}"\ntable = "kf_daemon_orders"\nevery = "PT6H"\n'
        f'[sources.manual]\nurl = "{url}"\ntable = "kf_daemon_orders"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 6))
    engine = sa.create_engine(url)
    create_quietly(engine, runs.RUNS)
    counts = {"purge": 5, "flag": 0, "total": 5}
    with engine.begin() as conn:
        runs.begin(conn, Run(SOURCE, STARTED - timedelta(days=1), None, RunOutcome.FAILED, True))
        runs.begin(conn, Run(SOURCE, STARTED, STARTED + timedelta(seconds=2), RunOutcome.OK,
                             True, counts, {"shop": "2026.1"}))  # fmt: skip
    engine.dispose()
    return url


def test_json(tmp_path: Path, url: str) -> None:
    done = invoke("status", "--config", _config(tmp_path, url), "--format", "json")
    assert done.exit_code == 0, done.stderr
    out = done.json()
    assert out["at"] == NOW.isoformat()
    orders = out["sources"][SOURCE]
    assert orders["last_run"] == {
        "started": STARTED.isoformat(),
        "finished": (STARTED + timedelta(seconds=2)).isoformat(),
        "outcome": "ok",
        "applied": True,
        "counts": {"purge": 5, "flag": 0, "total": 5},
        "packs": {"shop": "2026.1"},
        "detail": None,
    }
    # the next 02:00 in London after the last run (winter: 02:00 UTC)
    assert orders["next_run"] == datetime(2026, 11, 23, 2, 0, tzinfo=UTC).isoformat()
    assert orders["overdue"] is False
    assert orders["schedule"] == "cron '0 2 * * *' (Europe/London)"
    quotes = out["sources"]["quotes"]  # never run: six hours from now
    assert quotes["last_run"] is None
    assert quotes["next_run"] == (NOW + timedelta(hours=6)).isoformat()
    manual = out["sources"]["manual"]
    assert manual["next_run"] is None
    assert manual["schedule"] == "not scheduled"


def test_overdue_when_no_daemon_ran(tmp_path: Path, url: str) -> None:
    later = datetime(2026, 11, 25, tzinfo=UTC)
    config = _config(tmp_path, url)
    done = invoke("status", "--config", config, "--format", "json", clock=FixedClock(later))
    assert done.json()["sources"][SOURCE]["overdue"] is True


def test_table(tmp_path: Path, url: str) -> None:
    done = invoke("status", "--config", _config(tmp_path, url))
    assert done.exit_code == 0, done.stderr
    for text in (SOURCE, "quotes", "manual", "ok", "purge 5", "2026-11-23 02:00:00 UTC", "never"):
        assert text in done.stdout


def test_a_failed_run_shows_why_and_no_counts(tmp_path: Path, url: str) -> None:
    """A run that failed before it acted counted nothing: "nothing to do" would say it
    found nothing due."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        failed = Run(SOURCE, STARTED + timedelta(hours=1), STARTED + timedelta(hours=1),
                     RunOutcome.FAILED, True, detail="the database refuses the purge")  # fmt: skip
        runs.begin(conn, failed)
    engine.dispose()
    done = invoke("status", "--config", _config(tmp_path, url))
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.split(f"{SOURCE}:", 1)[1].split("quotes:", 1)[0].splitlines()
    assert any(line.strip().endswith("failed") for line in lines), lines
    assert "  detail    the database refuses the purge" in lines
    assert not any("counts" in line for line in lines), lines


def test_a_database_that_does_not_answer(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a SQLite database, " * 200)
    done = invoke("status", "--config", _config(tmp_path, f"sqlite:///{garbage}"),
                  "--format", "json")  # fmt: skip
    assert done.exit_code == 0
    assert "database error" in done.json()["sources"][SOURCE]["error"]


@pytest.mark.parametrize("name", ["gone.db", "no/such/folder.db"])
def test_a_sqlite_file_that_is_not_there_is_exit_2_and_not_made(tmp_path: Path, name: str) -> None:
    """As every other command: one line, and no empty database left behind (whose "no
    such table" would hide the misspelt path from the next command)."""
    gone = tmp_path / name
    done = invoke("status", "--config", _config(tmp_path, f"sqlite:///{gone}"))
    assert_bad_input(done, f"source '{SOURCE}'", f"no such SQLite database file: {gone}")
    assert not gone.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keepfor.toml"]


def test_a_store_that_is_not_there_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "keepfor.toml"
    config.write_text('[sources.shop]\nurl = "sqlite:///store.db"\n', encoding="utf-8")
    done = invoke("status", "--config", config)
    assert_bad_input(done, f"{config}, source 'shop'", "no such SQLite database file")
    assert not (tmp_path / "store.db").exists()


def test_a_file_source_never_swept_has_no_last_run_and_status_makes_no_state_db(
    tmp_path: Path,
) -> None:
    _pack, config = file_source(tmp_path, "csv")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = invoke("status", "--config", config, "--format", "json")
    assert done.exit_code == 0, done.stderr
    export = done.json()["sources"]["export"]
    assert export["last_run"] is None
    assert "error" not in export
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "no keepfor.db made"


def test_a_bad_config_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "keepfor.toml"
    path.write_text('[sources.a]\nurl = "sqlite:///x.db"\nevery = "P1M"\n', encoding="utf-8")
    done = invoke("status", "--config", path)
    assert done.exit_code == 2
    assert "use days" in done.stderr


@pytest.mark.slow
def test_status_agrees_with_the_audit_trail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build(url, range(1, 8), range(8, 10))
    config = _config(tmp_path, url)
    done = subprocess.run(
        [str(KEEPFOR), "daemon", "--once", "--rules", str(write_pack(tmp_path)),
         "--config", str(config)],
        env={**os.environ, "KEEPFOR_AUDIT_KEY": AUDIT_KEY}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = invoke("status", "--config", config, "--format", "json", clock=None).json()
    last = status["sources"][SOURCE]["last_run"]
    audit = query(url, f"SELECT action FROM keepfor_audit WHERE source = '{SOURCE}'")
    assert last["counts"]["purge"] == len(audit) == 7
    assert last["outcome"] == "ok"
