"""Holds kept in the database of their records, on SQLite, PostgreSQL and MariaDB: added,
listed, released, and found for one record by its key or its customer; the push-down's
key text equals :meth:`RecordKey.text` for integer and text keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor import holds
from keepfor.abc import RecordKey
from keepfor.errors import UsageError
from keepfor.holds.listing import ActiveHolds
from keepfor.holds.sql import as_text, held_condition
from keepfor.holds.table import holds as holds_table

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    made = sa.create_engine(db_url)
    with made.begin() as conn:
        holds.ensure(conn)
        holds.ensure(conn)  # a second time: nothing to do
    yield made
    made.dispose()


def _holding(conn: sa.Connection, key: str, customer: str | None, today: date) -> list[int]:
    """The ids of the holds that hold a record of ``orders`` with this key and customer."""
    return [
        h.id
        for h in ActiveHolds.of(holds.active_holds(conn, "orders", today)).holding(key, customer)
    ]


def test_add_list_release_and_active_holds(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        one = holds.add(conn, "orders", record_key="42", reason="claim", by="alice", at=AT)
        two = holds.add(conn, "orders", customer="C-7", reason="asked", by="bob", at=AT,
                        until=TODAY)  # fmt: skip
        holds.add(conn, "other", record_key="42", reason="elsewhere", by="carol", at=AT)
    with engine.connect() as conn:
        listed = holds.list_holds(conn, "orders")
        assert [h.id for h in listed] == [one.id, two.id]
        assert listed[0] == one
        assert listed[1].until == TODAY
        assert [h.id for h in holds.active_holds(conn, "orders", TODAY)] == [one.id, two.id]
        assert _holding(conn, "42", "C-7", TODAY) == [one.id, two.id]
        assert _holding(conn, "43", "C-8", TODAY) == []
        assert _holding(conn, "43", "C-7", TODAY) == [two.id]
        assert _holding(conn, "43", "C-7", date(2026, 11, 23)) == []
    with engine.begin() as conn:
        released = holds.release(conn, "orders", one.id, reason="settled", by="dan", at=AT)
        assert released.released_by == "dan"
        with pytest.raises(UsageError, match="released already"):
            holds.release(conn, "orders", one.id, reason="again", by="dan", at=AT)
        with pytest.raises(UsageError, match="no hold"):
            holds.release(conn, "other", two.id, reason="wrong source", by="dan", at=AT)
    with engine.connect() as conn:
        assert _holding(conn, "42", None, TODAY) == []
        assert holds.list_holds(conn, "orders")[0] == released


def test_without_the_table_nothing_is_held(db_url: str) -> None:
    made = sa.create_engine(db_url)
    try:
        with made.connect() as conn:
            assert holds.list_holds(conn, "orders") == []
            assert holds.active_holds(conn, "orders", TODAY) == []
            with pytest.raises(UsageError, match="no hold 1"):
                holds.release(conn, "orders", 1, reason="r", by="b", at=AT)
            assert not holds.exists(conn)
    finally:
        made.dispose()


KEYS = {
    "int": st.integers(-(2**62), 2**62),
    # a key a hold takes: not only spaces (refused as empty, tests/holds/test_model.py)
    "text": st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
    ).filter(str.strip),
}


@pytest.mark.parametrize("kind", sorted(KEYS))
@given(data=st.data())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_key_text_in_sql_is_record_key_text(
    engine: sa.Engine, kind: str, data: st.DataObject
) -> None:
    """A hold on ``RecordKey.text(k)`` holds the row whose key is ``k``, and only it."""
    # unique when folded: a case-blind key column could not hold both of two keys
    drawn: list[Any] = data.draw(
        st.lists(KEYS[kind], min_size=1, max_size=6, unique_by=lambda k: str(k).casefold())
    )
    keys = drawn
    held = data.draw(st.sampled_from(keys))
    column_type: Any = (
        sa.BigInteger() if kind == "int" else sa.String(200).with_variant(
            sa.dialects.mysql.VARCHAR(200, collation="utf8mb4_nopad_bin"), "mysql", "mariadb"
        )
    )  # fmt: skip
    meta = sa.MetaData()
    key = sa.Column("k", column_type, primary_key=True, autoincrement=False)
    table = sa.Table("kf_hold_keys", meta, key)
    meta.drop_all(engine)
    meta.create_all(engine)
    record_key = RecordKey("k", int if kind == "int" else str)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"k": k} for k in keys])
        conn.execute(holds_table.delete())
        holds.add(conn, "t", record_key=record_key.text(held), reason="r", by="b", at=AT)
        dialect = conn.dialect.name
        condition = held_condition("t", as_text(table.c.k, dialect), None, TODAY)
        found = set(conn.execute(sa.select(table.c.k).where(condition)).scalars())
    assert found == {held}
