"""Property tests: what must hold for every pack, record, date and period.

The oracle below works retain-until dates out again without the engine's code or
python-dateutil (month arithmetic by hand), from the rules as the spec states them.
"""

from __future__ import annotations

import calendar
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor import Boundary, Period, RetentionRule, RulePack, evaluate, load_pack, parse_pack
from keepfor.engine import (
    Anchor,
    EarliestOf,
    EndOf,
    EndOfKind,
    FieldAnchor,
    LatestOf,
    MonthDay,
    Retain,
    Term,
)
from tests.engine import strategies as gen

SETTINGS = settings(max_examples=150, deadline=None)
AT = date(2000, 1, 1)


# -- an independent oracle ------------------------------------------------------------------


def oracle_local_date(value: Any, zone: ZoneInfo) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.date() if value.tzinfo is None else value.astimezone(zone).date()
    assert isinstance(value, date)
    return value


def oracle_anchor(anchor: Anchor, event: date) -> date:
    if isinstance(anchor, FieldAnchor):
        return event
    assert isinstance(anchor, EndOf)
    if anchor.kind is EndOfKind.MONTH:
        return date(event.year, event.month, calendar.monthrange(event.year, event.month)[1])
    if anchor.kind is EndOfKind.CALENDAR_YEAR:
        return date(event.year, 12, 31)
    fy = anchor.financial_year_end
    assert fy is not None
    end = date(event.year, fy.month, fy.day)
    return end if event <= end else date(event.year + 1, fy.month, fy.day)


def oracle_add(day: date, period: Period) -> date:
    months = day.year * 12 + (day.month - 1) + period.years * 12 + period.months
    year, month = divmod(months, 12)
    month += 1
    clamped = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    return clamped + timedelta(days=7 * period.weeks + period.days)


def oracle_until(term: Term, record: dict[str, Any], zone: ZoneInfo) -> date | None:
    if isinstance(term, Retain):
        event = oracle_local_date(record.get(term.anchor.field), zone)
        if event is None:
            return None
        return oracle_add(oracle_anchor(term.anchor, event), term.period)
    assert isinstance(term, LatestOf | EarliestOf)
    results = [(part, oracle_until(part, record, zone)) for part in term.parts]
    dated = [until for _, until in results if until is not None]
    if isinstance(term, LatestOf):
        if any(until is None and not part.optional for part, until in results):
            return None
        return max(dated) if dated else None
    return min(dated) if dated else None


def one_rule_pack(
    term: Term, boundary: Boundary = Boundary.AFTER, zone: str = "Europe/London"
) -> RulePack:
    rule = RetentionRule(id="r", retain=term, applies_to={"category": "x"}, boundary=boundary)
    return RulePack(id="p", version="1", timezone=zone, rules=(rule,))


def disposal(pack: RulePack, record: dict[str, Any]) -> date | None:
    return evaluate(pack, {"category": "x", **record}, AT).disposal_date


def all_anchors(field: str = "d") -> st.SearchStrategy[Anchor]:
    return gen.month_days().flatmap(lambda fy: gen.anchors(st.just(field), fy))


# -- never before the anchor ------------------------------------------------------------------


@SETTINGS
@given(
    anchor=all_anchors(),
    period=gen.periods(),
    boundary=gen.boundaries(),
    value=gen.date_values(),
    zone=gen.timezones(),
)
def test_disposal_never_precedes_the_anchor(
    anchor: Anchor, period: Period, boundary: Boundary, value: Any, zone: str
) -> None:
    pack = one_rule_pack(Retain(anchor, period), boundary, zone)
    event = oracle_local_date(value, ZoneInfo(zone))
    assert event is not None
    anchor_date = anchor.anchor_date(event)
    result = disposal(pack, {"d": value})
    assert result is not None
    assert event <= anchor_date <= result
    if boundary is Boundary.AFTER:
        assert anchor_date < result
    if period == Period() and boundary is Boundary.ON:
        assert result == anchor_date


# -- monotone -----------------------------------------------------------------------------------


