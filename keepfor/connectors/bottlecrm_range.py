"""Which ``created_at`` dates a predicate can hold for, as BottleCRM's list filters
``created_at__gte`` / ``created_at__lte`` can say it.

The answer is a superset: a bound is widened by two days, so that it holds whatever
zone the server turns ``created_at`` into a date in (its org's), and whatever zone the
rule reads the date in. The source re-tests every record with the engine's ``holds``,
so a wider range costs a few more records read, never a wrong decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from keepfor.engine.cutoffs import Predicate
from keepfor.engine.predicates import All, Any_, Never, Not, OnOrBefore, Switch

__all__ = ["DateRange", "created_range"]

_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class DateRange:
    """Dates from ``low`` to ``high`` (each None: unbounded); ``empty``: no date."""

    low: date | None = None
    high: date | None = None
    empty: bool = False

    def filters(self) -> dict[str, str]:
        """The list endpoint's query parameters for this range, widened."""
        out: dict[str, str] = {}
        if self.low is not None and self.low > date.min + _MARGIN:
            out["created_at__gte"] = (self.low - _MARGIN).isoformat()
        if self.high is not None and self.high < date.max - _MARGIN:
            out["created_at__lte"] = (self.high + _MARGIN).isoformat()
        return out


_ANY = DateRange()
_NONE = DateRange(empty=True)


def created_range(predicate: Predicate | None, field: str) -> DateRange:
    """The dates of ``field`` (the rule field read from ``created_at``) of every record
    the predicate may hold for."""
    match predicate:
        case None:
            return _ANY
        case Never():
            return _NONE
        case OnOrBefore(name, cutoff, _) if name == field:
            return DateRange(high=cutoff)
        case Not(OnOrBefore(name, cutoff, _)) if name == field:
            return DateRange(low=cutoff + timedelta(days=1)) if cutoff < date.max else _NONE
        case All(parts):
            return _meet([created_range(p, field) for p in parts])
        case Any_(parts):
            return _join([created_range(p, field) for p in parts])
        case Switch(_, cases, otherwise):
            inner = [part for _, part in cases] + [otherwise]
            return _join([created_range(p, field) for p in inner])
    return _ANY


def _meet(ranges: list[DateRange]) -> DateRange:
    """What every range admits."""
    if any(r.empty for r in ranges):
        return _NONE
    lows = [r.low for r in ranges if r.low is not None]
    highs = [r.high for r in ranges if r.high is not None]
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        return _NONE
    return DateRange(low, high)


def _join(ranges: list[DateRange]) -> DateRange:
    """What some range admits (as one range: the dates between)."""
    kept = [r for r in ranges if not r.empty]
    if not kept:
        return _NONE
    low = None if any(r.low is None for r in kept) else min(r.low for r in kept if r.low)
    high = None if any(r.high is None for r in kept) else max(r.high for r in kept if r.high)
    return DateRange(low, high)
