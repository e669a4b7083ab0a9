"""The durable_rules evaluator decides as the Python one does: a differential test over
generated packs and records, every seed pack's worked examples, and each of
durable_rules' pitfalls (see :mod:`keepfor.evaluators.durable`)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import keepfor
from keepfor.engine import RulePack, RuleSet, parse_pack
from keepfor.engine.evaluate import Evaluator as PythonEvaluator
from tests.engine import strategies as gen
from tests.evaluators.conftest import need_durable
from tests.rules.test_seed_packs import CASES, RULES, Case, _pack

need_durable()

from keepfor.evaluators import durable  # noqa: E402 (after the skip on Python 3.13)
from keepfor.evaluators.durable import DurableEvaluator, encode  # noqa: E402
from keepfor.evaluators.python import BatchEvaluator  # noqa: E402

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
CONDITION_FIELDS = ("category", "flag", "id", "sid", "n")
"""Few names, so that rules and records meet; ``id`` and ``sid`` are durable_rules' own."""


def _same(rules: RuleSet, record: dict[str, Any], at: datetime | date) -> None:
    expected = keepfor.evaluate(rules, record, at).to_dict(detail=True)
    uncached = DurableEvaluator(rules, cached=False)
    assert uncached(record, at).to_dict(detail=True) == expected, record
    assert DurableEvaluator(rules)(record, at).to_dict(detail=True) == expected, record


def _pack_of(*rules: dict[str, Any]) -> RuleSet:
    body = {"pack": "p", "version": "1", "timezone": "Europe/London", "rules": list(rules)}
    return RuleSet((parse_pack(body),))


def _rule(rule_id: str = "r", **conditions: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "applies_to": conditions,
        "retain": {"from": "d", "for": "P1Y"},
        "then": "purge",
    }


# -- the differential test -------------------------------------------------------------


def _condition_values(packs: list[RulePack]) -> st.SearchStrategy[Any]:
    """Mostly the values the rules test (so that they match), else any scalar or a date."""
    seen = [v for pack in packs for rule in pack.rules for _, v in rule.conditions()]
    near = [1, 1.0, 0, True, False, "1", "yes", None, Decimal("1"), date(2020, 1, 1)]
    return st.sampled_from(seen + near) | gen.scalars()


@st.composite
def _cases(draw: st.DrawFn) -> tuple[RuleSet, list[dict[str, Any]], datetime]:
    packs = draw(
        st.lists(
            gen.rule_packs(condition_fields=st.sampled_from(CONDITION_FIELDS), max_leaves=3),
            min_size=1,
            max_size=2,
            unique_by=lambda pack: pack.id,
        )
    )
    values = _condition_values(packs)
    every_rule = [rule for pack in packs for rule in pack.rules]
    records = []
    for _ in range(draw(st.integers(1, 6))):
        # most records start from a rule's conditions (so that it matches), then change
        # some fields: a value of another rule, any scalar, a date, null, or none at all
        base: dict[str, Any] = {}
        if draw(st.integers(0, 3)):
            base.update(draw(st.sampled_from(every_rule)).conditions())
        for name in CONDITION_FIELDS:
            change = draw(st.sampled_from(["keep"] * 8 + ["value", "drop"]))
            if change == "value":
                base[name] = draw(values)
            elif change == "drop":
                base.pop(name, None)
        records.append(draw(gen.records(base=base)))
    return RuleSet(tuple(packs)), records, draw(gen.instants())


@given(_cases())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_durable_rules_decides_as_python(
    case: tuple[RuleSet, list[dict[str, Any]], datetime],
) -> None:
    rules, records, at = case
    python = PythonEvaluator(rules)
    uncached = DurableEvaluator(rules, cached=False)
    cached = DurableEvaluator(rules)
    every = [keepfor.evaluate(rules, record, at).to_dict(detail=True) for record in records]
    for record, expected in zip(records * 2, every * 2, strict=True):  # cache hits, the same again
        event(expected["status"])
        assert python(record, at).to_dict(detail=True) == expected
        assert uncached(record, at).to_dict(detail=True) == expected, record
        assert cached(record, at).to_dict(detail=True) == expected, record
    # one batch of facts: the same records (twice over) matched together
    batch = uncached.decide_many(records * 2, at)
    assert [d.to_dict(detail=True) for d in batch] == every * 2
    assert durable.facts_of(uncached.ruleset) == []


# -- the seed packs' worked examples -----------------------------------------------------


@pytest.fixture(scope="module")
def all_rules() -> RuleSet:
    return keepfor.load_rules(RULES)