@SETTINGS
@given(
    anchor=all_anchors(),
    period=gen.periods(),
    boundary=gen.boundaries(),
    first=gen.dates(),
    second=gen.dates(),
)
def test_later_date_never_gives_earlier_disposal(
    anchor: Anchor, period: Period, boundary: Boundary, first: date, second: date
) -> None:
    early, late = sorted((first, second))
    pack = one_rule_pack(Retain(anchor, period), boundary)
    early_d, late_d = disposal(pack, {"d": early}), disposal(pack, {"d": late})
    assert early_d is not None
    assert late_d is not None
    assert early_d <= late_d


@SETTINGS
@given(
    anchor=all_anchors(),
    period=gen.periods(),
    boundary=gen.boundaries(),
    zone=gen.timezones(),
    first=gen.instants(),
    second=gen.instants(),
)
def test_later_instant_never_gives_earlier_disposal(
    anchor: Anchor,
    period: Period,
    boundary: Boundary,
    zone: str,
    first: datetime,
    second: datetime,
) -> None:
    early, late = sorted((first, second))
    pack = one_rule_pack(Retain(anchor, period), boundary, zone)
    early_d = disposal(pack, {"d": early.isoformat()})
    late_d = disposal(pack, {"d": late})
    assert early_d is not None
    assert late_d is not None
    assert early_d <= late_d


@SETTINGS
@given(
    fy=gen.month_days(),
    period=gen.periods(),
    day=gen.dates(max_value=date(2400, 12, 30)),
)
def test_adjacent_days_are_monotone_for_every_year_end(
    fy: MonthDay, period: Period, day: date
) -> None:
    # Day by day is where a clamp or a year-end off by one would show.
    anchor = EndOf(EndOfKind.FINANCIAL_YEAR, "d", fy)
    today = period.add_to(anchor.anchor_date(day))
    tomorrow = period.add_to(anchor.anchor_date(day + timedelta(days=1)))
    assert today <= tomorrow
    assert anchor.anchor_date(day) >= day
    assert anchor.anchor_date(day) - day < timedelta(days=366)
    assert (anchor.anchor_date(day).month, anchor.anchor_date(day).day) == (fy.month, fy.day)


@SETTINGS
@given(
    data=st.data(),
    term=gen.terms(gen.field_names(gen.DATE_FIELDS), MonthDay(3, 31)),
    boundary=gen.boundaries(),
    shift=st.integers(0, 2000),
)
def test_moving_one_field_later_never_moves_disposal_earlier(
    data: st.DataObject, term: Term, boundary: Boundary, shift: int
) -> None:
    record = data.draw(
        gen.records(gen.DATE_FIELDS, values=gen.dates(max_value=date(2390, 1, 1)), missing=False)
    )
    moved_field = data.draw(st.sampled_from(gen.DATE_FIELDS))
    moved = {**record, moved_field: record[moved_field] + timedelta(days=shift)}
    pack = one_rule_pack(term, boundary)
    before, after = disposal(pack, record), disposal(pack, moved)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert before <= after


# -- latest_of / earliest_of --------------------------------------------------------------------


def flat_parts() -> st.SearchStrategy[tuple[Term, ...]]:
    return st.lists(
        gen.retains(gen.field_names(gen.DATE_FIELDS), MonthDay(4, 5)), min_size=1, max_size=5
    ).map(tuple)


LONDON = ZoneInfo("Europe/London")


@SETTINGS
@given(parts=flat_parts(), record=gen.records())
def test_latest_of_is_the_max_of_its_parts(parts: tuple[Term, ...], record: dict[str, Any]) -> None:
    part_dates = [part.evaluate(record, LONDON).retain_until for part in parts]
    result = LatestOf(parts).evaluate(record, LONDON).retain_until
    waits = any(d is None and not p.optional for p, d in zip(parts, part_dates, strict=True))
    if waits or all(d is None for d in part_dates):
        assert result is None
    else:
        assert result == max(d for d in part_dates if d is not None)


@SETTINGS
@given(parts=flat_parts(), record=gen.records())
def test_earliest_of_is_the_min_of_its_parts(
    parts: tuple[Term, ...], record: dict[str, Any]
) -> None:
    part_dates = [part.evaluate(record, LONDON).retain_until for part in parts]
    result = EarliestOf(parts).evaluate(record, LONDON).retain_until
    dated = [d for d in part_dates if d is not None]
    assert result == (min(dated) if dated else None)


