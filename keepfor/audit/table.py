"""The audit trail's tables, on their own ``MetaData`` (not the store's models).

``keepfor_audit``
    one row per entry, primary key ``sequence``; an index on ``time`` for exports of a
    period. Texts are ``VARCHAR`` of the widths in :data:`keepfor.audit.entry.LIMITS`.
``keepfor_audit_batch``
    one row per append (a sweep's batch): the range of sequence numbers it covers, the
    digest of the batch before it and its own digest (see :mod:`keepfor.audit.chain`).
``keepfor_audit_head``
    one row (``id = 1``): the last sequence number and digest, and ``seal``, their
    HMAC under the audit key (:func:`keepfor.audit.chain.head_seal`; ``NULL``: unsealed,
    as every head an older keepfor wrote). Appenders lock it, so two sweeps append one
    after the other; ``verify`` checks the trail ends there, so entries removed from the
    end are seen, and with the key that the head was sealed by it.

Times are stored in UTC: ``timestamptz`` on PostgreSQL, naive UTC elsewhere
(``DATETIME(6)`` on MariaDB, keeping microseconds, which the hashes cover). The
conversion is done here, once per value, without a TypeDecorator's per-row overhead.

The tables live in the database of the records they are about, so an action and its
entry share a transaction. :func:`ensure` creates what is missing (indexes included);
it also adds ``seal`` to a head table an older keepfor made. Call it before the batch's
transaction (MariaDB commits any open transaction on
``CREATE TABLE``, so a process that dies there may leave some tables without the
others: :func:`keepfor.audit.verify.verify` reads such a trail, which holds nothing, as
empty).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from keepfor.audit.entry import LIMITS
from keepfor.database import create_missing

__all__ = [
    "GENESIS",
    "TABLES",
    "audit",
    "batches",
    "db_time",
    "ensure",
    "exists",
    "has_seal",
    "head",
    "metadata",
    "py_time",
]

GENESIS = "0" * 64
"""The digest before the first batch."""

metadata = sa.MetaData()

_Time = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(LIMITS[name]), nullable=False)


audit = sa.Table(
    "keepfor_audit",
    metadata,
    sa.Column(
        "sequence",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("time", _Time, nullable=False),
    *(_text(name) for name in LIMITS),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_keepfor_audit_time", "time"),
)

batches = sa.Table(
    "keepfor_audit_batch",
    metadata,
    sa.Column(
        "first_sequence",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    sa.Column("previous", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
)

head = sa.Table(
    "keepfor_audit_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("seal", sa.String(64), nullable=True),
)

TABLES = (audit.name, batches.name, head.name)


def exists(conn: sa.Connection) -> dict[str, bool]:
    """Which of the trail's tables the database has."""
    names = set(sa.inspect(conn).get_table_names())
    return {name: name in names for name in TABLES}


def has_seal(conn: sa.Connection) -> bool:
    """Whether the head table (there) has its ``seal`` column (an older keepfor's has not)."""
    return any(c["name"] == head.c.seal.name for c in sa.inspect(conn).get_columns(head.name))


def _add_seal(conn: sa.Connection) -> None:
    """Add ``seal`` to a head table an older keepfor made (its heads are then unsealed);
    ``IF NOT EXISTS`` where the database has it, so two processes may both try."""
    if has_seal(conn):
        return
    quote = conn.dialect.identifier_preparer.quote
    column = head.c.seal
    guard = ""
    if conn.dialect.name == "postgresql" or getattr(conn.dialect, "is_mariadb", False):
        guard = "IF NOT EXISTS "
    conn.execute(
        sa.text(
            f"ALTER TABLE {quote(head.name)} ADD COLUMN {guard}{quote(column.name)} "
            f"{column.type.compile(conn.dialect)} NULL"
        )
    )


def ensure(conn: sa.Connection) -> None:
    """Create the trail's tables and its head row where they are missing, and the head's
    ``seal`` column where an older keepfor made the table without it."""
    create_missing(conn, metadata)
    _add_seal(conn)
    if conn.execute(sa.select(head.c.id).where(head.c.id == 1)).first() is None:
        conn.execute(head.insert().values(id=1, last_sequence=0, digest=GENESIS))


def db_time(time: datetime, dialect: sa.Dialect) -> datetime:
    """An aware UTC time as the column takes it: aware on PostgreSQL, naive elsewhere."""
    return time if dialect.name == "postgresql" else time.replace(tzinfo=None)


def py_time(value: Any) -> datetime:
    """A time read from the column, as an aware UTC datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"keepfor_audit.time holds {value!r}, not a timestamp")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
