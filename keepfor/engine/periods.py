"""Retention periods: ISO 8601 calendar durations added with calendar arithmetic.

A :class:`Period` is ``PnYnMnWnD``: years, months, weeks and days, none negative.
It is added to a date with python-dateutil's ``relativedelta``:

* years and months are added first, together, and the day is clamped to the end of
  the resulting month: 2024-02-29 + P1Y = 2025-02-28; 2023-08-31 + P6M = 2024-02-29;
  2023-08-31 + P1Y6M = 2025-02-28 (not 2025-03-03);
* weeks and days are added after that: 2024-01-31 + P1M1D = 2024-03-01.

"Six months" is therefore never "183 days". Adding a period is monotone: a later
date never gives an earlier result, which is what lets a database select due
records by comparing the anchor with a cutoff (see :mod:`keepfor.engine.cutoffs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

from keepfor.errors import quoted

__all__ = ["Period"]

_ISO = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


@dataclass(frozen=True, slots=True)
class Period:
    """A non-negative calendar duration in years, months, weeks and days."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        for name in ("years", "months", "weeks", "days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Period.{name} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"Period.{name} must not be negative: {value}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``P6Y``, ``P1Y6M``, ``P2W``, ``P30D``, ``P0D``; raise ValueError otherwise."""
        if not isinstance(text, str):
            raise ValueError(
                f"a period is an ISO 8601 duration string such as 'P6Y', not {quoted(text)}"
            )
        stripped = text.strip()
        if stripped.startswith("-"):
            raise ValueError(f"period {quoted(text)} is negative; retention periods run forwards")
        if "T" in stripped.upper():
            raise ValueError(
                f"period {quoted(text)} has a time part; retention periods are whole days or longer"
            )
        match = _ISO.fullmatch(stripped)
        if match is None or stripped == "P":
            raise ValueError(
                f"period {quoted(text)} is not an ISO 8601 duration such as 'P6Y', 'P12M', "
                "'P1Y6M', 'P2W' or 'P30D'"
            )
        years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
        return cls(years=years, months=months, weeks=weeks, days=days)

    @property
    def delta(self) -> relativedelta:
        """The period as a ``relativedelta`` (weeks folded into days)."""
        return relativedelta(years=self.years, months=self.months, days=self.weeks * 7 + self.days)

    def add_to(self, day: date) -> date:
        """``day`` plus this period, months clamped to the month's last day."""
        result: date = day + self.delta
        return result

    def words(self) -> str:
        """The period in words: ``6 years``, ``1 year 6 months``, ``2 weeks``, ``no time``."""
        parts = [
            f"{value} {unit}{'' if value == 1 else 's'}"
            for value, unit in (
                (self.years, "year"),
                (self.months, "month"),
                (self.weeks, "week"),
                (self.days, "day"),
            )
            if value
        ]
        return " ".join(parts) if parts else "no time"

    def __str__(self) -> str:
        parts = [
            f"{value}{unit}"
            for value, unit in (
                (self.years, "Y"),
                (self.months, "M"),
                (self.weeks, "W"),
                (self.days, "D"),
            )
            if value
        ]
        return "P" + ("".join(parts) if parts else "0D")
