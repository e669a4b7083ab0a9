"""Terms: what a rule's ``retain`` holds, each giving a retain-until date or none.

* :class:`Retain` ``{from: ANCHOR, for: PERIOD}``: R = anchor date + period.
* :class:`LatestOf`: the latest R of its parts; no date if any part has none,
  except parts marked ``optional``, which are left out when they have no date.
  No date either when every part is left out.
* :class:`EarliestOf`: the earliest R of the parts that have a date; no date only
  when no part has one.

Evaluating a term gives a :class:`TermResult`, a small tree that records every
anchor date and period used, so that a decision can explain itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.anchors import Anchor
from keepfor.engine.periods import Period

__all__ = ["EarliestOf", "LatestOf", "Retain", "Term", "TermResult"]


@dataclass(frozen=True, slots=True)
class TermResult:
    """How one term was worked out for one record."""

    term: Term
    retain_until: date | None
    anchor_date: date | None = None
    event_date: date | None = None
    parts: tuple[TermResult, ...] = ()
    left_out: bool = False
    """True when this optional part had no date and was left out of a ``latest_of``."""

    @property
    def waiting_on(self) -> tuple[str, ...]:
        """The fields whose missing events keep this term from having a date."""
        if self.retain_until is not None or self.left_out:
            return ()
        if isinstance(self.term, Retain):
            return (self.term.anchor.field,)
        return tuple(f for part in self.parts for f in part.waiting_on)

    def deciding(self) -> TermResult | None:
        """The ``{from, for}`` part whose date is the term's date (the first, on a tie);
        None when the term has no date."""
        if self.retain_until is None:
            return None
        if isinstance(self.term, Retain):
            return self
        for part in self.parts:
            if part.retain_until == self.retain_until and not part.left_out:
                return part.deciding()
        return None

    def words(self) -> str:
        """Why the date is what it is, in words: ``6 years after the end of the financial
        year (ending 03-31) of placed_at 2019-07-15``."""
        leaf = self.deciding()
        if leaf is None or not isinstance(leaf.term, Retain) or leaf.event_date is None:
            return "no date yet"
        term = leaf.term
        anchor = f"{term.anchor.describe()} {leaf.event_date.isoformat()}"
        if term.period == Period():
            return f"from {anchor}, with no further period"
        return f"{term.period.words()} after {anchor}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"term": self.term.kind}
        if isinstance(self.term, Retain):
            out["from"] = self.term.anchor.describe()
            out["for"] = str(self.term.period)
            out["anchor_date"] = _iso(self.anchor_date)
        out["retain_until"] = _iso(self.retain_until)
        if self.left_out:
            out["left_out"] = True
        if self.parts:
            out["parts"] = [part.to_dict() for part in self.parts]
        return out


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class Term(ABC):
    """A retention term: gives the last day a record must be kept, or none yet."""

    optional: bool

    @property
    @abstractmethod
    def kind(self) -> str:
        """The key that introduces this term in a pack (``from``, ``latest_of`` ...)."""

    @abstractmethod
    def evaluate(self, record: Mapping[str, Any], zone: ZoneInfo) -> TermResult:
        """Work this term out for one record, dates taken in ``zone``."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The term as written in a pack."""

    @abstractmethod
    def retains(self) -> Iterator[Retain]:
        """Every ``{from, for}`` leaf of this term, depth first."""

    def fields(self) -> tuple[str, ...]:
        """The record fields this term reads, in order, without repeats."""
        return tuple(dict.fromkeys(leaf.anchor.field for leaf in self.retains()))

    def _with_optional(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.optional:
            body["optional"] = True
        return body


@dataclass(frozen=True, slots=True)
class Retain(Term):
    """``{from: ANCHOR, for: PERIOD}``: keep until the anchor date plus the period."""

    anchor: Anchor
    period: Period
    optional: bool = False

    @property
    def kind(self) -> str:
        return "from"

    def evaluate(self, record: Mapping[str, Any], zone: ZoneInfo) -> TermResult:
        event = self.anchor.event_date(record, zone)
        if event is None:
            return TermResult(self, None)
        anchor = self.anchor.anchor_date(event)
        try:
            until = self.period.add_to(anchor)
        except (OverflowError, ValueError):  # past 9999-12-31: kept to the calendar's end
            until = date.max
        return TermResult(self, until, anchor_date=anchor, event_date=event)

    def to_dict(self) -> dict[str, Any]:
        return self._with_optional({"from": self.anchor.to_dict(), "for": str(self.period)})

    def retains(self) -> Iterator[Retain]:
        yield self


@dataclass(frozen=True, slots=True)
class LatestOf(Term):
    """The latest retain-until of the parts ("X, and also Y")."""

    parts: tuple[Term, ...]
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("latest_of needs at least one term")

    @property
    def kind(self) -> str:
        return "latest_of"

    def evaluate(self, record: Mapping[str, Any], zone: ZoneInfo) -> TermResult:
        results: list[TermResult] = []
        dates: list[date] = []
        waiting = False
        for part in self.parts:
            result = part.evaluate(record, zone)
            if result.retain_until is None:
                if part.optional:
                    result = TermResult(result.term, None, parts=result.parts, left_out=True)
                else:
                    waiting = True
            else:
                dates.append(result.retain_until)
            results.append(result)
        until = None if waiting or not dates else max(dates)
        return TermResult(self, until, parts=tuple(results))

    def to_dict(self) -> dict[str, Any]:
        return self._with_optional({"latest_of": [part.to_dict() for part in self.parts]})

    def retains(self) -> Iterator[Retain]:
        for part in self.parts:
            yield from part.retains()


@dataclass(frozen=True, slots=True)
class EarliestOf(Term):
    """The earliest retain-until of the parts that have one ("X, or Y if sooner")."""

    parts: tuple[Term, ...]
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("earliest_of needs at least one term")

    @property
    def kind(self) -> str:
        return "earliest_of"

    def evaluate(self, record: Mapping[str, Any], zone: ZoneInfo) -> TermResult:
        results = tuple(part.evaluate(record, zone) for part in self.parts)
        dates = [r.retain_until for r in results if r.retain_until is not None]
        return TermResult(self, min(dates) if dates else None, parts=results)

    def to_dict(self) -> dict[str, Any]:
        return self._with_optional({"earliest_of": [part.to_dict() for part in self.parts]})

    def retains(self) -> Iterator[Retain]:
        for part in self.parts:
            yield from part.retains()
