"""Clocks: the one place keepfor reads the time, injected into whatever needs "now".

The engine never calls a clock; the CLI, the daemon and library callers ask one
for the instant and pass it to :func:`keepfor.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from keepfor.abc import Clock

__all__ = ["Clock", "FixedClock", "SystemClock"]


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant: for reports "as at" a date, and for tests."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.instant
