"""The push-down of :class:`keepfor.engine.predicates.Held`: a condition on the
source's own row, tested by the database in the query that selects.

    EXISTS (SELECT 1 FROM keepfor_holds h WHERE h.source = :name
            AND h.released_at IS NULL AND (h.until IS NULL OR h.until >= :today)
            AND h.record_key = <the row's key as text>)
    OR EXISTS (... AND h.customer = <the row's customer as text>)

Two ``EXISTS`` rather than one with an OR inside, so each uses its own index. The key's
text in SQL is what :meth:`keepfor.abc.RecordKey.text` writes: the text itself, an
integer's digits, bytes in lowercase hex. On MariaDB/MySQL the row's side is
converted to ``utf8mb4`` and collated NO PAD binary (:func:`keepfor.exact.exact`), which
decides the comparison: byte for byte, trailing spaces counted, whatever the collation of
the row's column or of a holds table an older keepfor made in (PAD SPACE) ``utf8mb4_bin``.
"""

from __future__ import annotations

import contextlib
import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from keepfor.exact import MYSQL, exact
from keepfor.holds.table import exists, holds

__all__ = ["HoldsTable", "as_text", "held_condition"]


class HoldsTable:
    """Whether one database has ``keepfor_holds``: not asked again once seen; while
    missing, asked again after :data:`RECHECK` seconds (a report compiles a query per
    group it reads again, and should not ask each time; a sweep's next batch, seconds
    later, sees a table ``hold add`` made meanwhile)."""

    RECHECK = 1.0

    def __init__(self, table: str | None = None) -> None:
        """``table``: another of keepfor's tables to look for (default: the holds')."""
        self.table = table
        self._seen = False
        self._asked: float | None = None

    def there(self, bind: sa.Engine | sa.Connection) -> bool:
        """Asked of ``bind``: a connection of its own from an engine, or, inside a write
        transaction, that transaction's connection (on SQLite another one would wait for
        the write lock the transaction holds, and time out)."""
        now = time.monotonic()
        if not self._seen and (self._asked is None or now - self._asked >= self.RECHECK):
            opened = (
                contextlib.nullcontext(bind) if isinstance(bind, sa.Connection) else bind.connect()
            )
            with opened as conn:
                if self.table is None:
                    self._seen = exists(conn)
                else:
                    self._seen = sa.inspect(conn).has_table(self.table)
            self._asked = now
        return self._seen


def as_text(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """A key or customer column's value as the text a hold keeps of it."""
    try:
        python = column.type.python_type
    except NotImplementedError:
        python = str
    if python is bytes:
        if dialect == "postgresql":
            return sa.func.encode(column, "hex")
        return sa.func.lower(sa.func.hex(column))
    if dialect in MYSQL:
        return exact(column)
    if python is str:
        return column
    return sa.cast(column, sa.String)


def held_condition(
    source: str,
    key: sa.ColumnElement[Any],
    customer: sa.ColumnElement[Any] | None,
    today: date,
) -> sa.ColumnElement[bool]:
    """The row is held on ``today`` by a hold of ``source`` on its key or its customer
    (``key`` and ``customer`` already as text: :func:`as_text`)."""

    def exists(column: str, value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        h = holds.alias("h")
        return sa.exists().where(
            h.c.source == source,
            h.c.released_at.is_(None),
            sa.or_(h.c.until.is_(None), h.c.until >= today),
            h.c[column] == value,
        )

    if customer is None:
        return exists("record_key", key)
    return sa.or_(exists("record_key", key), exists("customer", customer))
