"""The law, on every backend: every record of a source is in exactly one bucket (due,
retained, waiting, held, unmatched, unreadable), the database's counts add up to its
row count, and each bucket is what the engine says of each record read back (held where
an active hold covers it, by its key or its customer, unless it is unreadable). With
values as applications really store them: dates as text in every form, texts that are
not dates, empty strings, booleans as integers, other integers and strings where a
boolean is needed, PostgreSQL's infinity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor import holds
from keepfor.connectors.sql import SqlTableSource
from keepfor.connectors.store import StoreSource
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import All, due_predicate, held_predicate, readable_predicate
from keepfor.holds.table import holds as holds_table
from keepfor.store import upgrade
from keepfor.store.models import Record as StoredRecord
from tests.buckets import assert_every_record_in_one_bucket, load_raw, raw_rows, raw_source
from tests.connectors.test_store_pushdown import NOW, as_stored, load
from tests.differential import category_rules, instants, record_lists, rule_sets

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def raw(db_url: str) -> Iterator[SqlTableSource]:
    with raw_source(db_url) as src:
        yield src


@pytest.fixture
def store(db_url: str) -> Iterator[StoreSource]:
    upgrade(db_url)
    source = StoreSource(db_url)
    yield source
    source.close()


@given(rules=rule_sets(), data=st.data(), at=instants)
@SETTINGS
def test_every_stored_record_is_in_exactly_one_bucket(
    raw: SqlTableSource, rules: RuleSet, data: st.DataObject, at: datetime
) -> None:
    rows = data.draw(raw_rows(raw.dialect))
    load_raw(raw, rows)
    assert_every_record_in_one_bucket(raw, rules, at, len(rows))


@given(data=st.data(), at=instants)
@SETTINGS
def test_rules_of_many_categories_switch_on_the_category_in_sql(
    raw: SqlTableSource, data: st.DataObject, at: datetime
) -> None:
    """Three categories and a rule for any category: the predicates switch on the
    category (CASE, or on SQLite an OR of guarded cases), and the law still holds."""
    rows = data.draw(raw_rows(raw.dialect))
    load_raw(raw, rows)
    assert_every_record_in_one_bucket(raw, category_rules(), at, len(rows))


@given(rules=rule_sets(), records=record_lists(bad=True), at=instants)
@SETTINGS
def test_every_record_of_the_store_is_in_exactly_one_bucket(
    store: StoreSource, rules: RuleSet, records: list[dict[str, Any]], at: datetime
) -> None:
    stored = [as_stored(r) for r in records]
    load(store, stored)
    assert_every_record_in_one_bucket(store, rules, at, len(stored))


@given(rules=rule_sets(), data=st.data(), at=instants, days=st.integers(1, 3000))
@SETTINGS
def test_due_only_grows_with_time(
    raw: SqlTableSource, rules: RuleSet, data: st.DataObject, at: datetime, days: int
) -> None:
    load_raw(raw, data.draw(raw_rows(raw.dialect)))
    raw.check(rules)
    readable = readable_predicate(rules)

    def due_at(moment: datetime) -> set[str]:
        predicate = All((readable, due_predicate(rules, moment)))
        return {str(key) for key, _ in raw.select(predicate, rules.fields())}

    assert due_at(at) <= due_at(at + timedelta(days=days))


# -- the law with holds ------------------------------------------------------------------

HOLD_KINDS = ("open", "last_day", "released", "expired", "other_source")
"""An open hold, one on its last day (both hold), a released one, one whose until has
passed, and one of another source (none of these three holds)."""


@st.composite
def hold_plans(draw: st.DrawFn, values: list[str]) -> list[tuple[str, str]]:
    """Some of ``values`` (keys, or customers), each with a kind of hold."""
    if not values:
        return []
    chosen = draw(st.lists(st.sampled_from(values), unique=True, max_size=len(values)))
    return [(value, draw(st.sampled_from(HOLD_KINDS))) for value in chosen]


def place_holds(
    source: SqlTableSource | StoreSource,
    plan: list[tuple[str, str]],
    today: date,
    *,
    customers: bool = False,
) -> set[str]:
    """Replace the source's holds by the plan's; the values actively held on ``today``."""
    with source.engine.begin() as conn:
        holds.ensure(conn)
    active: set[str] = set()
    with source.engine.begin() as conn:
        conn.execute(holds_table.delete())
        for value, kind in plan:
            until = {"last_day": today, "expired": today - timedelta(days=1)}.get(kind)
            made = holds.add(
                conn,
                "elsewhere" if kind == "other_source" else source.name,
                record_key=None if customers else value,
                customer=value if customers else None,
                reason="test",
                by="law",
                at=NOW,
                until=until,
            )
            if kind == "released":
                holds.release(conn, made.source, made.id, reason="done", by="law", at=NOW)
            if kind in ("open", "last_day"):
                active.add(value)
    return active


@given(rules=rule_sets(), data=st.data(), at=instants)
@SETTINGS
def test_with_holds_every_record_is_in_exactly_one_bucket(
    raw: SqlTableSource, rules: RuleSet, data: st.DataObject, at: datetime
) -> None:
    """Held records are in ``held`` (unreadable ones stay unreadable), and in no other."""
    rows = data.draw(raw_rows(raw.dialect))
    load_raw(raw, rows)
    plan = data.draw(hold_plans([row["key"] for row in rows] + ["k9999"]))
    held = place_holds(raw, plan, held_predicate(rules, at).today)
    assert_every_record_in_one_bucket(raw, rules, at, len(rows), held)


@given(rules=rule_sets(), records=record_lists(bad=True), data=st.data(), at=instants)
@SETTINGS
def test_with_holds_on_customers_every_stored_record_is_in_one_bucket(
    store: StoreSource,
    rules: RuleSet,
    records: list[dict[str, Any]],
    data: st.DataObject,
    at: datetime,
) -> None:
    """A customer's hold holds every record of the customer, and no other."""
    stored = [as_stored(r) for r in records]
    load(store, stored)
    customers = {r["key"]: data.draw(st.sampled_from(["C1", "C2", "c1", None])) for r in stored}
    records_table = StoredRecord.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        for key, customer in customers.items():
            conn.execute(
                records_table.update()
                .where(records_table.c.key == key)
                .values(customer_key=customer)
            )
    plan = data.draw(hold_plans(["C1", "C2"]))
    on = place_holds(store, plan, held_predicate(rules, at).today, customers=True)
    held = {key for key, customer in customers.items() if customer in on}
    assert_every_record_in_one_bucket(store, rules, at, len(stored), held)
