"""The law, on every backend: every record of a source is in exactly one bucket (due,
retained, waiting, held, unmatched, unreadable), the database's counts add up to its
row count, and each bucket is what the engine says of each record read back. With
values as applications really store them: dates as text in every form, texts that are
not dates, empty strings, booleans as integers, other integers and strings where a
boolean is needed, PostgreSQL's infinity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.sql import SqlTableSource
from keepfor.connectors.store import StoreSource
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import All, due_predicate, readable_predicate
from keepfor.store import upgrade
from tests.buckets import assert_every_record_in_one_bucket, load_raw, raw_rows, raw_source
from tests.connectors.test_store_pushdown import as_stored, load
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
