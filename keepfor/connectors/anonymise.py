"""Anonymised values: the keyed pseudonym every writer uses (SQL tables, files, stores,
CRMs), so that a value hashed anywhere is hashed alike, and a SQL table's anonymisation,
apart from the target that acts on the table (:mod:`keepfor.connectors.sqlwrite`).

A strategy is checked against its column's type, length and NOT NULL when the target is
made, before anything is written (:func:`checked_column`): a value that cannot fit is a
config error, not a failed batch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from keepfor.actions.settings import Strategy, StrategyKind
from keepfor.errors import SourceError

__all__ = ["checked_column", "hash_values", "set_values", "value_pseudonym"]

_TEXT_TYPES = (sa.String, sa.Text, sa.Unicode, sa.UnicodeText)


def value_pseudonym(key: bytes, source: str, field: str, value: Any) -> str:
    """An anonymised value: HMAC-SHA256 of the value's text under the audit key, salted
    with source and field, in hex (64 characters). Equal values of one field stay equal;
    nothing of the value can be read back without the key."""
    salt = f"anonymise\x1f{source}\x1f{field}\x1f".encode()
    return hmac.new(key, salt + str(value).encode(), hashlib.sha256).hexdigest()


def checked_column(
    column: sa.Column[Any], strategy: Strategy, key: sa.Column[Any], where: str
) -> sa.Column[Any]:
    """``column``, if ``strategy`` can anonymise it (not the ``key``; nullable for
    ``null``; text long enough for ``fixed`` and ``hash``); else SourceError at ``where``."""
    name = column.name
    if column is key:
        raise SourceError(f"{where}: the key column cannot be anonymised")
    if strategy.kind is StrategyKind.NULL:
        if not column.nullable:
            raise SourceError(f"{where}: column '{name}' is NOT NULL")
        return column
    if not isinstance(column.type, _TEXT_TYPES):
        raise SourceError(f"{where}: column '{name}' is {column.type}, not text")
    length = getattr(column.type, "length", None)
    too_long = length is not None and len(strategy.text or "") > length
    if strategy.kind is StrategyKind.FIXED and too_long:
        raise SourceError(
            f"{where}: the text has {len(strategy.text or '')} characters; "
            f"column '{name}' holds {length}"
        )
    if strategy.kind is StrategyKind.HASH and length is not None and length < 16:
        raise SourceError(
            f"{where}: column '{name}' holds {length} characters; a pseudonym needs 16"
        )
    return column


def set_values(
    strategies: Iterable[tuple[sa.Column[Any], Strategy]],
) -> tuple[dict[sa.Column[Any], Any], list[sa.Column[Any]]]:
    """The SET values of the strategies SQL writes itself (``null``, ``fixed``,
    ``truncate``), by column; and the columns to hash (:func:`hash_values`)."""
    plain: dict[sa.Column[Any], Any] = {}
    hashed: list[sa.Column[Any]] = []
    for column, strategy in strategies:
        if strategy.kind is StrategyKind.NULL:
            plain[column] = None
        elif strategy.kind is StrategyKind.FIXED:
            plain[column] = strategy.text
        elif strategy.kind is StrategyKind.TRUNCATE:
            plain[column] = sa.func.substr(column, 1, strategy.length)
        else:
            hashed.append(column)
    return plain, hashed


def hash_values(
    conn: sa.Connection,
    table: sa.Table,
    key: sa.Column[Any],
    rows: sa.ColumnElement[bool],
    columns: Sequence[sa.Column[Any]],
    secret: bytes,
    source: str,
) -> None:
    """Each value of ``columns`` in the ``rows`` of ``table`` (by ``key``) replaced by its
    keyed pseudonym (:func:`value_pseudonym` under ``secret``, cut to the column's length):
    equal values stay equal within a column, nothing is readable."""
    found = conn.execute(sa.select(key, *columns).where(rows)).all()
    params = []
    for row in found:
        values: dict[str, Any] = {"_key": row[0]}
        for i, column in enumerate(columns, start=1):
            values[f"_v{i}"] = (
                None if row[i] is None else _pseudonym(secret, source, column, row[i])
            )
        params.append(values)
    statement = (
        sa.update(table)
        .where(key == sa.bindparam("_key"))
        .values({c: sa.bindparam(f"_v{i}") for i, c in enumerate(columns, start=1)})
    )
    conn.execute(statement, params)


def _pseudonym(secret: bytes, source: str, column: sa.Column[Any], value: Any) -> str:
    """The value's pseudonym, cut to what the column holds (64 characters, unbounded)."""
    length = getattr(column.type, "length", None) or 64
    return value_pseudonym(secret, source, column.name, value)[:length]
