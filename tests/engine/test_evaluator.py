"""The remembering Evaluator gives exactly what evaluate gives, record for record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor.engine import RuleSet, evaluate
from keepfor.engine.evaluate import Evaluator
from tests.differential import instants, record_lists, rule_sets


def _with_twins(records: list[dict[str, Any]], shift: int) -> list[dict[str, Any]]:
    """Each record again with its instants moved within the day: cache hits and near-misses."""
    twins = []
    for record in records:
        twin = dict(record, key=record["key"] + "-twin")
        for name, value in record.items():
            if isinstance(value, datetime):
                twin[name] = value + timedelta(minutes=shift)
        twins.append(twin)
    return records + twins


@given(rule_sets(), record_lists(), instants, st.integers(-180, 180), st.integers(1, 8))
@settings(max_examples=150, deadline=None)
def test_evaluator_equals_evaluate(
    rules: RuleSet, records: list[dict[str, Any]], at: datetime, shift: int, size: int
) -> None:
    evaluator = Evaluator(rules, size=size)  # a small cache: evictions too
    for record in _with_twins(records, shift) * 2:
        expected = evaluate(rules, record, at).to_dict(detail=True)
        assert evaluator(record, at).to_dict(detail=True) == expected, record


def test_true_and_one_are_different_cases() -> None:
    from keepfor.engine import parse_pack

    pack = parse_pack(
        {
            "pack": "p",
            "version": "1",
            "timezone": "UTC",
            "rules": [
                {
                    "id": "r",
                    "applies_to": {"flag": True},
                    "retain": {"from": "d", "for": "P0D"},
                    "then": "flag",
                }
            ],
        }
    )
    evaluator = Evaluator(pack)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert evaluator({"flag": True, "d": date(2020, 1, 1)}, at).status.value == "due"
    assert evaluator({"flag": 1, "d": date(2020, 1, 1)}, at).status.value == "unreadable"
    assert evaluator({"flag": False, "d": date(2020, 1, 1)}, at).status.value == "unmatched"


def _dated_pack(pack_id: str, zone: str) -> dict[str, Any]:
    return {
        "pack": pack_id,
        "version": "1",
        "timezone": zone,
        "rules": [
            {
                "id": f"{pack_id}-r",
                "applies_to": {"category": "a"},
                "retain": {"from": {"end_of": "month", "of": "d1"}, "for": "P1M"},
                "then": "purge",
            },
            {
                "id": f"{pack_id}-s",
                "applies_to": {"category": "a"},
                "retain": {"from": "d2", "for": "P0D", "optional": True},
                "then": "flag",
            },
        ],
    }


_TEXTS = st.sampled_from(
    ["2024-01-31T23:30:00Z", "2024-02-01", "2024-01-31 23:30", "", "31/01/2024", "x"]
)


@given(st.lists(st.fixed_dictionaries({"d1": _TEXTS, "d2": _TEXTS}), max_size=12), instants)
@settings(max_examples=100, deadline=None)
def test_date_texts_read_once_decide_as_evaluate(
    records: list[dict[str, Any]], at: datetime
) -> None:
    """A date text is read once and remembered: the same text in another field, in
    packs of other zones, empty or unreadable, decides as evaluate decides."""
    from keepfor.engine import parse_pack

    for zones in (("Europe/London",), ("Europe/London", "Pacific/Auckland")):
        rules = RuleSet(tuple(parse_pack(_dated_pack(f"p{n}", z)) for n, z in enumerate(zones)))
        evaluator = Evaluator(rules, size=4)
        for record in records * 2:
            record = {"category": "a", **record}
            expected = evaluate(rules, record, at).to_dict(detail=True)
            assert evaluator(record, at).to_dict(detail=True) == expected, record
