"""Entries computed by PostgreSQL in the statement that acts equal those Python computes:
pseudonyms, entry hashes, batch digests; and they verify."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.audit import append, batch_digest, entry_hash, export, pseudonym, verify
from keepfor.audit.insql import append_acted, pseudonym_sql
from keepfor.audit.table import GENESIS, audit, batches
from tests.audit.conftest import AT, KEY, pending

LONG_KEY = b"k" * 100
"""Longer than SHA-256's block: HMAC hashes such a key first."""


@pytest.fixture
def pg(engine: sa.Engine) -> sa.Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the audit is computed in SQL on PostgreSQL only")
    return engine


@pytest.fixture
def things(pg: sa.Engine) -> Iterator[sa.Table]:
    """A table of records with text keys, to be deleted and audited."""
    meta = sa.MetaData()
    table = sa.Table("kf_insql_things", meta, sa.Column("code", sa.String(40), primary_key=True))
    meta.create_all(pg)
    try:
        yield table
    finally:
        meta.drop_all(pg)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")))
def test_the_databases_pseudonym_is_pythons(pg: sa.Engine, text: str) -> None:
    for key in (KEY, LONG_KEY):
        expression = pseudonym_sql(key, "orders", sa.literal(text, sa.String))
        with pg.connect() as conn:
            assert conn.execute(sa.select(expression)).scalar_one() == pseudonym(
                key, "orders", text
            )


def _delete(table: sa.Table, codes: list[str]) -> sa.CTE:
    column = table.c.code
    return (
        sa.delete(table)
        .where(column.in_(codes))
        .returning(column.label("key"), column.label("key_text"))
        .cte("d")
    )


def test_a_batch_written_in_sql_is_the_batch_python_would_write(
    pg: sa.Engine, things: sa.Table
) -> None:
    codes = ["ORD-1", "ORD-2", "ordre-é", "注文-3", "  spaced  "]
    with pg.begin() as conn:
        conn.execute(things.insert(), [{"code": c} for c in [*codes, "KEEP-1"]])
        before = append(conn, pending(2))  # the trail already holds a batch
    template = pending(1, batch="b2")[0]
    with pg.begin() as conn:
        appended, done = append_acted(conn, template, _delete(things, [*codes, "GONE"]), KEY)
    assert sorted(done) == sorted(codes)
    assert (appended.first, appended.last) == (3, 7)
    with pg.connect() as conn:
        entries = list(export(conn))
        left = conn.execute(sa.select(things.c.code)).scalars().all()
        row = conn.execute(sa.select(batches).where(batches.c.first_sequence == 3)).one()
        result = verify(conn)
    assert left == ["KEEP-1"]
    assert entries[:2] == before
    mine = entries[2:]
    assert sorted(e.record for e in mine) == sorted(pseudonym(KEY, "orders", c) for c in codes)
    for entry in mine:
        assert entry.hash == entry_hash(entry.sequence, entry)
        assert (entry.time, entry.batch_id, entry.rule_id) == (AT, "b2", template.rule_id)
    previous = batch_digest(GENESIS, 1, 2, [e.hash for e in before])
    assert row.previous == previous
    assert row.digest == appended.digest == batch_digest(previous, 3, 7, [e.hash for e in mine])
    assert result.ok, result
    assert result.entries == 7


def test_a_statement_that_deletes_nothing_writes_no_batch(pg: sa.Engine, things: sa.Table) -> None:
    with pg.begin() as conn:
        appended, done = append_acted(conn, pending(1)[0], _delete(things, ["NONE"]), KEY)
    assert done == []
    assert appended.count == 0
    with pg.connect() as conn:
        counts: list[Any] = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (audit, batches)
        ]
        result = verify(conn)
    assert counts == [0, 0]
    assert result.ok, result


def test_a_rolled_back_batch_leaves_records_and_trail_as_they_were(
    pg: sa.Engine, things: sa.Table
) -> None:
    with pg.begin() as conn:
        conn.execute(things.insert(), [{"code": "A"}, {"code": "B"}])
    with pg.connect() as conn:
        transaction = conn.begin()
        _, done = append_acted(conn, pending(1)[0], _delete(things, ["A", "B"]), KEY)
        transaction.rollback()  # the batch fails after its statement
    assert sorted(done) == ["A", "B"]
    with pg.connect() as conn:
        assert sorted(conn.execute(sa.select(things.c.code)).scalars()) == ["A", "B"]
        assert list(export(conn)) == []
