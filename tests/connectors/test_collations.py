"""Texts compared as the engine compares them, byte for byte, whatever the column's
collation: SQLite's ``NOCASE`` and ``RTRIM``, MariaDB's default case- and
trailing-space-insensitive collations. ``'Order'`` and ``'order '`` are not the rules'
``order``: in the predicates, in the groups the database makes for the counts, and in
the rows a report lists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack
from keepfor.report import build_report
from keepfor.report.counts import bucket_predicates
from tests.buckets import assert_every_record_in_one_bucket
from tests.report import Collect

TABLE = "kf_collations"
AT = datetime(2026, 11, 22, tzinfo=UTC)
RULES = RuleSet(
    (
        parse_pack(
            {
                "pack": "p",
                "version": "1",
                "timezone": "UTC",
                "rules": [
                    {
                        "id": "orders",
                        "applies_to": {"category": "order"},
                        "where": {"region": "eu"},
                        "retain": {"from": "placed_at", "for": "P6Y"},
                        "then": "purge",
                    }
                ],
            }
        ),
    )
)
ROWS = [
    ("exact", "order", "eu"),
    ("upper", "ORDER", "eu"),
    ("title", "Order", "eu"),
    ("spaced", "order ", "eu"),
    ("region", "order", "EU"),
    ("region2", "order", "eu "),
]


def _declared(dialect: str, collation: str | None) -> str:
    if dialect == "sqlite":
        return f"TEXT COLLATE {collation}" if collation else "TEXT"
    if dialect == "postgresql":
        return "TEXT"
    return "VARCHAR(16)"  # the database's default collation: case-insensitive, PAD SPACE


@pytest.fixture(params=["NOCASE", "RTRIM"])
def source(db_url: str, request: pytest.FixtureRequest) -> Iterator[SqlTableSource]:
    engine = sa.create_engine(db_url)
    dialect = engine.dialect.name
    if dialect != "sqlite" and request.param != "NOCASE":
        pytest.skip("collations named so are SQLite's")
    text = _declared(dialect, request.param)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {TABLE} (k VARCHAR(16) PRIMARY KEY, category {text}, "
                f"region {text}, placed_at DATE)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} (k, category, region, placed_at) "
                "VALUES (:k, :c, :r, '2015-01-01')"
            ),
            [{"k": k, "c": c, "r": r} for k, c, r in ROWS],
        )
    engine.dispose()
    src = SqlTableSource(db_url, TableMapping(table=TABLE, key="k"))
    yield src
    src.close()


def test_a_collation_never_makes_a_text_equal_to_the_rules(source: SqlTableSource) -> None:
    buckets = assert_every_record_in_one_bucket(source, RULES, AT, len(ROWS))
    assert buckets == {key: "due" if key == "exact" else "unmatched" for key, _, _ in ROWS}
    listed = Collect()
    report = build_report(RULES, [source], AT, listed)
    assert [row.key for row in listed.rows] == ["exact"]
    counts = report.counts[source.name]
    assert (counts.due, counts.unmatched) == (1, len(ROWS) - 1)


def test_a_sweep_selects_only_what_the_rules_say(source: SqlTableSource) -> None:
    due = bucket_predicates(RULES, AT)["due"]
    assert [source.key.text(key) for key, _ in source.select(due, RULES.fields())] == ["exact"]
