"""A predicate as HubSpot search ``filterGroups``: a superset of the objects it holds
for, within HubSpot's limits (5 groups, 10 filters a group, 25 in all; one filter of
each group kept for the id the client restarts past).

Filter groups are an OR of ANDs. A predicate is translated into such a form where it
maps exactly or by a superset, and otherwise left out: an ``All`` keeps the parts that
fit, an ``Any_`` is dropped whole if one part cannot be said. What is pushed:

* ``Equals`` of a text on a property: ``EQ`` (HubSpot ignores case: a superset);
* ``OnOrBefore`` on a ``date`` or ``datetime`` property: ``LTE`` the last millisecond
  of the cutoff day (in UTC for a date-only property, which holds midnight UTC; in the
  rule's zone for a date-time);
* ``Present``: ``HAS_PROPERTY``; ``Not(Present)`` of a text: ``NOT_HAS_PROPERTY``;
* ``Switch`` on a property: each case's ``EQ`` and its part;
* a constant field (``category = "contact"``): decided here, once.

Everything else (``Not`` of a date, ``BadValue``, holds, marks) is not pushed: the
source re-tests every object with the engine's ``holds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.cutoffs import Predicate
from keepfor.engine.predicates import (
    All,
    Any_,
    Equals,
    Never,
    Not,
    OnOrBefore,
    Present,
    Switch,
)
from keepfor.engine.rules import ValueKind, field_equals

__all__ = ["DATE_TYPES", "Filter", "Plan", "Properties", "day_end_ms", "plan_filters"]

DATE_TYPES = frozenset({"date", "datetime"})
MAX_GROUPS = 5
MAX_PER_GROUP = 10 - 1  # one kept for the restart past the last id
MAX_FILTERS = 25

Filter = tuple[str, str, str | None]
"""(property, operator, value)."""
Group = tuple[Filter, ...]
Plan = tuple[Group, ...]
"""Groups, any of which admits an object: ``((),)`` admits all, ``()`` none."""

EVERY: Plan = ((),)
NONE: Plan = ()


@dataclass(frozen=True)
class Properties:
    """What the planner knows of a source: rule field -> property name, constants,
    each property's HubSpot type, and each rule field's kind."""

    names: Mapping[str, str]
    constants: Mapping[str, Any]
    types: Mapping[str, str]
    kinds: Mapping[str, ValueKind]

    def property(self, name: str) -> str | None:
        """The property a rule field is read from, if the object type has it."""
        prop = self.names.get(name, name)
        return prop if prop in self.types else None


def day_end_ms(cutoff: date, zone: str, date_only: bool) -> int | None:
    """The last epoch millisecond whose day (in UTC for a date-only property, in
    ``zone`` for a date-time) is on or before ``cutoff``; None past the calendar."""
    if cutoff >= date.max:
        return None
    after = cutoff + timedelta(days=1)
    tz = UTC if date_only else ZoneInfo(zone)
    start = datetime(after.year, after.month, after.day, tzinfo=tz)
    return int(start.timestamp() * 1000) - 1


def plan_filters(predicate: Predicate | None, props: Properties) -> Plan:
    """Groups admitting every object the predicate may hold for."""
    if predicate is None:
        return EVERY
    return _plan(predicate, props)


def _plan(predicate: Predicate, props: Properties) -> Plan:
    match predicate:
        case Never():
            return NONE
        case Equals(name, value):
            return _equals(name, value, props)
        case Present(name):
            return _present(name, props, negated=False)
        case Not(Present(name)):
            return _present(name, props, negated=True)
        case OnOrBefore(name, cutoff, zone):
            return _on_or_before(name, cutoff, zone, props)
        case Not(Never()):
            return EVERY
        case All(parts):
            return _all([_plan(p, props) for p in parts])
        case Any_(parts):
            return _any([_plan(p, props) for p in parts])
        case Switch(name, cases, otherwise):
            return _switch(name, cases, otherwise, props)
    return EVERY


def _equals(name: str, value: Any, props: Properties) -> Plan:
    if name in props.constants:
        return EVERY if field_equals(props.constants[name], value) else NONE
    prop = props.property(name)
    if prop is None or not isinstance(value, str) or props.kinds.get(name) in _READ_KINDS:
        return EVERY
    return (((prop, "EQ", value),),)


_READ_KINDS = (ValueKind.DATE, ValueKind.BOOLEAN)
"""Kinds whose values the reader turns into other values (an empty date text is none)."""


def _present(name: str, props: Properties, *, negated: bool) -> Plan:
    if name in props.constants:
        there = props.constants[name] not in (None, "")
        return EVERY if there != negated else NONE
    prop = props.property(name)
    if prop is None:
        return EVERY
    if negated:
        if props.kinds.get(name) in _READ_KINDS:
            return EVERY  # " " in a date is read as no date: not said by the server
        return (((prop, "NOT_HAS_PROPERTY", None),),)
    return (((prop, "HAS_PROPERTY", None),),)


def _on_or_before(name: str, cutoff: date, zone: str, props: Properties) -> Plan:
    prop = props.property(name)
    if name in props.constants or prop is None or props.types[prop] not in DATE_TYPES:
        return EVERY
    bound = day_end_ms(cutoff, zone, props.types[prop] == "date")
    return EVERY if bound is None else (((prop, "LTE", str(bound)),),)


def _switch(
    name: str, cases: tuple[tuple[str, Predicate], ...], otherwise: Predicate, props: Properties
) -> Plan:
    if name in props.constants:
        value = props.constants[name]
        for text, part in cases:
            if field_equals(value, text):
                return _plan(part, props)
        return _plan(otherwise, props)
    branches = [_all([_equals(name, text, props), _plan(part, props)]) for text, part in cases]
    return _any([*branches, _plan(otherwise, props)])


def _fits(plan: Plan) -> bool:
    total = sum(len(g) for g in plan)
    return (
        len(plan) <= MAX_GROUPS
        and all(len(g) <= MAX_PER_GROUP for g in plan)
        and total + len(plan) <= MAX_FILTERS
    )


def _all(plans: list[Plan]) -> Plan:
    """Every plan: the groups' products, leaving out a part that would not fit."""
    result = EVERY
    for plan in plans:
        if not plan:
            return NONE
        product = _unique(tuple(_merge(a, b) for a in result for b in plan))
        if _fits(product):
            result = product
    return result


def _any(plans: list[Plan]) -> Plan:
    """Some plan: the groups together (every object where they do not fit)."""
    groups = _unique(tuple(g for plan in plans for g in plan))
    if any(not g for g in groups):
        return EVERY
    return groups if _fits(groups) else EVERY


def _merge(a: Group, b: Group) -> Group:
    return tuple(dict.fromkeys((*a, *b)))


def _unique(plan: Plan) -> Plan:
    return tuple(dict.fromkeys(plan))


def as_groups(plan: Plan) -> list[list[dict[str, Any]]]:
    """The plan as the search body's filter groups (``[]``: no filter)."""
    if plan == EVERY:
        return []
    return [[_filter(f) for f in group] for group in plan]


def _filter(one: Filter) -> dict[str, Any]:
    prop, operator, value = one
    out: dict[str, Any] = {"propertyName": prop, "operator": operator}
    if value is not None:
        out["value"] = value
    return out
