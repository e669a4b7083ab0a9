"""The command group's start-up: a command's module imported once, without the cyclic
garbage collector, and what it made frozen (``keepfor.cli.app.long_lived``)."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from keepfor.cli.app import date_or_instant, long_lived
from keepfor.errors import UsageError

MODULE = "keepfor_probe_of_long_lived"


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Path]:
    """A module not yet imported, which records whether the collector ran its import."""
    path = tmp_path / f"{MODULE}.py"
    path.write_text(
        "import gc\nCOLLECTING = gc.isenabled()\nMADE = [[i] for i in range(1000)]\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    yield path
    sys.path.remove(str(tmp_path))
    sys.modules.pop(MODULE, None)
    gc.unfreeze()  # this test process's objects back to the collector


def test_a_first_import_runs_without_the_collector_and_is_frozen(probe: Path) -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with long_lived(MODULE):
        loaded = importlib.import_module(MODULE)
    assert loaded.COLLECTING is False
    assert gc.isenabled()  # on again after
    assert gc.get_freeze_count() >= frozen + len(loaded.MADE)


def test_a_module_already_imported_changes_nothing(probe: Path) -> None:
    importlib.import_module(MODULE)
    frozen = gc.get_freeze_count()
    with long_lived(MODULE):
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_collector_switched_off_stays_off(probe: Path) -> None:
    gc.disable()
    try:
        with long_lived(MODULE):
            importlib.import_module(MODULE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_import_that_fails_still_turns_the_collector_back_on(tmp_path: Path) -> None:
    (tmp_path / "keepfor_probe_broken.py").write_text("raise ImportError('no')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError), long_lived("keepfor_probe_broken"):
            importlib.import_module("keepfor_probe_broken")
        assert gc.isenabled()
    finally:
        sys.path.remove(str(tmp_path))
        gc.unfreeze()


def test_a_command_s_first_import_is_frozen_and_the_collector_on_after() -> None:
    """In a process of its own, as the console script runs: resolving ``report`` imports
    its module (SQLAlchemy with it) and freezes it; the collector is on while the command
    runs (a long report or the daemon collects its garbage as ever)."""
    code = (
        "import gc, click\n"
        "from keepfor.cli.app import cli\n"
        "before = gc.get_freeze_count()\n"
        "cli.get_command(click.Context(cli), 'report')\n"
        "print(gc.isenabled(), before, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    enabled, before, after = done.stdout.split()
    assert enabled == "True"
    assert int(after) - int(before) > 10_000  # the objects of SQLAlchemy and keepfor's modules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2028-02-29", date(2028, 2, 29)),
        (" 2026-12-31 ", date(2026, 12, 31)),
        ("2026-11-22T09:00:00Z", datetime(2026, 11, 22, 9, tzinfo=UTC)),
        (
            "2026-03-29T01:30+01:00",
            datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_an_options_date_or_instant(text: str, expected: date) -> None:
    assert date_or_instant(text, "--at") == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-02-29", "'2026-02-29' is not a calendar date (YYYY-MM-DD)"),
        ("2100-02-29", "'2100-02-29' is not a calendar date (YYYY-MM-DD)"),
        ("2026-04-31", "'2026-04-31' is not a calendar date (YYYY-MM-DD)"),
        ("2026-13-01", "'2026-13-01' is not a calendar date (YYYY-MM-DD)"),
        ("2026-00-10", "'2026-00-10' is not a calendar date (YYYY-MM-DD)"),
        ("2026-02-30T10:00Z", "'2026-02-30T10:00Z' is not a calendar date (YYYY-MM-DD)"),
        ("2026-11-22T25:00Z", "'2026-11-22T25:00Z' is not an ISO 8601 date or datetime (e.g."),
        ("22/11/2026", "'22/11/2026' is not an ISO 8601 date or datetime (e.g."),
        ("2026-1-2", "'2026-1-2' is not an ISO 8601 date or datetime (e.g."),
        ("", "'' is not an ISO 8601 date or datetime (e.g."),
        ("2026-11-22T09:00", "'2026-11-22T09:00' has no UTC offset; add one"),
    ],
)
def test_an_options_bad_date_says_why(text: str, why: str) -> None:
    """A day the calendar does not have is said to be one; other text is not ISO 8601."""
    with pytest.raises(UsageError) as raised:
        date_or_instant(text, "--from")
    assert str(raised.value).startswith(f"--from {why}")
