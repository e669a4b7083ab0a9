"""The daemon's log: one event a line, plain (``time level event key=value ...``) or
JSON (one object a line), for journald, a log shipper, or a person reading along.

Events: ``daemon_started``, ``scheduled`` (a source's first run, and whether it is a
catch-up), ``run_started``, ``run_finished`` (outcome and counts), ``run_skipped``
(why), ``run_failed`` (the error, and when it is retried), ``pack_reloaded``,
``pack_refused``, ``report_written``, ``stopping``, ``daemon_stopped``, and
``scheduler`` (APScheduler's own warnings, such as a missed time).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

from keepfor.abc import Clock

__all__ = ["FORMATS", "Events", "SchedulerLog"]

FORMATS = ("plain", "json")


class Events:
    """Writes events to a stream, a whole line at a time, from any thread."""

    def __init__(self, fmt: str, stream: TextIO, clock: Clock) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self.stream = stream
        self.clock = clock
        self._lock = threading.Lock()

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        """One event: its name, its level (info, warning, error) and its fields."""
        time = self.clock.now().isoformat(timespec="milliseconds")
        values = {k: _plain(v) for k, v in fields.items() if v is not None}
        if self.fmt == "json":
            line = json.dumps({"time": time, "level": level, "event": event, **values})
        else:
            parts = [time, level, event, *(f"{k}={_text(v)}" for k, v in values.items())]
            line = " ".join(parts)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _plain(value: Any) -> Any:
    """A value JSON can write."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _text(value: Any) -> str:
    """A value in a plain line: a word as it is, anything else as compact JSON."""
    if isinstance(value, str) and value and not any(c.isspace() or c in '"=' for c in value):
        return value
    return json.dumps(value, separators=(",", ":"))


class SchedulerLog(logging.Handler):
    """APScheduler's warnings and errors (a missed run time, a job still running) as
    events of the daemon's log."""

    def __init__(self, events: Events) -> None:
        super().__init__(logging.WARNING)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.emit("scheduler", record.levelname.lower(), message=record.getMessage())
