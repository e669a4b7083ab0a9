"""The rule model: a :class:`RetentionRule` is one clause of a privacy policy, a
:class:`RulePack` one business's schedule, a :class:`RuleSet` the packs loaded together.

These are frozen values, built and validated once by :mod:`keepfor.engine.loader`
and then evaluated many times.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.anchors import EndOf, MonthDay
from keepfor.engine.terms import Term

__all__ = ["Action", "Boundary", "RetentionRule", "RulePack", "RuleSet", "Scalar"]

Scalar = str | int | float | bool | None
"""A value a rule can match a record field against."""

UK_FINANCIAL_YEAR_END = MonthDay(3, 31)
"""The default last day of a financial year: 31 March."""


class Boundary(StrEnum):
    """Whether the record is kept through the retain-until day (``after``) or not (``on``)."""

    AFTER = "after"
    ON = "on"


class Action(StrEnum):
    """What is done to a record once it is due, least destructive first."""

    REVIEW = "review"
    FLAG = "flag"
    ANONYMISE = "anonymise"
    PURGE = "purge"

    @property
    def severity(self) -> int:
        """Rank by how much is lost: when rules tie, the gentler action is taken."""
        return list(Action).index(self)


def field_equals(value: Any, expected: Scalar) -> bool:
    """Equality as a rule means it: ``true`` does not match ``1``, nor ``"1"``."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    return bool(value == expected)


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """One retention clause: which records it covers, how long they are kept, what then."""

    id: str
    retain: Term
    applies_to: Mapping[str, Scalar]
    where: Mapping[str, Scalar] = field(default_factory=dict)
    boundary: Boundary = Boundary.AFTER
    action: Action = Action.FLAG
    description: str | None = None
    source: str | None = None
    financial_year_end: MonthDay | None = None
    """This rule's own financial-year end, where it overrides the pack's."""

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Every ``applies_to`` and ``where`` condition holds for the record."""
        for conditions in (self.applies_to, self.where):
            for name, expected in conditions.items():
                if name not in record or not field_equals(record[name], expected):
                    return False
        return True

    def disposal_date(self, retain_until: date) -> date:
        """The first day on which the record may be disposed of."""
        return retain_until + timedelta(days=1) if self.boundary is Boundary.AFTER else retain_until

    def uses_financial_year(self) -> bool:
        """Some anchor of the term is ``end_of: financial_year``."""
        return any(
            isinstance(leaf.anchor, EndOf) and leaf.anchor.financial_year_end is not None
            for leaf in self.retain.retains()
        )

    def to_dict(self) -> dict[str, Any]:
        """The rule as written in a pack (the loader reads this back to an equal rule)."""
        out: dict[str, Any] = {"id": self.id}
        if self.description is not None:
            out["description"] = self.description
        if self.source is not None:
            out["source"] = self.source
        out["applies_to"] = dict(self.applies_to)
        if self.where:
            out["where"] = dict(self.where)
        if self.financial_year_end is not None:
            out["financial_year_end"] = str(self.financial_year_end)
        out["retain"] = self.retain.to_dict()
        out["boundary"] = self.boundary.value
        out["then"] = self.action.value
        return out


@dataclass(frozen=True, slots=True)
class RulePack:
    """One business's retention schedule."""

    id: str
    version: str
    timezone: str
    rules: tuple[RetentionRule, ...]
    financial_year_end: MonthDay = UK_FINANCIAL_YEAR_END
    description: str | None = None
    path: str | None = field(default=None, compare=False)
    """The file the pack was loaded from, for error messages; not part of its value."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pack": self.id, "version": self.version}
        if self.description is not None:
            out["description"] = self.description
        out["timezone"] = self.timezone
        out["financial_year_end"] = str(self.financial_year_end)
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The packs loaded together; a record is matched against every rule of every pack."""

    packs: tuple[RulePack, ...]

    def __iter__(self) -> Iterator[tuple[RulePack, RetentionRule]]:
        for pack in self.packs:
            for rule in pack.rules:
                yield pack, rule

    def __len__(self) -> int:
        return sum(len(pack.rules) for pack in self.packs)

    def fields(self) -> tuple[str, ...]:
        """Every record field any rule reads (to match or to anchor), without repeats."""
        names: dict[str, None] = {}
        for _, rule in self:
            names.update(dict.fromkeys([*rule.applies_to, *rule.where, *rule.retain.fields()]))
        return tuple(names)