@SETTINGS
@given(parts=flat_parts(), record=gen.records(missing=False))
def test_with_every_field_present_optional_changes_nothing(
    parts: tuple[Term, ...], record: dict[str, Any]
) -> None:
    required = tuple(Retain(p.anchor, p.period) for p in parts if isinstance(p, Retain))
    for kind in (LatestOf, EarliestOf):
        assert (
            kind(parts).evaluate(record, LONDON).retain_until
            == kind(required).evaluate(record, LONDON).retain_until
        )


@settings(max_examples=200, deadline=None)
@given(
    term=st.builds(
        gen.with_financial_year_end,
        gen.terms(gen.field_names(gen.DATE_FIELDS), MonthDay(3, 31), max_leaves=8),
        gen.month_days(),
    ),
    record=gen.records(),
    zone=gen.timezones(),
)
def test_terms_agree_with_the_oracle(term: Term, record: dict[str, Any], zone: str) -> None:
    tz = ZoneInfo(zone)
    assert term.evaluate(record, tz).retain_until == oracle_until(term, record, tz)


@SETTINGS
@given(
    term=gen.terms(gen.field_names(gen.DATE_FIELDS), MonthDay(3, 31)),
    boundary=gen.boundaries(),
    record=gen.records(),
)
def test_rule_disposal_date_follows_its_boundary(
    term: Term, boundary: Boundary, record: dict[str, Any]
) -> None:
    until = oracle_until(term, record, LONDON)
    decision = evaluate(one_rule_pack(term, boundary), {"category": "x", **record}, AT)
    if until is None:
        assert decision.status.value == "waiting"
        assert decision.disposal_date is None
    else:
        extra = timedelta(days=1 if boundary is Boundary.AFTER else 0)
        assert decision.disposal_date == until + extra


@settings(max_examples=80, deadline=None)
@given(
    packs=st.lists(
        gen.rule_packs(
            condition_fields=st.just("category"),
            applies_to=st.just({"category": "x"}),
            where=st.just({}),
            max_leaves=3,
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda p: p.id,
    ),
    record=gen.records(),
)
def test_several_rules_retention_wins(packs: list[RulePack], record: dict[str, Any]) -> None:
    decision = evaluate(packs, {"category": "x", **record}, AT)
    expected = []
    for pack in packs:
        for rule in pack.rules:
            until = oracle_until(rule.retain, record, pack.zone)
            extra = timedelta(days=1 if rule.boundary is Boundary.AFTER else 0)
            expected.append(None if until is None else until + extra)
    assert [m.disposal_date for m in decision.matched] == expected
    if any(d is None for d in expected):
        assert decision.status.value == "waiting"
        assert decision.disposal_date is None
    else:
        assert decision.disposal_date == max(d for d in expected if d is not None)
        assert decision.winner is not None
        assert decision.winner.disposal_date == decision.disposal_date


# -- packs round-trip through the loader ----------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(pack=gen.rule_packs())
def test_pack_round_trips_through_parse_pack(pack: RulePack) -> None:
    assert parse_pack(pack.to_dict()) == pack


@settings(max_examples=80, deadline=None)
@given(pack=gen.rule_packs())
def test_pack_round_trips_through_yaml(pack: RulePack) -> None:
    text = yaml.safe_dump(pack.to_dict(), sort_keys=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pack.yaml"
        path.write_text(text, encoding="utf-8")
        loaded = load_pack(path)
    assert loaded == pack
    assert loaded.path == str(path)


@settings(max_examples=50, deadline=None)
@given(pack=gen.rule_packs(), record=gen.records())
def test_round_tripped_pack_decides_alike(pack: RulePack, record: dict[str, Any]) -> None:
    again = parse_pack(pack.to_dict())
    record = {**{k: v for r in pack.rules for k, v in r.applies_to.items()}, **record}
    first, second = evaluate(pack, record, AT), evaluate(again, record, AT)
    assert first.to_dict() == second.to_dict()
