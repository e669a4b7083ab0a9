"""Derived fields ("three years after the customer's last invoice"): the push-down over
related rows equals the engine over the same rows read back, on every backend, with
dates as text in every form, bad values, NULLs and records with no related row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.config import load_config
from keepfor.connectors.derived import Derived
from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack
from keepfor.errors import SourceError
from tests.buckets import assert_every_record_in_one_bucket, raw_rows
from tests.connectors.deep_rules import DEEP_RULES
from tests.differential import LOCAL_ZONE, instants, rule_sets

PARENT, CHILD = "kf_diff_parent", "kf_diff_child"


def _tables(dialect: str) -> sa.MetaData:
    text = sa.Text if dialect == "postgresql" else sa.String(64)
    meta = sa.MetaData()
    sa.Table(
        PARENT,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(16), nullable=False, unique=True),
        sa.Column("category", text),
        sa.Column("flag", sa.Integer),
        sa.Column("d2", text),
        sa.Column("t1", text),
        sa.Column("l1", text),
    )
    sa.Table(
        CHILD,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.Integer, nullable=False),
        sa.Column("value", text),
    )
    return meta


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(db_url)
    meta = _tables(engine.dialect.name)
    meta.drop_all(engine)
    meta.create_all(engine)
    yield engine
    meta.drop_all(engine)
    engine.dispose()


def source(url: str, latest: bool) -> SqlTableSource:
    kinds = {"d2": ColumnKind.DATE, "t1": ColumnKind.INSTANT, "l1": ColumnKind.LOCAL}
    derived = {"d1": Derived(latest, CHILD, "value", "parent_id", on="id", kind=ColumnKind.DATE)}
    mapping = TableMapping(
        table=PARENT, key="key", zones={"l1": LOCAL_ZONE.key}, kinds=kinds, derived=derived
    )
    return SqlTableSource(url, mapping)


def load(engine: sa.Engine, parents: list[dict[str, Any]], children: list[dict[str, Any]]) -> None:
    meta = _tables(engine.dialect.name)
    untyped = {
        name: sa.table(name, *(sa.column(c.name) for c in table.columns))
        for name, table in meta.tables.items()
    }
    with engine.begin() as conn:
        for table in untyped.values():
            conn.execute(table.delete())
        if parents:
            conn.execute(untyped[PARENT].insert(), parents)
        if children:
            conn.execute(untyped[CHILD].insert(), children)


@given(rules=rule_sets(), data=st.data(), at=instants, latest=st.booleans())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_derived_field_puts_every_record_in_its_bucket(
    engine: sa.Engine,
    db_url: str,
    rules: RuleSet,
    data: st.DataObject,
    at: datetime,
    latest: bool,
) -> None:
    dialect = engine.dialect.name
    rows = data.draw(raw_rows("sqlite", max_size=12))  # every d1 as text, as SQLite holds it
    parents, children = [], []
    for row in rows:
        parents.append(
            {k: v for k, v in row.items() if k != "d1"}
            | {"flag": row["flag"] if isinstance(row["flag"], int | None) else 2}
        )
        for _ in range(data.draw(st.integers(0, 3))):
            other = data.draw(raw_rows("sqlite", max_size=1).filter(bool))[0]["d1"]
            value = data.draw(st.sampled_from([row["d1"], other]))
            children.append({"id": len(children) + 1, "parent_id": row["id"], "value": value})
    load(engine, parents, children)
    with source(db_url, latest) as src:
        assert_every_record_in_one_bucket(src, rules, at, len(parents))
    assert dialect  # the fixture's backend ran


def test_conditions_near_the_depth_sqlites_parser_takes_are_counted(
    engine: sa.Engine, db_url: str
) -> None:
    """The rule set hypothesis found whose ``retained`` condition, counted with the
    others in one statement, overflowed SQLite's parser as the sum of a CASE."""
    parent = {"id": 1, "key": "k0000", "category": None, "flag": None, "d2": "2022-09-21",
              "t1": "2012-01-10T07:31:31+14:00", "l1": ""}  # fmt: skip
    load(engine, [parent], [])
    at = datetime(2029, 8, 21, 9, 54, 27, 1274, tzinfo=UTC)
    with source(db_url, latest=True) as src:
        assert_every_record_in_one_bucket(src, DEEP_RULES, at, 1)


