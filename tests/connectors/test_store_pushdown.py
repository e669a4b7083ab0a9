"""keepfor's own store selects exactly what the Python evaluator calls due."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from keepfor.abc import Keyed
from keepfor.connectors.store import StoreSource
from keepfor.engine import RuleSet, Status, evaluate
from keepfor.engine.cutoffs import (
    All,
    Any_,
    Not,
    due_predicate,
    matched_predicate,
    waiting_predicate,
)
from keepfor.store import upgrade
from keepfor.store.models import Record, RecordField
from tests.differential import instants, record_lists, rule_sets

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[StoreSource]:
    upgrade(db_url)
    source = StoreSource(db_url)
    yield source
    source.close()


def as_stored(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the store gives it back: a null or empty field is absent, a list or
    an object is kept as its JSON text, the category is text and required."""
    out = {
        k: json.dumps(v) if isinstance(v, (list, dict)) else v
        for k, v in record.items()
        if v is not None and v != ""
    }
    out["category"] = str(out.get("category", "none"))
    out["customer"] = None
    return out


def _field(record_id: int, name: str, value: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"record_id": record_id, "name": name}
    row |= dict.fromkeys(("value_text", "value_number", "value_bool", "value_date"))
    row["value_instant"] = None
    if isinstance(value, bool):
        row["value_bool"] = value
    elif isinstance(value, datetime):
        row["value_instant"] = value
    elif isinstance(value, date):
        row["value_date"] = value
    elif isinstance(value, (int, float)):
        row["value_number"] = value
    else:
        row["value_text"] = value
    return row


def load(store: StoreSource, records: list[dict[str, Any]]) -> None:
    records_table = Record.__table__  # type: ignore[attr-defined]
    fields_table = RecordField.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(fields_table.delete())
        conn.execute(records_table.delete())
        rows, fields = [], []
        for i, record in enumerate(records, start=1):
            rows.append(
                {
                    "id": i,
                    "key": record["key"],
                    "customer_key": None,
                    "category": record["category"],
                    "imported_at": NOW,
                }
            )
            for name, value in record.items():
                if name not in ("key", "category", "customer"):
                    fields.append(_field(i, name, value))
        if rows:
            conn.execute(records_table.insert(), rows)
        if fields:
            conn.execute(fields_table.insert(), fields)


def _keys(rows: Iterator[Keyed]) -> set[str]:
    return {key for key, _ in rows}


@given(rules=rule_sets(), records=record_lists(), at=instants)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_store_selects_exactly_the_due_records(
    store: StoreSource, rules: RuleSet, records: list[dict[str, Any]], at: datetime
) -> None:
    stored = [as_stored(r) for r in records]
    load(store, stored)
    selected = list(store.select(due_predicate(rules, at), rules.fields()))
    expected = {r["key"] for r in stored if evaluate(rules, r, at).status is Status.DUE}
    assert _keys(iter(selected)) == expected
    for _, record in selected:  # what comes back evaluates as what went in
        assert evaluate(rules, record, at).status is Status.DUE
    waiting = {r["key"] for r in stored if evaluate(rules, r, at).status is Status.WAITING}
    any_waiting = Any_(tuple(waiting_predicate(rule) for _, rule in rules))
    assert store.count({"w": any_waiting})["w"] == len(waiting)
    unmatched = {r["key"] for r in stored if evaluate(rules, r, at).status is Status.UNMATCHED}
    assert store.count({"u": Not(matched_predicate(rules))})["u"] == len(unmatched)


def test_store_reads_back_dates_instants_and_flags(store: StoreSource) -> None:
    record = {
        "key": "r1",
        "category": "a",
        "d1": date(2020, 2, 29),
        "t1": datetime(2019, 3, 31, 23, 30, tzinfo=UTC),
        "flag": False,
        "note": "x",
        "n": 3,
    }
    load(store, [record])
    ((key, back),) = store.select(All(()), ["d1", "t1", "flag", "note", "n", "missing"])
    assert key == "r1"
    # the key is beside the record, not one of its fields
    assert back == {**{k: v for k, v in record.items() if k != "key"}, "customer": None}
    assert isinstance(back["n"], int)
