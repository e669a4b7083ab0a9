"""``evaluate_many`` and ``evaluator_named``: the Python evaluator on a stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import keepfor
from keepfor.engine.evaluate import Evaluator
from keepfor.errors import UsageError
from keepfor.evaluators import EVALUATORS, evaluate_many, evaluator_named

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules() -> keepfor.RuleSet:
    return keepfor.load_rules(ROOT / "bench" / "pack.yaml")


def _records() -> list[dict[str, Any]]:
    return [
        {"category": "order", "placed_at": date(2019, 5, 1)},
        {"category": "order", "placed_at": "2021-05-01"},
        {"category": "enquiry", "resolved_at": None},
        {"category": "quote", "quoted_at": date(2025, 1, 1), "accepted": False},
        {"category": "quote", "quoted_at": date(2025, 1, 1), "accepted": "yes"},
        {"category": "cv", "received_at": "31/12/2015"},
        {"category": "other"},
    ]


def test_evaluate_many_is_evaluate_record_by_record(rules: keepfor.RuleSet) -> None:
    records = _records() * 3
    got = [d.to_dict(detail=True) for d in keepfor.evaluate_many(rules, records, AT)]
    assert got == [keepfor.evaluate(rules, r, AT).to_dict(detail=True) for r in records]
    statuses = [d.status.value for d in evaluate_many(rules, _records(), AT)]
    expected = ["due", "retained", "waiting", "due", "unreadable", "unreadable", "unmatched"]
    assert statuses == expected


def test_evaluate_many_streams(rules: keepfor.RuleSet) -> None:
    read: list[int] = []

    def endless() -> Iterator[dict[str, Any]]:
        n = 0
        while True:
            read.append(n)
            n += 1
            yield {"category": "order", "placed_at": date(2019, 5, 1)}

    decisions = evaluate_many(rules, endless(), AT)
    assert next(decisions).status is keepfor.Status.DUE
    assert read == [0]  # one record read for one decision: nothing is gathered


def test_evaluate_many_refuses_a_bad_instant_at_once(rules: keepfor.RuleSet) -> None:
    with pytest.raises(UsageError, match="no UTC offset"):
        evaluate_many(rules, iter(()), datetime(2026, 11, 22))


def test_evaluate_many_shares_one_decision_per_case(rules: keepfor.RuleSet) -> None:
    records = [{"category": "order", "placed_at": date(2019, 5, 1)}] * 3
    first, *rest = evaluate_many(rules, records, AT)
    assert all(d is first for d in rest)


def test_evaluator_named(rules: keepfor.RuleSet) -> None:
    assert EVALUATORS == ("python", "durable_rules")
    assert isinstance(evaluator_named("python", rules), Evaluator)
    with pytest.raises(UsageError) as caught:
        evaluator_named("drools", rules)
    message = str(caught.value)
    assert message == "no evaluator 'drools': choose 'python' or 'durable_rules'"


def test_no_durable_rules_is_one_line(
    rules: keepfor.RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "durable", None)
    monkeypatch.setitem(__import__("sys").modules, "durable.engine", None)
    with pytest.raises(UsageError) as caught:
        evaluator_named("durable_rules", rules)
    message = str(caught.value)
    assert "\n" not in message
    assert "3.13" in message
    assert "pip install 'keepfor[durable]'" in message
