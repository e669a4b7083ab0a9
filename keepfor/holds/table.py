"""The ``keepfor_holds`` table, on its own ``MetaData`` (not the store's models).

One row per hold: the source it belongs to, what it covers (``record_key``: a record's
key as :meth:`keepfor.abc.RecordKey.text` writes it, or ``customer``: every record of
that customer; exactly one of the two), why and who, when it was made (naive UTC), the
last day it holds (``until``, or NULL: until released), and its release.

Keys and customers are compared byte for byte: on MariaDB/MySQL the columns are in
``utf8mb4``'s NO PAD binary collation (:class:`keepfor.exact.ExactText`: the server's
default collation would let a hold on ``abc`` hold ``ABC``, and ``utf8mb4_bin`` one on
``abc`` hold ``abc ``; a table an older keepfor made in ``utf8mb4_bin`` is compared NO
PAD from the query's side, :func:`keepfor.exact.exact`). Indexes on (source, record_key)
and (source, customer) serve the ``EXISTS`` the push-down adds to every query.

:func:`ensure` creates the table; ``keepfor hold add`` and ``keepfor db init`` call it: a
report or a dry run never creates anything, and where the table is missing nothing is
held.
"""

from __future__ import annotations

import sqlalchemy as sa

from keepfor.database import create_missing, making_tables
from keepfor.exact import ExactText, realign

__all__ = ["LIMITS", "TABLE", "ensure", "exact_text", "exists", "holds", "metadata"]

TABLE = "keepfor_holds"

LIMITS = {"source": 200, "record_key": 255, "customer": 255, "reason": 1000, "by": 200}
"""The widest text each column takes."""

metadata = sa.MetaData()


def exact_text(width: int) -> sa.types.TypeEngine[str]:
    """A text compared byte for byte on every database (trailing spaces count)."""
    return ExactText(width)


holds = sa.Table(
    TABLE,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", exact_text(LIMITS["source"]), nullable=False),
    sa.Column("record_key", exact_text(LIMITS["record_key"])),
    sa.Column("customer", exact_text(LIMITS["customer"])),
    sa.Column("reason", sa.String(LIMITS["reason"]), nullable=False),
    sa.Column("created_by", sa.String(LIMITS["by"]), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("until", sa.Date()),
    sa.Column("released_at", sa.DateTime()),
    sa.Column("released_by", sa.String(LIMITS["by"])),
    sa.Column("release_reason", sa.String(LIMITS["reason"])),
    sa.CheckConstraint(
        "(record_key IS NULL) <> (customer IS NULL)", name="ck_keepfor_holds_one_target"
    ),
    sa.Index("ix_keepfor_holds_record", "source", "record_key"),
    sa.Index("ix_keepfor_holds_customer", "source", "customer"),
)


def exists(conn: sa.Connection) -> bool:
    """The database has the holds table (where it has not, nothing is held)."""
    return sa.inspect(conn).has_table(TABLE)


def ensure(conn: sa.Connection) -> None:
    """Create the table where it is missing (call it in a transaction of its own: MariaDB
    commits any open transaction on ``CREATE TABLE``); realign one an older keepfor made
    in ``utf8mb4_bin`` (:func:`keepfor.exact.realign`)."""
    with making_tables(conn):
        create_missing(conn, metadata)
        realign(conn, metadata)
