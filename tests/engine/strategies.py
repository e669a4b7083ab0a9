"""Hypothesis strategies for rule packs and records.

Written for the engine's property tests and meant to be reused by the database
differential tests: every strategy builds values through the public engine classes,
so a generated :class:`RulePack` is one the loader accepts (``parse_pack(pack.to_dict())``
gives it back) and a generated record is one :func:`keepfor.evaluate` can work out.

Dates are kept within 1900-2400 and periods below a century, so that no sum leaves
the range of :class:`datetime.date`.
"""

from __future__ import annotations

import calendar
import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from keepfor.engine import (
    Action,
    Anchor,
    Basis,
    Boundary,
    EarliestOf,
    EndOf,
    EndOfKind,
    FieldAnchor,
    LatestOf,
    MonthDay,
    Period,
    RetentionRule,
    RulePack,
    Term,
)
from keepfor.engine import Retain as RetainTerm

__all__ = [
    "DATE_FIELDS",
    "MAX_DATE",
    "MIN_DATE",
    "TIMEZONES",
    "actions",
    "anchors",
    "bases",
    "boundaries",
    "date_values",
    "dates",
    "field_names",
    "identifiers",
    "instants",
    "month_days",
    "periods",
    "records",
    "retains",
    "retention_rules",
    "rule_packs",
    "scalars",
    "terms",
    "timezones",
    "with_financial_year_end",
]

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2400, 12, 31)

TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)
"""Zones on both sides of UTC, with and without summer time, incl. +05:30 and +14:00."""

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"

DATE_FIELDS = ("placed_at", "closed_at", "resolved_at", "contract_end", "born_on")
"""A small pool of date field names, so that generated rules and records meet."""


def dates(min_value: date = MIN_DATE, max_value: date = MAX_DATE) -> st.SearchStrategy[date]:
    return st.dates(min_value=min_value, max_value=max_value)


def instants(min_value: date = MIN_DATE, max_value: date = MAX_DATE) -> st.SearchStrategy[datetime]:
    """Aware UTC datetimes (to the second) between two dates."""
    low = datetime.combine(min_value, time(), tzinfo=UTC)
    span = int((datetime.combine(max_value, time(), tzinfo=UTC) - low).total_seconds())
    return st.integers(0, span).map(lambda s: low + timedelta(seconds=s))


def timezones() -> st.SearchStrategy[str]:
    return st.sampled_from(TIMEZONES)


@cache
def periods(max_years: int = 60) -> st.SearchStrategy[Period]:
    return st.builds(
        Period,
        years=st.integers(0, max_years),
        months=st.integers(0, 30),
        weeks=st.integers(0, 12),
        days=st.integers(0, 400),
    )


@st.composite
def month_days(draw: st.DrawFn) -> MonthDay:
    """Any valid financial-year end ``MM-DD`` (never 02-29)."""
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(2023, month)[1]))
    return MonthDay(month, day)


@cache
def identifiers() -> st.SearchStrategy[str]:
    """Pack and rule ids: lower-case letters and digits in hyphen-separated words."""
    word = st.text(alphabet=_LOWER + _DIGITS, min_size=1, max_size=6)
    return st.lists(word, min_size=1, max_size=3).map("-".join)


@cache
def field_names(pool: tuple[str, ...] | None = None) -> st.SearchStrategy[str]:
    """Record field names: from ``pool`` when given, otherwise any valid name."""
    if pool is not None:
        return st.sampled_from(pool)
    head = st.sampled_from(_LOWER + _LOWER.upper() + "_")
    tail = st.text(alphabet=_LOWER + _LOWER.upper() + _DIGITS + "_", max_size=10)
    return st.builds(str.__add__, head, tail)


