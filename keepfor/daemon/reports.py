"""The reports of the daemon's dry runs: one JSON file per run, in a folder per source,
the newest ``keep_reports`` kept. What ``--apply`` would have done, counted by action,
so that a person can read a few nights of them before switching a source to apply."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keepfor.daemon.runs import Run

__all__ = ["write_report"]


def write_report(folder: Path, run: Run, keep: int) -> Path:
    """Write ``run``'s report under ``folder/SOURCE/`` (whole, or not at all) and remove
    the oldest beyond ``keep``; the file written."""
    where = folder / run.source
    where.mkdir(parents=True, exist_ok=True)
    stamp = run.started.strftime("%Y%m%dT%H%M%S%fZ")
    path = where / f"{stamp}.json"
    partial = where / f".{stamp}.json.part"
    partial.write_text(json.dumps(_content(run), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    for old in sorted(where.glob("*.json"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _content(run: Run) -> Mapping[str, Any]:
    """As ``keepfor sweep --format json`` prints a dry run, with the run's own facts."""
    return {
        "applied": False,
        "at": run.started.isoformat(),
        "sources": {run.source: dict(run.counts)},
        "run": run.to_dict(),
    }