def test_three_years_after_the_customers_last_invoice(engine: sa.Engine, db_url: str) -> None:
    parents = [
        {
            "id": i,
            "key": f"c{i}",
            "category": "customer",
            "flag": None,
            "d2": None,
            "t1": None,
            "l1": None,
        }
        for i in range(1, 6)
    ]
    children = [
        {"id": 1, "parent_id": 1, "value": "2019-01-01"},
        {"id": 2, "parent_id": 1, "value": "2024-01-01"},  # c1: last 2024: retained
        {"id": 3, "parent_id": 2, "value": "2018-05-05"},  # c2: last 2018: due
        {"id": 4, "parent_id": 4, "value": None},  # c4: an invoice with no date: waiting
        {"id": 5, "parent_id": 5, "value": "31/12/2015"},  # c5: unreadable
        {"id": 6, "parent_id": 5, "value": "2016-01-01"},
    ]  # c3: no invoice: waiting
    load(engine, parents, children)
    pack = parse_pack(
        {
            "pack": "p",
            "version": "1",
            "timezone": "Europe/London",
            "rules": [
                {
                    "id": "customers",
                    "applies_to": {"category": "customer"},
                    "retain": {"from": "d1", "for": "P3Y"},
                    "then": "anonymise",
                }
            ],
        }
    )
    with source(db_url, latest=True) as src:
        buckets = assert_every_record_in_one_bucket(src, RuleSet((pack,)), date(2026, 1, 1), 5)
    assert buckets == {
        "c1": "retained",
        "c2": "due",
        "c3": "waiting",
        "c4": "waiting",
        "c5": "unreadable",
    }


def test_a_derived_field_from_keepfor_toml(tmp_path: Path) -> None:
    path = tmp_path / "keepfor.toml"
    path.write_text(
        '[sources.customers]\nurl = "sqlite:///shop.db"\ntable = "customers"\n'
        "[sources.customers.derived]\n"
        'last_invoice_at = {max = "invoices.invoiced_at", via = "invoices.customer_id", '
        'on = "id", kind = "date", timezone = "Europe/London"}\n',
        encoding="utf-8",
    )
    (config,) = load_config(path)
    assert config.mapping is not None
    assert config.mapping.derived == {
        "last_invoice_at": Derived(
            True, "invoices", "invoiced_at", "customer_id", "id", ColumnKind.DATE, "Europe/London"
        )
    }


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ('x = {max = "invoices.at"}', "'via' must be TABLE.COLUMN"),
        ('x = {max = "invoices.at", min = "invoices.at", via = "invoices.c"}', "one of 'max'"),
        ('x = {via = "invoices.c"}', "one of 'max' or 'min'"),
        ('x = {max = "at", via = "invoices.c"}', "'max' must be TABLE.COLUMN"),
        ('x = {max = "invoices.at", via = "orders.c"}', "'via' must be a column of invoices"),
        ('x = {max = "invoices.at", via = "invoices.c", kind = "day"}', "kind must be one of"),
        ('x = {max = "invoices.at", via = "invoices.c", timezone = "Mars"}', "unknown time zone"),
        ('x = {max = "invoices.at", via = "invoices.c", sum = 1}', "unknown key 'sum'"),
        ('x = "invoices.at"', "must be a table such as"),
    ],
)
def test_a_bad_derived_entry_is_one_line(tmp_path: Path, entry: str, fragment: str) -> None:
    path = tmp_path / "keepfor.toml"
    path.write_text(
        '[sources.s]\nurl = "sqlite:///x.db"\ntable = "t"\n[sources.s.derived]\n' + entry + "\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match=r"derived\.x") as caught:
        load_config(path)
    assert fragment in str(caught.value)


def test_a_missing_related_table_or_column_is_named(engine: sa.Engine, db_url: str) -> None:
    pack = parse_pack(
        {
            "pack": "p",
            "version": "1",
            "timezone": "UTC",
            "rules": [
                {
                    "id": "r",
                    "applies_to": {"category": "customer"},
                    "retain": {"from": "last", "for": "P3Y"},
                    "then": "purge",
                }
            ],
        }
    )
    for derived, fragment in (
        (Derived(True, "nope", "value", "parent_id"), "no such table 'nope'"),
        (Derived(True, CHILD, "valeu", "parent_id"), "has no column 'valeu' (did you mean"),
    ):
        mapping = TableMapping(table=PARENT, key="key", derived={"last": derived})
        with (
            SqlTableSource(db_url, mapping) as src,
            pytest.raises(SourceError, match=re.escape(fragment)),
        ):
            src.check(RuleSet((pack,)))
