"""Cutoffs invert the calendar arithmetic exactly: the predicate equals evaluation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor.engine import (
    EndOf,
    EndOfKind,
    FieldAnchor,
    MonthDay,
    Period,
    RuleSet,
    Status,
    evaluate,
    parse_pack,
)
from keepfor.engine.cutoffs import (
    All,
    Any_,
    Not,
    Switch,
    due_predicate,
    holds,
    latest_due_anchor,
    latest_due_event,
    matched_predicate,
    readable_predicate,
    unreadable_predicate,
    waiting_predicate,
)
from tests.differential import category_rules, instants, near, record_lists, rule_sets

periods = st.builds(
    Period,
    years=st.integers(0, 30),
    months=st.integers(0, 40),
    weeks=st.integers(0, 5),
    days=st.integers(0, 400),
)
days = st.dates(min_value=date(1901, 1, 1), max_value=date(2399, 12, 31))


@pytest.mark.parametrize(
    ("period", "latest", "expected"),
    [
        # 2024-02-29 + P1Y = 2025-02-28, and so do 02-28: the latest anchor is 02-29
        ("P1Y", date(2025, 2, 28), date(2024, 2, 29)),
        ("P1Y", date(2025, 3, 1), date(2024, 3, 1)),
        # 08-29, 08-30, 08-31 + P6M all clamp to 2024-02-29
        ("P6M", date(2024, 2, 29), date(2023, 8, 31)),
        ("P6M", date(2024, 2, 28), date(2023, 8, 28)),
        ("P1M", date(2023, 2, 28), date(2023, 1, 31)),
        ("P0D", date(2020, 1, 1), date(2020, 1, 1)),
        ("P2W", date(2020, 3, 1), date(2020, 2, 16)),
    ],
)
def test_latest_due_anchor_table(period: str, latest: date, expected: date) -> None:
    assert latest_due_anchor(Period.parse(period), latest) == expected


@given(periods, days)
@settings(max_examples=400)
def test_latest_due_anchor_is_exact(period: Period, latest: date) -> None:
    anchor = latest_due_anchor(period, latest)
    assert anchor is not None
    assert period.add_to(anchor) <= latest
    assert period.add_to(anchor + timedelta(days=1)) > latest


@pytest.mark.parametrize(
    ("anchor", "latest", "expected"),
    [
        (EndOf(EndOfKind.MONTH, "x"), date(2024, 2, 29), date(2024, 2, 29)),
        (EndOf(EndOfKind.MONTH, "x"), date(2024, 2, 28), date(2024, 1, 31)),
        (EndOf(EndOfKind.CALENDAR_YEAR, "x"), date(2024, 12, 30), date(2023, 12, 31)),
        (EndOf(EndOfKind.FINANCIAL_YEAR, "x", MonthDay(4, 5)), date(2022, 4, 5), date(2022, 4, 5)),
        (EndOf(EndOfKind.FINANCIAL_YEAR, "x", MonthDay(4, 5)), date(2022, 4, 4), date(2021, 4, 5)),
        (FieldAnchor("x"), date(2022, 4, 4), date(2022, 4, 4)),
    ],
)
def test_latest_due_event_table(anchor: EndOf | FieldAnchor, latest: date, expected: date) -> None:
    assert latest_due_event(anchor, latest) == expected


anchor_kinds = st.one_of(
    st.builds(FieldAnchor, st.just("x")),
    st.builds(EndOf, st.sampled_from([EndOfKind.MONTH, EndOfKind.CALENDAR_YEAR]), st.just("x")),
    st.builds(
        lambda md: EndOf(EndOfKind.FINANCIAL_YEAR, "x", md),
        st.builds(MonthDay, st.integers(1, 12), st.integers(1, 28)),
    ),
)


@given(anchor_kinds, days)
@settings(max_examples=400)
def test_latest_due_event_is_exact(anchor: EndOf | FieldAnchor, latest: date) -> None:
    event = latest_due_event(anchor, latest)
    assert event is not None
    assert anchor.anchor_date(event) <= latest
    assert anchor.anchor_date(event + timedelta(days=1)) > latest


at_instants = st.one_of(
    instants, st.dates(min_value=date(2000, 1, 1), max_value=date(2039, 1, 1)).flatmap(near)
)


@given(rule_sets(), record_lists(bad=True), at_instants)
@settings(max_examples=150, deadline=None)
def test_predicate_equals_evaluation(rules, records, at) -> None:  # type: ignore[no-untyped-def]
    due = due_predicate(rules, at)
    readable = readable_predicate(rules)
    for record in records:
        expected = evaluate(rules, record, at).status is Status.DUE
        assert (holds(readable, record) and holds(due, record)) == expected, record


def buckets(rules, at):  # type: ignore[no-untyped-def]
    """Each status as a predicate, the way a database counts them."""
    readable = readable_predicate(rules)
    due = due_predicate(rules, at)
    matched = matched_predicate(rules)
    waiting = Any_(tuple(waiting_predicate(rule) for _, rule in rules))
    return {
        Status.UNREADABLE: unreadable_predicate(rules),
        Status.UNMATCHED: All((readable, Not(matched))),
        Status.WAITING: All((readable, waiting)),
        Status.DUE: All((readable, due)),
        Status.RETAINED: All((readable, matched, Not(waiting), Not(due))),
    }


@given(rule_sets(), record_lists(bad=True), at_instants)
@settings(max_examples=150, deadline=None)
def test_every_record_is_in_exactly_one_bucket_the_one_evaluation_gives(  # type: ignore[no-untyped-def]
    rules, records, at
) -> None:
    predicates = buckets(rules, at)
    for record in records:
        status = evaluate(rules, record, at).status
        found = [s for s, predicate in predicates.items() if holds(predicate, record)]
        assert found == [status], record


@given(rule_sets(), record_lists(bad=True), at_instants, st.integers(1, 4000))
@settings(max_examples=100, deadline=None)
def test_due_only_grows_with_time(rules, records, at, days) -> None:  # type: ignore[no-untyped-def]
    later = at + timedelta(days=days)
    for record in records:
        if evaluate(rules, record, at).status is Status.DUE:
            assert evaluate(rules, record, later).status is Status.DUE, record


def _leaves(predicate: object) -> list[object]:
    """Every leaf of a predicate tree, repeats included."""
    if isinstance(predicate, All | Any_):
        return [leaf for part in predicate.parts for leaf in _leaves(part)]
    if isinstance(predicate, Not):
        return _leaves(predicate.part)
    return [predicate]


def _pack(n: int) -> RuleSet:
    """``n`` rules on one category, from one anchor, for 1..n days (and a boolean)."""
    rules = [
        {
            "id": f"r{k}",
            "applies_to": {"category": "order"},
            "where": {"accepted": False},
            "retain": {"from": "placed_at", "for": f"P{k}D"},
            "then": "purge",
        }
        for k in range(1, n + 1)
    ]
    return RuleSet((parse_pack({"pack": "p", "version": "1", "timezone": "UTC", "rules": rules}),))


def test_rules_that_apply_alike_cost_what_one_rule_costs() -> None:
    """Fifty rules on one category and one anchor: one cutoff comparison each way, and
    each value the rules cannot read is checked once; the due cutoff is the longest
    rule's (all must be due), and the engine agrees record by record."""
    at = datetime(2026, 1, 31, 12, tzinfo=UTC)
    one, fifty = _pack(1), _pack(50)
    assert len(_leaves(due_predicate(fifty, at))) == len(_leaves(due_predicate(one, at)))
    assert len(_leaves(unreadable_predicate(fifty))) == len(_leaves(unreadable_predicate(one)))
    due = due_predicate(fifty, at)
    for day in range(1, 60):
        record = {
            "category": "order",
            "accepted": False,
            "placed_at": date(2026, 1, 31) - timedelta(days=day),
        }
        expected = evaluate(fifty, record, at).status is Status.DUE
        assert holds(due, record) is expected
        assert expected is (day >= 51)  # P50D, kept through the 50th day after


