"""The store's schema, migrations, opening rules and value round trips, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from keepfor.errors import KeepforError
from keepfor.store import (
    Customer,
    Record,
    RecordField,
    StoreError,
    current_revision,
    head_revision,
    open_store,
    record_to_dict,
    upgrade,
)
from keepfor.store.db import MIGRATIONS, VERSION_TABLE, safe_url, schema_differences

TABLES = {"keepfor_customers", "keepfor_records", "keepfor_record_fields"}


def test_migrations_reach_head_and_match_the_models(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert upgrade(db_url) == head_revision() == "0002"
    assert current_revision(db_url) == "0002"
    engine = open_store(db_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert TABLES | {VERSION_TABLE} <= names
        assert "alembic_version" not in names
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    upgrade(db_url)
    assert upgrade(db_url) == "0002"


def test_downgrade_to_base_drops_every_table(db_url: str) -> None:
    from alembic import command

    from keepfor.store.db import _config, create_store_engine

    upgrade(db_url)
    engine = create_store_engine(db_url)
    try:
        with engine.connect() as conn:
            command.downgrade(_config(conn), "base")
            conn.commit()
        assert not TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_open_store_refuses_a_database_that_is_not_migrated(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # a database with something else in it, but no store
        conn.execute(sa.text("CREATE TABLE other_app (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreError) as caught:
        open_store(db_url)
    message = str(caught.value)
    assert "\n" not in message
    assert "not a keepfor store" in message
    assert "keepfor db init --db" in message
    assert isinstance(caught.value, KeepforError)


def test_open_store_refuses_an_unknown_revision(db_url: str) -> None:
    upgrade(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="revision 9999, which this keepfor does not know"):
        open_store(db_url)


def test_open_store_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreError, match=r"no keepfor store at sqlite:///.*missing\.db"):
        open_store(f"sqlite:///{path}")
    assert not path.exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://keepfor:s3cret@127.0.0.1:1/x",
        "mysql+pymysql://keepfor:s3cret@127.0.0.1:1/x",
    ],
)
def test_a_dead_server_is_one_line_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert message.startswith("cannot connect to ")
    assert "127.0.0.1:1" in message
    assert "s3cret" not in message
    assert "***" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://u@h/x", "cannot use this URL"),
        ("mysql+mysqldb://u:pw@127.0.0.1/x", "driver 'MySQLdb' is not installed"),
    ],
)
def test_a_bad_url_is_one_line(url: str, fragment: str) -> None:
    with pytest.raises(StoreError) as caught:
        upgrade(url)
    assert fragment in str(caught.value)
    assert "pw" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot connect to sqlite:///"):
        upgrade(f"sqlite:///{tmp_path / 'no' / 'such' / 'k.db'}")


def test_safe_url_hides_the_password() -> None:
    assert safe_url("postgresql+psycopg://u:p%40ss@h/db") == "postgresql+psycopg://u:***@h/db"
    assert "p@ss" not in safe_url("::bad://u:p@ss@h")


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))


# -- values -------------------------------------------------------------------------------


def _store_one(url: str, fields: list[RecordField]) -> dict[str, object]:
    upgrade(url)
    engine = open_store(url)
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    try:
        with Session(engine) as session:
            session.add(Customer(key="cus-1", name="Example", created_at=now))
            record = Record(key="r-1", customer_key="cus-1", category="order", imported_at=now)
            session.add(record)
            session.flush()
            assert record.id is not None
            for field in fields:
                field.record_id = record.id
                session.add(field)
            session.commit()
        with Session(engine) as session:  # a fresh session: values as the database returns them
            stored = session.exec(select(Record)).one()
            rows = session.exec(select(RecordField).where(RecordField.record_id == stored.id))
            customer = session.exec(select(Customer)).one()
            assert customer.created_at == now
            assert customer.created_at.tzinfo is not None
            assert stored.imported_at == now
            return record_to_dict(stored, rows.all())
    finally:
        engine.dispose()


def test_values_round_trip_with_their_types(db_url: str) -> None:
    instant = datetime(2019, 3, 31, 23, 30, tzinfo=UTC)
    london = datetime(2019, 5, 14, 10, 12, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    record = _store_one(
        db_url,
        [
            RecordField(name="placed_at", value_instant=instant),
            RecordField(name="shipped_at", value_instant=london),
            RecordField(name="resolved_at", value_date=date(2024, 2, 29)),
            RecordField(name="accepted", value_bool=False),
            RecordField(name="paid", value_bool=True),
            RecordField(name="amount", value_number=1234.5),
            RecordField(name="items", value_number=3),
            RecordField(name="channel", value_text="phone ☎"),
        ],
    )
    assert record == {
        "key": "r-1",
        "customer": "cus-1",
        "category": "order",
        "placed_at": instant,
        "shipped_at": london,
        "resolved_at": date(2024, 2, 29),
        "accepted": False,
        "paid": True,
        "amount": 1234.5,
        "items": 3,
        "channel": "phone ☎",
    }
    placed = record["placed_at"]
    assert isinstance(placed, datetime)
    assert placed.utcoffset() == timedelta(0)
    assert placed.isoformat() == "2019-03-31T23:30:00+00:00"
    assert record["shipped_at"].isoformat() == "2019-05-14T09:12:00.123456+00:00"  # type: ignore[union-attr]
    assert type(record["resolved_at"]) is date
    assert type(record["accepted"]) is bool
    assert type(record["items"]) is int


def test_instant_range_selection_uses_utc(db_url: str) -> None:
    """A UTC bound selects the same rows on every backend (what the SQL push-down does)."""
    _store_one(
        db_url,
        [RecordField(name="placed_at", value_instant=datetime(2019, 3, 31, 23, 30, tzinfo=UTC))],
    )
    engine = open_store(db_url)
    table = RecordField.__table__  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            for bound, expected in [
                (datetime(2019, 4, 1, 0, 29, tzinfo=timezone(timedelta(hours=1))), 0),
                (datetime(2019, 4, 1, 0, 31, tzinfo=timezone(timedelta(hours=1))), 1),
                (datetime(2019, 3, 31, 23, 31, tzinfo=UTC), 1),
            ]:
                count = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(table.c.name == "placed_at", table.c.value_instant < bound)
                ).scalar_one()
                assert count == expected, bound
    finally:
        engine.dispose()


def test_a_naive_datetime_is_refused(db_url: str) -> None:
    with pytest.raises(sa.exc.StatementError, match="no UTC offset"):
        _store_one(db_url, [RecordField(name="placed_at", value_instant=datetime(2019, 3, 31))])


def test_deleting_a_record_deletes_its_fields(db_url: str) -> None:
    _store_one(db_url, [RecordField(name="resolved_at", value_date=date(2024, 2, 29))])
    engine = open_store(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM keepfor_records"))
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT COUNT(*) FROM keepfor_record_fields")).scalar()
        assert left == 0
    finally:
        engine.dispose()


def test_revision_0002_tells_keys_apart_by_a_trailing_space(db_url: str) -> None:
    """A store made at revision 0001 (``utf8mb4_bin`` on MariaDB, which pads) keeps its
    records through 0002, then takes ``k `` beside ``k`` and tells their texts apart."""
    assert upgrade(db_url, "0001") == "0001"
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    records = Record.__table__  # type: ignore[attr-defined]
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(records.insert(), [{"key": "k", "category": "order", "imported_at": now}])
        assert upgrade(db_url) == head_revision()
        assert schema_differences(engine) == []
        with engine.begin() as conn:
            spaced = {"key": "k ", "category": "order ", "imported_at": now}
            conn.execute(records.insert(), [spaced])
            found = conn.execute(
                sa.select(records.c.key).where(records.c.category == "order")
            ).scalars()
            assert list(found) == ["k"]
            assert conn.execute(sa.select(sa.func.count()).select_from(records)).scalar() == 2
    finally:
        engine.dispose()