@cache
def scalars() -> st.SearchStrategy[Any]:
    """Values a rule's ``applies_to`` / ``where`` can compare a field with."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**9), 10**9),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.text(max_size=12),
    )


@cache
def _text() -> st.SearchStrategy[str]:
    """Non-blank free text (descriptions, sources, versions)."""
    return st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")


def boundaries() -> st.SearchStrategy[Boundary]:
    return st.sampled_from(Boundary)


def actions() -> st.SearchStrategy[Action]:
    return st.sampled_from(Action)


def bases() -> st.SearchStrategy[Basis]:
    return st.sampled_from(Basis)


def anchors(
    fields: st.SearchStrategy[str], financial_year_end: MonthDay
) -> st.SearchStrategy[Anchor]:
    """Every anchor kind; financial-year ends use ``financial_year_end``."""
    return st.one_of(
        st.builds(FieldAnchor, fields),
        st.builds(EndOf, st.just(EndOfKind.MONTH), fields),
        st.builds(EndOf, st.just(EndOfKind.CALENDAR_YEAR), fields),
        st.builds(EndOf, st.just(EndOfKind.FINANCIAL_YEAR), fields, st.just(financial_year_end)),
    )


def retains(
    fields: st.SearchStrategy[str],
    financial_year_end: MonthDay,
    period: st.SearchStrategy[Period] | None = None,
) -> st.SearchStrategy[RetainTerm]:
    return st.builds(
        RetainTerm,
        anchors(fields, financial_year_end),
        period if period is not None else periods(),
        st.booleans(),
    )


@cache
def terms(
    fields: st.SearchStrategy[str],
    financial_year_end: MonthDay,
    max_leaves: int = 6,
    period: st.SearchStrategy[Period] | None = None,
) -> st.SearchStrategy[Term]:
    """Terms nested to any depth: ``from``, ``latest_of`` and ``earliest_of``, some optional."""
    leaves = retains(fields, financial_year_end, period)

    def extend(children: st.SearchStrategy[Term]) -> st.SearchStrategy[Term]:
        parts = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            st.builds(LatestOf, parts, st.booleans()),
            st.builds(EarliestOf, parts, st.booleans()),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


@cache
def _conditions(fields: st.SearchStrategy[str], min_size: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(fields, scalars(), min_size=min_size, max_size=3)


_PLACEHOLDER = MonthDay(12, 31)
_UK_YEAR_END = MonthDay(3, 31)


def with_financial_year_end(term: Term, financial_year_end: MonthDay) -> Term:
    """``term`` with every ``end_of: financial_year`` anchor ending on ``financial_year_end``."""
    if isinstance(term, RetainTerm):
        anchor = term.anchor
        if isinstance(anchor, EndOf) and anchor.kind is EndOfKind.FINANCIAL_YEAR:
            anchor = EndOf(EndOfKind.FINANCIAL_YEAR, anchor.of, financial_year_end)
        return RetainTerm(anchor, term.period, term.optional)
    assert isinstance(term, LatestOf | EarliestOf)
    parts = tuple(with_financial_year_end(part, financial_year_end) for part in term.parts)
    return dataclasses.replace(term, parts=parts)


def _uses_financial_year(term: Term) -> bool:
    return any(
        isinstance(leaf.anchor, EndOf) and leaf.anchor.kind is EndOfKind.FINANCIAL_YEAR
        for leaf in term.retains()
    )


@st.composite
def retention_rules(
    draw: st.DrawFn,
    pack_financial_year_end: MonthDay = _UK_YEAR_END,
    *,
    rule_id: st.SearchStrategy[str] | None = None,
    date_fields: st.SearchStrategy[str] | None = None,
    condition_fields: st.SearchStrategy[str] | None = None,
    applies_to: st.SearchStrategy[dict[str, Any]] | None = None,
    where: st.SearchStrategy[dict[str, Any]] | None = None,
    max_leaves: int = 6,
) -> RetentionRule:
    """A rule the loader accepts, consistent with its pack's financial-year end.

    A rule's own ``financial_year_end`` is kept only where one of its anchors is a
    financial-year end (the loader refuses it otherwise), and every such anchor carries
    the year end that applies: the rule's, or else the pack's.
    """
    override = draw(st.none() | month_days())
    fy_end = override or pack_financial_year_end
    fields = field_names(DATE_FIELDS) if date_fields is None else date_fields
    # One strategy for every year end (building a recursive strategy per draw is slow):
    # draw the shape with a placeholder year end, then put the real one in.
    term = with_financial_year_end(draw(terms(fields, _PLACEHOLDER, max_leaves)), fy_end)
    if not _uses_financial_year(term):
        override = None
    conditions = field_names() if condition_fields is None else condition_fields
    return RetentionRule(
        id=draw(identifiers() if rule_id is None else rule_id),
        retain=term,
        applies_to=draw(_conditions(conditions, 1) if applies_to is None else applies_to),
        where=draw(_conditions(conditions, 0) if where is None else where),
        boundary=draw(boundaries()),
        action=draw(actions()),
        basis=draw(bases()),
        description=draw(st.none() | _text()),
        source=draw(st.none() | _text()),
        financial_year_end=override,
    )


@st.composite
def rule_packs(
    draw: st.DrawFn,
    *,
    max_rules: int = 4,
    date_fields: st.SearchStrategy[str] | None = None,
    condition_fields: st.SearchStrategy[str] | None = None,
    applies_to: st.SearchStrategy[dict[str, Any]] | None = None,
    where: st.SearchStrategy[dict[str, Any]] | None = None,
    max_leaves: int = 6,
) -> RulePack:
    """A whole pack with unique rule ids, as ``load_pack`` would give it."""
    fy_end = draw(month_days())
    rules = draw(
        st.lists(
            retention_rules(
                fy_end,
                date_fields=date_fields,
                condition_fields=condition_fields,
                applies_to=applies_to,
                where=where,
                max_leaves=max_leaves,
            ),
            min_size=1,
            max_size=max_rules,
            unique_by=lambda rule: rule.id,
        )
    )
    return RulePack(
        id=draw(identifiers()),
        version=draw(_text()),
        timezone=draw(timezones()),
        rules=tuple(rules),
        financial_year_end=fy_end,
        description=draw(st.none() | _text()),
    )


def date_values(min_value: date = MIN_DATE, max_value: date = MAX_DATE) -> st.SearchStrategy[Any]:
    """A record's date field in every form a record may hold it.

    A ``date``, an aware ``datetime`` (in UTC or in a named zone), a naive datetime
    (read as local time), or the ISO 8601 text of any of these.
    """
    aware = st.builds(
        lambda instant, zone: instant.astimezone(ZoneInfo(zone)),
        instants(min_value, max_value),
        timezones(),
    )
    naive = instants(min_value, max_value).map(lambda i: i.replace(tzinfo=None))
    return st.one_of(
        dates(min_value, max_value),
        dates(min_value, max_value).map(date.isoformat),
        aware,
        date_texts(aware),
        naive,
        date_texts(naive),
    )


@st.composite
def date_texts(draw: st.DrawFn, values: st.SearchStrategy[datetime]) -> str:
    """A datetime written in one of the forms of keepfor's date grammar: ``T`` or a
    space, with or without seconds and fraction, ``Z`` or ``+HH:MM`` (an offset with
    seconds, as old local mean times have, is written as the same instant in UTC)."""
    value = draw(values)
    offset = value.utcoffset()
    if offset is not None and offset.seconds % 60:
        value = value.astimezone(UTC)
    if draw(st.booleans()):
        value = value.replace(microsecond=0)
        if draw(st.booleans()):
            value = value.replace(second=0)
    body = value.replace(tzinfo=None).isoformat(sep=draw(st.sampled_from("T ")))
    if value.second == 0 and value.microsecond == 0:
        body = body[:16]  # HH:MM
    elif value.microsecond:
        body = body[: draw(st.integers(min_value=21, max_value=26))]  # 1 to 6 digits
    if offset is None:
        return body
    if value.utcoffset() == timedelta(0) and draw(st.booleans()):
        return body + "Z"
    return body + value.isoformat()[-6:]


@st.composite
def records(
    draw: st.DrawFn,
    fields: tuple[str, ...] = DATE_FIELDS,
    *,
    base: dict[str, Any] | None = None,
    values: st.SearchStrategy[Any] | None = None,
    missing: bool = True,
) -> dict[str, Any]:
    """A record: ``base`` plus each date field, present, null or (if ``missing``) absent."""
    record = dict(base or {})
    value = values if values is not None else date_values()
    for name in fields:
        choice = draw(st.sampled_from(("value", "null", "absent") if missing else ("value",)))
        if choice == "value":
            record[name] = draw(value)
        elif choice == "null":
            record[name] = None
    return record
