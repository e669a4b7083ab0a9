"""The rule index (:mod:`keepfor.engine.index`) leaves out only rules that plainly fail:
a rule it leaves out neither matches the record nor finds a value of it unreadable, so
``evaluate`` decides as if every rule were tried."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor.engine import FieldAnchor, Period, Retain, RetentionRule, RulePack, RuleSet, evaluate
from keepfor.engine.evaluate import decide, match
from keepfor.engine.index import MIN_RULES, RuleIndex

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
TERM = Retain(FieldAnchor("placed_at"), Period(days=30))

# condition values chosen to meet each other: 1 == 1.0 == True in Python, not to a rule
VALUES = st.sampled_from(["order", "quote", "", "Order", 1, 1.0, 0, 2.5, None, True, False])
FIELDS = st.sampled_from(["category", "kind", "vip"])


def _rule(i: int, applies_to: dict[str, Any], where: dict[str, Any]) -> RetentionRule:
    return RetentionRule(id=f"r{i}", retain=TERM, applies_to=applies_to, where=where)


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    applies_to = st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=2).map(dict)
    where = st.lists(st.tuples(FIELDS, VALUES), max_size=2).map(dict)
    n = draw(st.integers(MIN_RULES, 24))
    rules = tuple(_rule(i, draw(applies_to), draw(where)) for i in range(n))
    cut = draw(st.integers(1, n - 1))
    return RuleSet(
        (RulePack(id="a", version="1", timezone="UTC", rules=rules[:cut]),
         RulePack(id="b", version="1", timezone="UTC", rules=rules[cut:]))
    )  # fmt: skip


RECORD_VALUES = st.one_of(VALUES, st.lists(st.integers(), max_size=2), st.just(float("nan")))
RECORDS = st.lists(st.tuples(FIELDS, RECORD_VALUES), max_size=3).map(
    lambda pairs: {**dict(pairs), "placed_at": date(2020, 1, 1)}
)


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), record=RECORDS)
def test_every_rule_left_out_plainly_fails(rules: RuleSet, record: dict[str, Any]) -> None:
    tried = rules.candidates(record)
    places = [place for place, _, _ in tried]
    assert places == sorted(set(places))  # load order, no repeats
    every = list(rules)
    for place, pack, rule in tried:
        assert every[place] == (pack, rule)
    for place, (_, rule) in enumerate(every):
        if place not in places:
            assert not rule.matches(record)
            assert rule.unreadable_field(record) is None


@settings(max_examples=200, deadline=None)
@given(rules=rule_sets(), record=RECORDS)
def test_the_decision_is_that_of_every_rule_tried(rules: RuleSet, record: dict[str, Any]) -> None:
    every_rule = {i: None for i, (_, rule) in enumerate(rules) if rule.matches(record)}
    unreadable = [
        rule.unreadable_field(record)
        for _, rule in rules
        if not rule.matches(record) and rule.unreadable_field(record)
    ]
    if unreadable:  # verdicts say only matched or not: compare the status alone
        assert evaluate(rules, record, AT).status.value == "unreadable"
        return
    assert evaluate(rules, record, AT) == decide(
        rules, record, AT, match(rules, record, every_rule)
    )


def test_a_category_meets_only_its_own_rules() -> None:
    rules = RuleSet(
        (RulePack(id="p", version="1", timezone="UTC", rules=tuple(
            _rule(i, {"category": f"c{i % 10}"}, {}) for i in range(200)
        )),)
    )  # fmt: skip
    tried = rules.candidates({"category": "c3", "placed_at": date(2020, 1, 1)})
    assert [rule.id for _, _, rule in tried] == [f"r{i}" for i in range(3, 200, 10)]
    decision = evaluate(rules, {"category": "c3", "placed_at": date(2020, 1, 1)}, AT)
    assert decision.winner is not None
    assert decision.winner.rule.id == "r3"
    assert decision.disposal_date == date(2020, 1, 1) + timedelta(days=31)


@pytest.mark.parametrize(
    ("record", "ids"),
    [
        ({"category": "order"}, ["r0", "r2", "r3"]),
        ({"category": 1}, ["r1", "r2", "r3"]),  # 1 is 1.0 to a rule, as in Python
        ({"category": True}, ["r2", "r3"]),  # true is no value a value rule asks for
        ({}, ["r2", "r3"]),
        ({"category": None}, ["r2", "r3", "r4"]),
        ({"category": ["order"]}, ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"]),
    ],
)  # fmt: skip
def test_the_candidates_of_odd_values(record: dict[str, Any], ids: list[str]) -> None:
    rules = RuleSet(
        (RulePack(id="p", version="1", timezone="UTC", rules=(
            _rule(0, {"category": "order"}, {}),
            _rule(1, {"category": 1.0}, {}),
            _rule(2, {"vip": True}, {}),  # no value condition on category: always tried
            _rule(3, {"category": True}, {}),  # a boolean: "yes" would be unreadable
            _rule(4, {"category": None}, {}),
            _rule(5, {"category": "quote"}, {}),
            _rule(6, {"category": "cv"}, {}),
            _rule(7, {"category": "lead"}, {}),
        )),)
    )  # fmt: skip
    assert [rule.id for _, _, rule in rules.candidates(record)] == ids


def test_few_rules_are_tried_in_turn() -> None:
    pack = RulePack(id="p", version="1", timezone="UTC", rules=(_rule(0, {"category": "a"}, {}),))
    index = RuleIndex(RuleSet((pack,)))
    assert index.field is None
    assert [rule.id for _, _, rule in index.candidates({"category": "b"})] == ["r0"]