def _switches(predicate: object) -> int:
    """How many Switch nodes a predicate tree holds."""
    if isinstance(predicate, Switch):
        inner = [part for _, part in predicate.cases] + [predicate.otherwise]
        return 1 + sum(_switches(part) for part in inner)
    if isinstance(predicate, All | Any_):
        return sum(_switches(part) for part in predicate.parts)
    if isinstance(predicate, Not):
        return _switches(predicate.part)
    return 0


@given(record_lists(bad=True), at_instants)
@settings(max_examples=150, deadline=None)
def test_rules_of_many_categories_are_switched_on_the_category(records, at) -> None:  # type: ignore[no-untyped-def]
    """Three categories or more: the due and unreadable predicates switch on the
    category, and still say what the evaluator says for every record."""
    rules = category_rules()
    predicates = buckets(rules, at)
    assert _switches(predicates[Status.DUE]) >= 2
    assert _switches(predicates[Status.UNREADABLE]) == 1
    for record in records:
        status = evaluate(rules, record, at).status
        found = [s for s, predicate in predicates.items() if holds(predicate, record)]
        assert found == [status], record


def _exclusive_pack() -> RuleSet:
    """Three categories of their own; two rules on one of them, from different anchors
    (both must be due), one of them with a condition."""
    rules: list[dict[str, object]] = [
        {"id": "a1", "applies_to": {"category": "a"}, "retain": {"from": "d1", "for": "P1Y"}},
        {"id": "a2", "applies_to": {"category": "a"}, "retain": {"from": "t1", "for": "P1M"}},
        {"id": "b", "applies_to": {"category": "b"}, "retain": {"from": "d1", "for": "P2M"}},
        {
            "id": "c",
            "applies_to": {"category": "c"},
            "where": {"flag": False},
            "retain": {"from": "d1", "for": "P10D"},
        },
    ]
    for rule in rules:
        rule["then"] = "purge"
    return RuleSet((parse_pack({"pack": "x", "version": "1", "timezone": "UTC", "rules": rules}),))


@given(record_lists(bad=True), at_instants)
@settings(max_examples=150, deadline=None)
def test_rules_of_categories_of_their_own_are_due_in_one_term(records, at) -> None:  # type: ignore[no-untyped-def]
    """No record meets two categories' rules: due is one term (that category's rules
    all due), not "some due and none not due"; the buckets still say what the evaluator
    says. Where two groups of rules can meet one record, both terms stay."""
    rules = _exclusive_pack()
    assert not isinstance(due_predicate(rules, at), All)  # a Switch on the category
    assert isinstance(due_predicate(category_rules(), at), All)  # "flagged": any category
    predicates = buckets(rules, at)
    for record in records:
        status = evaluate(rules, record, at).status
        found = [s for s, predicate in predicates.items() if holds(predicate, record)]
        assert found == [status], record
