"""keepfor's own tables: customers, records and the typed field values of each record.

Three tables, every name prefixed ``keepfor_`` so the store can share a database with
other applications:

``keepfor_customers``
    One row per customer a record belongs to (``key`` is the customer's identifier in
    the source system).
``keepfor_records``
    One row per record: its unique ``key``, the ``customer_key`` it belongs to (not a
    foreign key: a record may name a customer the store has not been told about yet),
    its ``category`` (what ``applies_to: {category: ...}`` matches) and when it was
    imported.
``keepfor_record_fields``
    One row per field value of a record (the dates rules anchor on and the free fields
    they match on), primary key ``(record_id, name)``. Exactly one typed value column is
    set: ``value_text``, ``value_number``, ``value_bool``, ``value_date`` (a calendar
    date) or ``value_instant`` (an instant, stored in UTC). The indexes
    ``(name, value_date)`` and ``(name, value_instant)`` let the SQL push-down select
    "records whose ``placed_at`` is before the cut-off" as an index range scan.

Instants are stored in UTC by :class:`UTCDateTime`: PostgreSQL keeps them as
``timestamptz``; SQLite and MariaDB have no zone, so the type normalises to UTC on the
way in and attaches UTC on the way out. 2019-03-31T23:30:00Z reads back as the same
instant on every backend.

Room for later issues: ``keepfor_holds`` (legal holds and customers' requests to keep
data, each naming a record or a customer) and ``keepfor_audit`` (one row per action
taken, with the pack version and rule) are added as new tables here *and* by new Alembic
revisions in ``keepfor/store/migrations/versions/`` (0002, 0003, ...). Revision 0001 is
never edited once released; the schema test checks the migrated database equals this
module's metadata on every backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from keepfor.exact import ExactText

__all__ = [
    "KEY_LENGTH",
    "VALUE_COLUMNS",
    "Customer",
    "Record",
    "RecordField",
    "UTCDateTime",
    "field_value",
    "record_to_dict",
    "store_tables",
]

KEY_LENGTH = 255
"""Longest key, category, customer key or field name (an indexable VARCHAR on MariaDB)."""

VALUE_COLUMNS = ("value_text", "value_number", "value_bool", "value_date", "value_instant")
"""The typed value columns of ``keepfor_record_fields``; exactly one is set per row."""


def _string() -> sa.types.TypeEngine[str]:
    """A key-sized string compared byte for byte (:class:`keepfor.exact.ExactText`).

    MariaDB's default collations ignore case, so ``R1`` and ``r1`` would be one key there
    and two everywhere else, and ``category = 'Order'`` would match ``order``; its
    ``utf8mb4_bin`` (revision 0001) pads, so ``k`` and ``k `` were one key. The NO PAD
    binary collation (revision 0002) makes every backend compare strings the way Python
    (the engine) does.
    """
    return ExactText(KEY_LENGTH)


def _text() -> sa.types.TypeEngine[str]:
    """Free text, compared byte for byte as for :func:`_string`."""
    return ExactText()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware datetime stored as an instant in UTC on every backend.

    PostgreSQL: ``timestamptz``. SQLite and MariaDB drop the zone, so the value is
    converted to UTC and stored naive (MariaDB: ``DATETIME(6)``, keeping microseconds),
    and read back with UTC attached. A naive datetime is refused: it names no instant.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"{value!r} is not a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset: it names no instant")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Customer(SQLModel, table=True):
    """A customer the records belong to."""

    __tablename__ = "keepfor_customers"
    __table_args__ = (sa.Index("ix_keepfor_customers_key", "key", unique=True),)

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=sa.Column(_string(), nullable=False))
    name: str | None = Field(default=None, sa_column=sa.Column(_string(), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class Record(SQLModel, table=True):
    """One record: its key, customer, category; its values are :class:`RecordField` rows."""

    __tablename__ = "keepfor_records"
    __table_args__ = (
        sa.Index("ix_keepfor_records_key", "key", unique=True),
        sa.Index("ix_keepfor_records_customer_key", "customer_key"),
        sa.Index("ix_keepfor_records_category", "category"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=sa.Column(_string(), nullable=False))
    customer_key: str | None = Field(default=None, sa_column=sa.Column(_string(), nullable=True))
    category: str = Field(sa_column=sa.Column(_string(), nullable=False))
    imported_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class RecordField(SQLModel, table=True):
    """One field value of a record; exactly one ``value_*`` column is set."""

    __tablename__ = "keepfor_record_fields"
    __table_args__ = (
        sa.Index("ix_keepfor_record_fields_name_date", "name", "value_date"),
        sa.Index("ix_keepfor_record_fields_name_instant", "name", "value_instant"),
    )

    record_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey(
                "keepfor_records.id",
                ondelete="CASCADE",
                name="fk_keepfor_record_fields_record_id",
            ),
            primary_key=True,
            autoincrement=False,
        )
    )
    name: str = Field(sa_column=sa.Column(_string(), primary_key=True))
    value_text: str | None = Field(default=None, sa_column=sa.Column(_text(), nullable=True))
    value_number: float | None = Field(default=None, sa_column=sa.Column(sa.Double, nullable=True))
    value_bool: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean, nullable=True))
    value_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    value_instant: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


def store_tables() -> list[sa.Table]:
    """The store's tables, in creation order."""
    return [
        SQLModel.metadata.tables[name]
        for name in ("keepfor_customers", "keepfor_records", "keepfor_record_fields")
    ]


def field_value(field: Any) -> Any:
    """The Python value of a field row: text, number, bool, date or aware UTC datetime.

    A whole number comes back as an ``int`` (JSON ``3`` reads back as ``3``, not ``3.0``).
    """
    if field.value_instant is not None:
        instant: datetime = field.value_instant
        return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    if field.value_date is not None:
        day = field.value_date
        return day.date() if isinstance(day, datetime) else day
    if field.value_bool is not None:
        return bool(field.value_bool)
    if field.value_number is not None:
        number = float(field.value_number)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return field.value_text


def record_to_dict(record: Any, fields: Iterable[Any]) -> dict[str, Any]:
    """The record as the engine wants it: ``{"key", "customer", "category", field: value}``.

    ``record`` is a :class:`Record` (or a row with the same attributes); ``fields`` its
    :class:`RecordField` rows. Dates come back as ``date``, instants as aware UTC
    ``datetime``, booleans as ``bool``, numbers as ``int``/``float``.
    """
    out: dict[str, Any] = {
        "key": record.key,
        "customer": record.customer_key,
        "category": record.category,
    }
    for field in fields:
        out[field.name] = field_value(field)
    return out
