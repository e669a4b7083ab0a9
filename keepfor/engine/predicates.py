"""The predicate tree: conditions on a record's own fields (and :class:`Held`), built by
:mod:`keepfor.engine.cutoffs` from a rule set, evaluated here in Python (:func:`holds`)
and compiled to SQL by :mod:`keepfor.connectors.pushdown`. Both must mean the same:
the differential tests prove it on every database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.anchors import is_missing, local_date
from keepfor.engine.rules import Scalar, ValueKind, field_equals, not_boolean
from keepfor.errors import RecordError

__all__ = [
    "Acted",
    "All",
    "Any_",
    "BadValue",
    "Equals",
    "Held",
    "Never",
    "Not",
    "OnOrBefore",
    "Predicate",
    "Present",
    "Switch",
    "fields_of",
    "holds",
]


# -- the predicate tree ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Present:
    """The field has a value (SQL: ``IS NOT NULL``)."""

    field: str


@dataclass(frozen=True, slots=True)
class OnOrBefore:
    """The field's date in ``zone`` is on or before ``cutoff``."""

    field: str
    cutoff: date
    zone: str


@dataclass(frozen=True, slots=True)
class Equals:
    """The field equals a value (a rule's ``applies_to`` / ``where``)."""

    field: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class BadValue:
    """The field holds a value, and it is not of the kind the rules need."""

    field: str
    kind: ValueKind


@dataclass(frozen=True, slots=True)
class Not:
    part: Predicate


@dataclass(frozen=True, slots=True)
class All:
    """Every part holds; ``All(())`` is true."""

    parts: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    """Some part holds; ``Any_(())`` is false."""

    parts: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Switch:
    """By one field's text: the part of the case whose text the field equals, else
    ``otherwise``. Many rules that test one field (a category) with different values
    cost one test per distinct value, and only up to the record's own, instead of one
    per rule; the cases' texts differ, so at most one equals the field."""

    field: str
    cases: tuple[tuple[str, Predicate], ...]
    otherwise: Predicate


@dataclass(frozen=True, slots=True)
class Never:
    """Holds for no record (a cutoff before any representable date)."""


@dataclass(frozen=True, slots=True)
class Held:
    """An active hold covers the record on ``today``: one not released, whose ``until``
    is not before ``today``, on the record's key or on its customer.

    The engine never reads holds: a SQL source compiles this against its database's
    ``keepfor_holds`` (:mod:`keepfor.holds.sql`; no table, nothing held), and in Python
    the caller says whether the record is held (:func:`holds`'s ``held``)."""

    today: date


@dataclass(frozen=True, slots=True)
class Acted:
    """keepfor already took ``action`` on the record, which stays (it was flagged,
    anonymised or queued for review): a sweep does not take it again.

    Like :class:`Held`, not about a field: a SQL source compiles it against its
    database's ``keepfor_acted`` (no table, nothing acted on); in Python the caller says
    (:func:`holds`'s ``acted``)."""

    action: str


Predicate = (
    Present | OnOrBefore | Equals | BadValue | Not | All | Any_ | Switch | Never | Held | Acted
)


def holds(
    predicate: Predicate,
    record: Mapping[str, Any],
    *,
    held: bool = False,
    acted: frozenset[str] = frozenset(),
) -> bool:
    """Evaluate a predicate on one record, as a database would. Total: a value of the
    wrong kind is present, is no date on or before any cutoff, and equals nothing.
    ``held``: whether a hold covers the record (what :class:`Held` means here);
    ``acted``: the actions keepfor already took on it (:class:`Acted`)."""
    match predicate:
        case Present(field):
            return not is_missing(record.get(field))
        case OnOrBefore(field, cutoff, zone):
            day = _date_or_none(record.get(field), ZoneInfo(zone), field)
            return day is not None and day <= cutoff
        case Equals(field, value):
            return field in record and field_equals(record[field], value)
        case BadValue(field, ValueKind.BOOLEAN):
            return not_boolean(record.get(field))
        case BadValue(field, ValueKind.DATE):
            value = record.get(field)
            return not is_missing(value) and _date_or_none(value, _UTC, field) is None
        case Not(part):
            return not holds(part, record, held=held, acted=acted)
        case All(parts):
            return all(holds(p, record, held=held, acted=acted) for p in parts)
        case Any_(parts):
            return any(holds(p, record, held=held, acted=acted) for p in parts)
        case Switch(field, cases, otherwise):
            value = record.get(field)
            for text, part in cases:
                if field in record and field_equals(value, text):
                    return holds(part, record, held=held, acted=acted)
            return holds(otherwise, record, held=held, acted=acted)
        case Never():
            return False
        case Held():
            return held
        case Acted(action):
            return action in acted
    raise TypeError(f"not a predicate: {predicate!r}")


def fields_of(predicate: Predicate) -> set[str]:
    """Every field a predicate reads."""
    match predicate:
        case Present(field) | OnOrBefore(field, _, _) | Equals(field, _) | BadValue(field, _):
            return {field}
        case Not(part):
            return fields_of(part)
        case All(parts) | Any_(parts):
            return {name for part in parts for name in fields_of(part)}
        case Switch(field, cases, otherwise):
            inner = [part for _, part in cases] + [otherwise]
            return {field}.union(*(fields_of(part) for part in inner))
    return set()


_UTC = ZoneInfo("UTC")


def _date_or_none(value: Any, zone: ZoneInfo, field: str) -> date | None:
    """The local date of a value, None when it is missing or not a date at all."""
    try:
        return local_date(value, zone, field)
    except RecordError:
        return None