@pytest.mark.parametrize("evaluator", ["python", "durable_rules"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_worked_example(case: Case, evaluator: str, all_rules: RuleSet) -> None:
    from keepfor.evaluators import evaluator_named

    for rules in (RuleSet((_pack(case.pack_file),)), all_rules):
        decision = evaluator_named(evaluator, rules)(case.record, case.at)
        got = (decision.status, decision.disposal_date, decision.rule and decision.rule.id)
        assert got == (case.status, case.disposal, case.rule), decision.reason
        assert decision.to_dict(detail=True) == keepfor.evaluate(
            rules, case.record, case.at
        ).to_dict(detail=True)


# -- durable_rules' pitfalls -----------------------------------------------------------


def test_fields_named_id_and_sid_are_renamed() -> None:
    # a rule testing durable_rules' own "id" would stall it: the second record with the
    # same id would be a message already seen, and go unmatched
    rules = _pack_of(_rule("by-id", id=5), _rule("by-sid", sid="x"))
    for record in ({"id": 5, "d": "2020-01-01"}, {"sid": "x", "d": "2021-01-01"}) * 2:
        _same(rules, record, AT)
    evaluator = DurableEvaluator(rules, cached=False)
    assert "id" not in {k for k in evaluator.fact({"id": 5, "sid": "x"}) if k != "id"}
    assert evaluator.fact({"id": 5, "sid": "x"})["id"] != 5  # a fact number of our own


def test_dates_never_reach_durable_rules_as_objects() -> None:
    # json cannot send a date; and a date equals no value a rule can test
    rules = _pack_of(_rule(category="order"))
    for value in (date(2020, 1, 1), datetime(2020, 1, 1, tzinfo=UTC), b"order"):
        record = {"category": value, "d": date(2020, 1, 1)}
        _same(rules, record, AT)
        assert keepfor.evaluate(rules, record, AT).status is keepfor.Status.UNMATCHED
    assert encode(date(2020, 1, 1)) == ("o", "o:")


def test_true_is_not_one_as_the_rules_say() -> None:
    # durable_rules itself compares true equal to 1: values are sent tagged
    rules = _pack_of(_rule("flagged", flag=True), _rule("one", n=1))
    for record in (
        {"flag": True, "d": "2020-01-01"},
        {"flag": 1, "d": "2020-01-01"},  # unreadable: not true or false
        {"flag": "yes", "d": "2020-01-01"},
        {"flag": None, "d": "2020-01-01"},
        {"n": True, "d": "2020-01-01"},  # unmatched: true is not 1
        {"n": 1.0, "d": "2020-01-01"},  # matched: 1.0 is 1
        {"n": Decimal("1"), "d": "2020-01-01"},
        {"n": "1", "d": "2020-01-01"},
        {"n": float("nan"), "d": "2020-01-01"},
        {"n": 10**5000, "d": "2020-01-01"},  # too many digits for str()
        {"n": -(2**53) - 1, "d": "2020-01-01"},
    ):
        _same(rules, record, AT)
    evaluator = DurableEvaluator(rules, cached=False)
    assert evaluator({"flag": 1, "d": "2020-01-01"}, AT).status is keepfor.Status.UNREADABLE
    assert evaluator({"n": True, "d": "2020-01-01"}, AT).status is keepfor.Status.UNMATCHED


def test_texts_the_c_engine_cannot_hold_are_escaped() -> None:
    rules = _pack_of(_rule("nul", category="a\x00b"), _rule("back", category="a\\0b"))
    for text in ("a\x00b", "a", "a\\0b", "a\\\x00b", "\udc80", "é\udc80", "a\\b"):
        _same(rules, {"category": text, "d": "2020-01-01"}, AT)


def test_long_texts_are_compared_whole() -> None:
    # durable_rules itself takes texts past 65,533 bytes that differ only at the end as equal
    long = "x" * 70_000
    rules = _pack_of(_rule("long", category=long), _rule("edge", category="y" * 1_000))
    for text in (long, long + "x", long[:-1], long[:-1] + "y", "y" * 1_000, "y" * 1_001):
        _same(rules, {"category": text, "d": "2020-01-01"}, AT)
    statuses = [
        DurableEvaluator(rules, cached=False)({"category": t, "d": None}, AT).status.value
        for t in (long, long + "x")
    ]
    assert statuses == ["waiting", "unmatched"]


def test_a_record_no_rule_handles_is_unmatched() -> None:
    # durable_rules raises MessageNotHandledException for it
    rules = _pack_of(_rule(category="order"))
    decision = DurableEvaluator(rules, cached=False)({"category": "cv"}, AT)
    assert decision.status is keepfor.Status.UNMATCHED
    _same(rules, {"category": "cv"}, AT)
    _same(rules, {}, AT)


def test_a_batch_decides_records_no_rule_handles_among_others() -> None:
    # the Host would raise for the whole batch and leave the others' actions pending
    rules = _pack_of(_rule(category="order"), _rule("flagged", flag=True))
    evaluator = DurableEvaluator(rules, cached=False)
    records = [
        {"category": "order", "d": "2020-01-01"},
        {"category": "cv"},  # no rule
        {"category": "order", "flag": True, "d": "2021-01-01"},
        {"flag": "yes"},  # unreadable
        {},
        {"category": "order", "flag": 7, "d": "2020-01-01"},
    ]
    expected = [keepfor.evaluate(rules, r, AT).to_dict(detail=True) for r in records]
    for start, end, times in ((0, 6, 1), (1, 2, 1), (1, 1, 1), (0, 6, 400)):
        batch = records[start:end] * times
        got = [d.to_dict(detail=True) for d in evaluator.decide_many(batch, AT)]
        assert got == expected[start:end] * times
        assert durable.facts_of(evaluator.ruleset) == []
    statuses = [d.status.value for d in evaluator.decide_many(records, AT)]
    assert statuses == ["due", "unmatched", "due", "unreadable", "unmatched", "unreadable"]


def test_evaluate_many_hands_durable_rules_whole_batches() -> None:
    rules = _pack_of(_rule(category="order"), _rule("quotes", category="quote"))
    records = [{"category": c, "d": date(2020, 1, 1 + k % 28)} for k in range(2_500) for c in "xy"]
    records += [{"category": "order", "d": date(2019, 1, 1)}, {"category": "quote"}]
    evaluator = DurableEvaluator(rules, cached=False)
    assert isinstance(evaluator, BatchEvaluator)
    got = list(keepfor.evaluate_many(rules, records, AT, evaluator=evaluator))
    assert [d.to_dict() for d in got] == [keepfor.evaluate(rules, r, AT).to_dict() for r in records]
    assert durable.facts_of(evaluator.ruleset) == []


def test_the_same_record_twice_is_two_facts() -> None:
    # a duplicate fact raises in durable_rules: each fact has an id of its own
    rules = _pack_of(_rule(category="order"))
    evaluator = DurableEvaluator(rules, cached=False)
    record = {"category": "order", "d": "2020-01-01"}
    decisions = {evaluator(record, AT).status for _ in range(3)}
    assert decisions == {keepfor.Status.DUE}


def test_rulesets_are_compiled_once_and_never_redefined() -> None:
    rules = _pack_of(_rule(category="order"))
    first = DurableEvaluator(rules)
    again = DurableEvaluator(_pack_of(_rule(category="order")))
    other = DurableEvaluator(_pack_of(_rule(category="quote")))
    assert first.ruleset == again.ruleset  # packs compiled alike share one ruleset
    assert other.ruleset != first.ruleset
    assert first.ruleset.startswith("keepfor-")
    for _ in range(3):  # making evaluators again never redefines a ruleset
        DurableEvaluator(rules)({"category": "order", "d": "2020-01-01"}, AT)


def test_facts_are_retracted() -> None:
    rules = _pack_of(_rule(category="order"), _rule("flagged", flag=True))
    evaluator = DurableEvaluator(rules, cached=False)
    for n in range(300):
        record = {"category": ["order", "cv"][n % 2], "flag": [True, 2, None][n % 3], "d": None}
        evaluator(record, AT)
    assert durable.facts_of(evaluator.ruleset) == []


def test_one_host_one_lock_no_threads_of_its_own() -> None:
    rules = _pack_of(_rule(category="order"), _rule("quotes", category="quote"))
    before = threading.active_count()
    evaluator = DurableEvaluator(rules, cached=False)
    assert threading.active_count() == before  # no dispatch timers behind our back
    records = [
        {"category": c, "d": date(2020 + k % 7, 1 + k % 12, 1)}
        for k in range(200)
        for c in ("order", "quote", "cv")
    ]
    expected = [keepfor.evaluate(rules, r, AT).to_dict() for r in records]
    results: dict[int, list[Any]] = {}

    def work(n: int) -> None:
        if n % 2:
            results[n] = [evaluator(r, AT).to_dict() for r in records]
        else:  # batches of facts beside single facts, all under the one lock
            results[n] = [d.to_dict() for d in evaluator.decide_many(records, AT)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[n] == expected for n in range(4))
    assert durable.facts_of(evaluator.ruleset) == []


def _many(conditions: list[dict[str, Any]]) -> RuleSet:
    return _pack_of(*(_rule(f"r{n}", **c) for n, c in enumerate(conditions)))


@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        # a 501st test would hang durable_rules' compiler once a node's 512 slots fill
        ([{"category": f"c{n}"} for n in range(501)], "501 distinct conditions"),
        ([{f"f{n}": 1} for n in range(128)], "128 condition fields"),  # 255 properties
        ([{"category": "order"}] * 300, "cannot compile"),  # 256 rules on one test
    ],
    ids=["tests", "fields", "same-conditions"],
)
def test_packs_too_large_for_durable_rules_are_one_line(
    conditions: list[dict[str, Any]], fragment: str
) -> None:
    with pytest.raises(keepfor.UsageError) as caught:
        DurableEvaluator(_many(conditions))
    assert fragment in str(caught.value)
    assert "use --evaluator python" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_packs_at_the_limits_compile_and_decide() -> None:
    rules = _many([{"category": f"c{n}"} for n in range(500)])
    for record in ({"category": "c499", "d": "2020-01-01"}, {"category": "c500"}):
        _same(rules, record, AT)
    _same(_many([{f"f{n}": 1} for n in range(127)]), {"f126": 1, "d": "2020-01-01"}, AT)
