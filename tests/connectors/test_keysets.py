"""A batch's keys as one operand (keepfor.connectors.keysets): the same records as an
``IN`` list of the same keys, for every key type, collation and value a key column can
hold; and a batch larger than a statement can bind (SQLite: 32,766 parameters)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import ActionBatch, Outcome
from keepfor.actions.settings import ActionSettings
from keepfor.actions.trail import Trail
from keepfor.audit import verify
from keepfor.clock import FixedClock
from keepfor.connectors.keysets import among
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.engine import Action, RuleSet, parse_pack
from keepfor.report.counts import bucket_predicates

TABLE = "kf_keysets"

# (column type, stored keys, keys asked for: present, absent, and near misses)
KINDS: dict[str, tuple[sa.types.TypeEngine[Any], list[Any], list[Any]]] = {
    "integer": (sa.BigInteger(), [1, 2, 3, 2**40 + 5], [2, 3, 4, 2**40 + 5, -1]),
    "text": (
        sa.String(20),
        ["ORD-1", "ord-2", "Ó-3", "x y", "", "a'b"],
        ["ORD-1", "ORD-2", "ó-3", "x y", "", "a'b", "ORD-1 "],
    ),
    "decimal": (
        sa.Numeric(10, 2),
        [Decimal("1.10"), Decimal("2.00")],
        [Decimal("1.1"), Decimal("2"), Decimal("3.00")],
    ),
    "date": (
        sa.Date(),
        [date(2024, 2, 29), date(2024, 3, 1)],
        [date(2024, 2, 29), date(2023, 3, 1)],
    ),
    "uuid": (sa.Uuid(), [uuid.UUID(int=7), uuid.UUID(int=8)], [uuid.UUID(int=7), uuid.UUID(int=9)]),
}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    made = sa.create_engine(db_url)
    yield made
    made.dispose()


def _table(engine: sa.Engine, kind: sa.types.TypeEngine[Any], stored: list[Any]) -> sa.Table:
    table = sa.Table(TABLE, sa.MetaData(), sa.Column("k", kind, primary_key=True))
    table.drop(engine, checkfirst=True)
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"k": key} for key in stored])
    return table


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_operand_finds_what_an_in_list_finds(engine: sa.Engine, kind: str) -> None:
    column_type, stored, asked = KINDS[kind]
    table = _table(engine, column_type, stored)
    with engine.begin() as conn:
        listed = set(conn.execute(sa.select(table.c.k).where(table.c.k.in_(asked))).scalars())
        found = set(
            conn.execute(sa.select(table.c.k).where(among(conn, table.c.k, asked))).scalars()
        )
        none = list(conn.execute(sa.select(table.c.k).where(among(conn, table.c.k, []))).scalars())
    assert found == listed
    assert found  # the table holds some of the keys asked for
    assert none == []


def test_sqlite_compares_by_the_key_column_s_affinity_and_collation(tmp_path: Any) -> None:
    """SQLite keeps any value in any column: a text key compares as the column's
    collation says, an integer key column takes '2' for 2; as an ``IN`` list would."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE n (k TEXT COLLATE NOCASE PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO n VALUES ('Ab'), ('cd')")
            conn.exec_driver_sql("CREATE TABLE i (k INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO i VALUES (2), (3)")
        meta = sa.MetaData()
        n, i = (sa.Table(name, meta, autoload_with=engine) for name in ("n", "i"))
        with engine.begin() as conn:
            for table, asked in ((n, ["ab", "CD", "x"]), (i, ["2", 3.0, "x"])):
                listed = set(conn.execute(sa.select(table.c.k).where(table.c.k.in_(asked))))
                found = set(conn.execute(sa.select(table.c.k).where(among(conn, table.c.k, asked))))
                assert found == listed
                assert len(found) == 2
    finally:
        engine.dispose()


PACK = RuleSet(
    (
        parse_pack(
            {
                "pack": "p",
                "timezone": "UTC",
                "version": "1",
                "rules": [
                    {
                        "id": "old",
                        "applies_to": {"category": "order"},
                        "retain": {"from": "placed_at", "for": "P1Y"},
                        "then": "purge",
                    }
                ],
            }
        ),
    )
)
AT = date(2026, 11, 22)


def test_a_batch_larger_than_a_statement_binds_is_one_transaction(db_url: str) -> None:
    """40,000 keys in one batch (SQLite binds at most 32,766 parameters in a statement):
    every record purged, each with one audit entry, in one batch of the trail."""
    if db_url.startswith("mysql") or db_url.startswith("mariadb"):
        pytest.skip("MariaDB binds each key: its batches are at most 30,000")
    n = 40_000
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    table = sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("placed_at", sa.Date),
        sa.Column("category", sa.String(10)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [{"id": i, "placed_at": date(2020, 1, 1), "category": "order"} for i in range(n)],
        )
    engine.dispose()
    source = SqlTableSource(db_url, TableMapping(table=TABLE))
    trail = Trail(b"k" * 32, PACK, FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)))
    try:
        source.open()
        source.check(PACK)
        with source.engine.begin() as conn:
            Trail.ensure(conn)
        target = SqlTableTarget(source, ActionSettings(max_disposal_share=1.0), trail)
        assert target.batch_size[1] >= n
        due = bucket_predicates(PACK, AT)["due"]
        keys = tuple(range(n - 1, -1, -1))
        result = target.apply(ActionBatch(source.name, "old", "p", Action.PURGE, keys, due), AT)
        with source.engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            entries = conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar_one()
            verified = verify(conn)
    finally:
        source.close()
    assert result.count(Outcome.DONE) == n
    assert (left, entries) == (0, n)
    assert verified.ok
