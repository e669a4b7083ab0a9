"""keepfor's record of what it has done to records that stay: ``keepfor_acted``, one row
per (source, record, action) for flags, anonymisations and review requests.

It lives in the database of the records it is about and is written in the transaction
that acts, so that a re-run neither flags nor anonymises a record twice (hashing a
hash would change it again) nor queues it twice. A purged record needs no row: it is
gone. The record is named by its key's text, as a hold names it; nothing of its
fields is kept here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keepfor.exact import realign
from keepfor.holds.table import exact_text

__all__ = ["acted", "acted_condition", "already_acted", "ensure", "mark"]

metadata = sa.MetaData()

acted = sa.Table(
    "keepfor_acted",
    metadata,
    sa.Column("source", exact_text(200), primary_key=True),
    sa.Column("record_key", exact_text(255), primary_key=True),
    sa.Column("action", sa.String(20), primary_key=True),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("pack_id", sa.String(200), nullable=False),
    sa.Column("sweep_id", sa.String(64), nullable=False),
    sa.Column("acted_at", sa.DateTime(), nullable=False),
)

CHUNK = 1_000
"""Keys per ``IN`` list when reading marks (SQLite allows 32,766 parameters)."""


def acted_condition(
    source: str, action: str, key_text: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """The row (its key as text, :func:`keepfor.holds.sql.as_text`) has a mark of this
    action: the push-down of :class:`keepfor.engine.predicates.Acted`."""
    a = acted.alias("a")
    found: sa.ColumnElement[bool] = sa.exists().where(
        a.c.source == source, a.c.action == action, a.c.record_key == key_text
    )
    return found


def ensure(conn: sa.Connection) -> None:
    """Create the table where it is missing, realign one an older keepfor made
    (:func:`keepfor.exact.realign`); before the batches: MariaDB commits an open
    transaction on ``CREATE TABLE`` and ``ALTER TABLE``."""
    metadata.create_all(conn, checkfirst=True)
    realign(conn, metadata)


def already_acted(conn: sa.Connection, source: str, action: str, keys: Collection[str]) -> set[str]:
    """Which of these keys' texts this action was already taken on."""
    found: set[str] = set()
    ordered = list(keys)
    for i in range(0, len(ordered), CHUNK):
        query = sa.select(acted.c.record_key).where(
            acted.c.source == source,
            acted.c.action == action,
            acted.c.record_key.in_(ordered[i : i + CHUNK]),
        )
        found.update(conn.execute(query).scalars())
    return found


def mark(
    conn: sa.Connection,
    source: str,
    action: str,
    keys: Sequence[str],
    *,
    rule: str,
    pack: str,
    sweep: str,
    at: datetime,
) -> None:
    """Record that the action was taken on these keys (in the transaction that took it)."""
    if not keys:
        return
    naive = at.replace(tzinfo=None)
    rows = [
        {
            "source": source,
            "record_key": key,
            "action": action,
            "rule_id": rule,
            "pack_id": pack,
            "sweep_id": sweep,
            "acted_at": naive,
        }
        for key in keys
    ]
    conn.execute(acted.insert(), rows)
