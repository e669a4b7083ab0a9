"""What a report is made of: bucket counts, due, unreadable and held rows, the aggregates.
Every format implements :class:`keepfor.abc.ReportWriter`."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import NamedTuple

from keepfor.engine import Decision, Instant, RuleSet
from keepfor.engine.decision import Unreadable

__all__ = [
    "BUCKETS",
    "FORECAST_DAYS",
    "Counts",
    "DueRow",
    "HeldRow",
    "Report",
    "RowLabel",
    "UnreadableRow",
]

FORECAST_DAYS = (30, 90, 365)
CHART_MONTHS = 24
BUCKETS = ("due", "retained", "waiting", "held", "unmatched", "unreadable")
"""Every record of a source is in exactly one of these."""


@dataclass
class Counts:
    """How many records of a source (or of all) are in each bucket; they add up."""

    total: int = 0
    due: int = 0
    retained: int = 0
    waiting: int = 0
    held: int = 0
    unmatched: int = 0
    unreadable: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def bucket_sum(self) -> int:
        return sum(getattr(self, name) for name in BUCKETS)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RowLabel:
    """What a report prints of a due decision; shared by every record with that decision."""

    pack: str
    rule: str
    """The winning rule's id; ``pack/rule`` where two loaded packs share the id."""
    disposal_date: str
    action: str
    anchor_date: str
    description: str
    why: str
    """The date in words: ``6 years after the end of the financial year ... 2019-07-15``."""
    today: date | None

    @classmethod
    def of(cls, decision: Decision, rules: RuleSet) -> RowLabel:
        winner = decision.winner
        assert winner is not None
        assert decision.disposal_date is not None
        leaf = winner.term.deciding()
        anchor = leaf.anchor_date if leaf is not None else None
        return cls(
            pack=winner.pack.id,
            rule=rules.display_id(winner.pack, winner.rule),
            disposal_date=decision.disposal_date.isoformat(),
            action=(decision.action or winner.rule.action).value,
            anchor_date="" if anchor is None else anchor.isoformat(),
            description=winner.rule.description or "",
            why=winner.term.words(),
            today=decision.today,
        )


class DueRow(NamedTuple):
    """One record that may be disposed of now, with the decision that says so.

    A named tuple, not a dataclass: one is made per due record, and tuples are cheap."""

    source: str
    key: str
    decision: Decision
    label: RowLabel


class UnreadableRow(NamedTuple):
    """One record holding a value the rules cannot read: shown, never acted on."""

    source: str
    key: str
    problem: Unreadable
    rule: str
    """The rule that cannot read it: its id, or ``pack/rule`` where two packs share the id."""


class HeldRow(NamedTuple):
    """One readable record an active hold covers: listed with why, never acted on."""

    source: str
    key: str
    """The key as text (:meth:`keepfor.abc.RecordKey.text`: what ``--id`` takes)."""
    reasons: tuple[str, ...]
    """Each hold that holds it, in one line (:meth:`keepfor.holds.Hold.describe`)."""


@dataclass
class Report:
    """The aggregates of a report; due and unreadable rows go to the writer as they stream."""

    at: Instant
    rules: RuleSet
    sources: list[str]
    counts: dict[str, Counts] = field(default_factory=dict)
    """Records per bucket, per source (counted by the source's database)."""
    due: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Due records by (pack, rule, action)."""
    forecast: dict[int, int] = field(default_factory=dict)
    """Records falling due within each number of days (not yet due now)."""
    by_month: list[tuple[str, int]] = field(default_factory=list)
    """Records falling due in each of the next months, ``YYYY-MM`` -> count."""
    waiting: Counter[str] = field(default_factory=Counter)
    """Records waiting on an event, by rule (a record waiting on two rules counts in both)."""
    waiting_total: int = 0
    """Records waiting on an event."""
    unmatched: Counter[str] = field(default_factory=Counter)
    """Records no rule applies to, by category."""
    unreadable: dict[str, list[UnreadableRow]] = field(default_factory=dict)
    """The first few unreadable records of each source (for a warning); all are streamed."""
    unreadable_seen: Counter[str] = field(default_factory=Counter)
    """Unreadable records streamed, per source."""
    held_seen: Counter[str] = field(default_factory=Counter)
    """Held records listed, per source (for a writer that lists them)."""

    @property
    def due_total(self) -> int:
        return sum(self.due.values())

    @property
    def overall(self) -> Counts:
        total = Counts()
        for counts in self.counts.values():
            total.add(counts)
        return total
