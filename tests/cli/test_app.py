"""The command group's start-up: a command's module imported once, without the cyclic
garbage collector, and what it made frozen (``keepfor.cli.app.long_lived``)."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepfor.cli.app import long_lived

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
