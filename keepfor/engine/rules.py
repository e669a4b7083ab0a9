"""The rule model: a :class:`RetentionRule` is one clause of a privacy policy, a
:class:`RulePack` one business's schedule, a :class:`RuleSet` the packs loaded together.

These are frozen values, built and validated once by :mod:`keepfor.engine.loader`
and then evaluated many times.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.anchors import EndOf, MonthDay
from keepfor.engine.index import Entry, RuleIndex
from keepfor.engine.terms import Term

__all__ = [
    "Action",
    "Basis",
    "Boundary",
    "RetentionRule",
    "RulePack",
    "RuleSet",
    "Scalar",
    "ValueKind",
    "field_equals",
    "not_boolean",
]

Scalar = str | int | float | bool | None
"""A value a rule can match a record field against."""

UK_FINANCIAL_YEAR_END = MonthDay(3, 31)
"""The default last day of a financial year: 31 March."""


class Boundary(StrEnum):
    """Whether the record is kept through the retain-until day (``after``) or not (``on``)."""

    AFTER = "after"
    ON = "on"


class Action(StrEnum):
    """What is done to a record once it is due, gentlest first.

    ``flag`` only marks the record; ``review`` asks a person before anything is
    disposed of; ``anonymise`` rewrites fields; ``archive`` takes the record out of use
    where its source can restore it (a CRM's archive: HubSpot's, for 90 days), so it is
    never a purge; ``purge`` deletes for good.
    """

    FLAG = "flag"
    REVIEW = "review"
    ANONYMISE = "anonymise"
    ARCHIVE = "archive"
    PURGE = "purge"

    @property
    def severity(self) -> int:
        """Rank by how much is lost: when rules tie on a date, the gentler action is taken."""
        return list(Action).index(self)


class Basis(StrEnum):
    """The lawful basis (UK GDPR Article 6(1)) on which a rule's records are kept.

    An erasure request disposes of a customer's records at once, except those whose
    winning rule keeps them under a legal obligation and is not yet due.
    """

    LEGAL_OBLIGATION = "legal_obligation"
    CONTRACT = "contract"
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"


class ValueKind(StrEnum):
    """What the rules need a field's value to be."""

    DATE = "date"  # an anchor: a date, a datetime or a date text
    BOOLEAN = "boolean"  # compared with true or false
    VALUE = "value"  # compared for equality with text or numbers


def not_boolean(value: Any) -> bool:
    """A value where a condition needs true or false: anything but a bool or None."""
    return value is not None and not isinstance(value, bool)


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
    basis: Basis = Basis.LEGITIMATE_INTEREST
    """Why the records are kept; ``legal_obligation`` survives an erasure request."""
    description: str | None = None
    source: str | None = None
    financial_year_end: MonthDay | None = None
    """This rule's own financial-year end, where it overrides the pack's."""

    def conditions(self) -> Iterator[tuple[str, Scalar]]:
        """Every ``applies_to`` and then ``where`` condition, as (field, value)."""
        yield from self.applies_to.items()
        yield from self.where.items()

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Every ``applies_to`` and ``where`` condition holds for the record."""
        for name, expected in self.conditions():
            if name not in record or not field_equals(record[name], expected):
                return False
        return True

    def unreadable_field(self, record: Mapping[str, Any]) -> str | None:
        """The field that keeps this rule from being matched at all, or None.

        A condition ``vip: true`` needs a boolean: a record whose ``vip`` holds ``"yes"``
        or ``2`` can be said neither to match nor not to match, unless another condition
        plainly fails (a quote rule's ``accepted: false`` does not care about an order's
        ``accepted``). The first such field is returned.
        """
        found = None
        for name, expected in self.conditions():
            value = record.get(name)
            if isinstance(expected, bool) and not_boolean(value):
                found = found or name
            elif name not in record or not field_equals(value, expected):
                return None
        return found

    def disposal_date(self, retain_until: date) -> date:
        """The first day on which the record may be disposed of (never past 9999-12-31:
        a record kept to the calendar's end is disposed of on its last day at the earliest).
        """
        if self.boundary is Boundary.ON or retain_until == date.max:
            return retain_until
        return retain_until + timedelta(days=1)

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
        out["basis"] = self.basis.value
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
    _index: RuleIndex | None = field(default=None, init=False, repr=False, compare=False)

    def candidates(self, record: Mapping[str, Any]) -> Sequence[Entry]:
        """The rules, with their place in load order, that may match ``record`` or find
        one of its values unreadable; every rule left out plainly fails to match it
        (:mod:`keepfor.engine.index`, built on first use)."""
        index = self._index
        if index is None:
            index = RuleIndex(self)
            object.__setattr__(self, "_index", index)
        return index.candidates(record)

    def __iter__(self) -> Iterator[tuple[RulePack, RetentionRule]]:
        for pack in self.packs:
            for rule in pack.rules:
                yield pack, rule

    def __len__(self) -> int:
        return sum(len(pack.rules) for pack in self.packs)

    def display_id(self, pack: RulePack | str, rule: RetentionRule | str) -> str:
        """The rule's id, or ``pack/rule`` where another loaded pack has a rule of that id."""
        pack_id = pack if isinstance(pack, str) else pack.id
        rule_id = rule if isinstance(rule, str) else rule.id
        shared = sum(1 for other in self.packs if any(r.id == rule_id for r in other.rules))
        return f"{pack_id}/{rule_id}" if shared > 1 else rule_id

    def needs(self) -> dict[str, ValueKind]:
        """What the rules need of each field they read: a date (an anchor), a boolean
        (compared only with true or false), or a value (compared with anything else)."""
        needs: dict[str, ValueKind] = {}
        for _, rule in self:
            for name, value in rule.conditions():
                kind = ValueKind.BOOLEAN if isinstance(value, bool) else ValueKind.VALUE
                if needs.get(name, kind) is not kind:
                    kind = ValueKind.VALUE  # compared with true and with "x": no boolean field
                needs[name] = kind
        for _, rule in self:
            needs.update(dict.fromkeys(rule.retain.fields(), ValueKind.DATE))
        return needs

    @staticmethod
    def fields_of(rule: RetentionRule) -> tuple[str, ...]:
        """The fields one rule reads (to match or to anchor), without repeats."""
        return tuple(dict.fromkeys([*rule.applies_to, *rule.where, *rule.retain.fields()]))

    def fields(self) -> tuple[str, ...]:
        """Every record field any rule reads (to match or to anchor), without repeats."""
        names: dict[str, None] = {}
        for _, rule in self:
            names.update(dict.fromkeys([*rule.applies_to, *rule.where, *rule.retain.fields()]))
        return tuple(names)
