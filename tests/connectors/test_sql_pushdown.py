"""The database selects exactly what the Python evaluator calls due, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from keepfor.connectors.pushdown import counts_query
from keepfor.connectors.sql import SqlTableSource
from keepfor.engine import RuleSet, Status, evaluate
from keepfor.engine.cutoffs import due_predicate
from tests.differential import instants, load_records, record_lists, rule_sets, table_source


def _due_keys(rules: RuleSet, records: list[dict[str, Any]], at: datetime | date) -> set[str]:
    return {r["key"] for r in records if evaluate(rules, r, at).status is Status.DUE}


@pytest.fixture
def source(db_url: str) -> Iterator[SqlTableSource]:
    with table_source(db_url) as src:
        yield src


@given(rules=rule_sets(), records=record_lists(), at=instants)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_push_down_selects_exactly_the_due_records(
    source: SqlTableSource, rules: RuleSet, records: list[dict[str, Any]], at: datetime
) -> None:
    load_records(source, records)
    source.check(rules)
    selected = list(source.select(due_predicate(rules, at), rules.fields()))
    assert {key for key, _ in selected} == _due_keys(rules, records, at)
    # what comes back out of the database evaluates exactly as what went in
    for _, record in selected:
        assert evaluate(rules, record, at).status is Status.DUE


def test_push_down_on_a_plain_date(source: SqlTableSource) -> None:
    """``--at 2026-11-22``: the date itself in every zone."""
    from keepfor.engine import parse_pack

    rules = RuleSet(
        (
            parse_pack(
                {
                    "pack": "p",
                    "version": "1",
                    "timezone": "Europe/London",
                    "rules": [
                        {
                            "id": "r",
                            "applies_to": {"category": "a"},
                            "retain": {"from": "t1", "for": "P1Y"},
                            "then": "purge",
                        }
                    ],
                }
            ),
        )
    )
    # 2019-03-31T23:30Z is 2019-04-01 in London: kept through 2020-04-01, due 2020-04-02
    base = {"category": "a", "flag": False, "d1": None, "d2": None, "l1": None}
    records = [
        {**base, "key": "late", "t1": datetime(2019, 3, 31, 23, 30, tzinfo=UTC)},
        {**base, "key": "early", "t1": datetime(2019, 3, 31, 22, 30, tzinfo=UTC)},
    ]
    load_records(source, records)
    for day, expected in [
        (date(2020, 4, 1), {"early"}),
        (date(2020, 4, 2), {"early", "late"}),
    ]:
        selected = {key for key, _ in source.select(due_predicate(rules, day), rules.fields())}
        assert selected == expected == _due_keys(rules, records, day)
    # 2019-03-31T22:30Z is 23:30 on 31 March in London: kept through 2020-03-31
    for at, expected in [
        (date(2020, 3, 31), set()),
        (date(2020, 4, 1), {"early"}),
        (datetime(2020, 3, 31, 22, 59, 59, tzinfo=UTC), set()),  # 23:59:59 BST on 31 March
        (datetime(2020, 3, 31, 23, 0, tzinfo=UTC), {"early"}),  # midnight BST, 1 April
    ]:
        selected = {key for key, _ in source.select(due_predicate(rules, at), ["t1"])}
        assert selected == expected == _due_keys(rules, records, at)


class _Sqlite:
    """A SQLite module of a given version, for the dialect to be asked of."""

    def __init__(self, version: tuple[int, int, int]) -> None:
        self.sqlite_version_info = version


@pytest.mark.parametrize(
    ("url", "version", "filtered"),
    [
        ("sqlite://", (3, 30, 0), True),
        ("sqlite://", (3, 29, 0), False),
        ("postgresql+psycopg://", None, True),
        ("mysql+pymysql://", None, False),
    ],
)
def test_counts_filter_where_the_database_takes_it(
    url: str, version: tuple[int, int, int] | None, filtered: bool
) -> None:
    """``count(*) FILTER`` (nested less deep) on PostgreSQL and SQLite from 3.30; the
    sum of a CASE elsewhere."""
    dialect = sa.create_engine(url).dialect
    if version is not None:
        dialect.dbapi = _Sqlite(version)  # type: ignore[assignment]
    table = sa.table("t", sa.column("a"))
    query = counts_query([table.c.a > 1, table.c.a < 0], table, dialect)
    sql = str(query.compile(dialect=dialect))
    assert sql.count("FILTER (WHERE") == (2 if filtered else 0), sql
    assert sql.count("CASE WHEN") == (0 if filtered else 2), sql
