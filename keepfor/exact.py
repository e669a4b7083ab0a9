"""Texts compared byte for byte on every database, as the engine (Python) compares them.

PostgreSQL (its collations are deterministic) and SQLite compare texts exactly with
``=``. MariaDB's and MySQL's default collations ignore case, and even
``utf8mb4_bin`` is PAD SPACE on MariaDB: ``'abc' = 'abc '``. So there keepfor's own
key and text columns use the NO PAD binary collation of ``utf8mb4`` (:class:`ExactText`),
and a comparison with a column keepfor did not make (a user's key, a table an older
keepfor made in ``utf8mb4_bin``) collates its other side in it (:func:`exact`): an
explicit ``COLLATE`` decides the comparison's collation. :func:`realign` alters the
columns of keepfor's tables an older keepfor made in another collation.

The collation is chosen per server: ``utf8mb4_nopad_bin`` on MariaDB (10.2 and later),
``utf8mb4_0900_bin`` on MySQL 8.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["MYSQL", "Exact", "ExactText", "exact", "nopad_collation", "realign"]

MYSQL = ("mysql", "mariadb")
"""The dialect names of MariaDB and MySQL (``mysql+pymysql://`` names MariaDB ``mysql``)."""


def nopad_collation(dialect: Dialect) -> str:
    """The server's NO PAD binary collation of ``utf8mb4``: trailing spaces count."""
    return "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"


class ExactText(sa.types.TypeDecorator[str]):
    """A text column compared byte for byte: ``VARCHAR(width)`` (``TEXT`` without a
    width), in ``utf8mb4`` and its NO PAD binary collation on MariaDB/MySQL."""

    impl = sa.String
    cache_ok = True

    def __init__(self, width: int | None = None) -> None:
        super().__init__(width)
        self.width = width

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in MYSQL:
            from sqlalchemy.dialects import mysql  # only where it serves: 10 ms at start-up

            collation = nopad_collation(dialect)
            if self.width is None:
                return mysql.TEXT(charset="utf8mb4", collation=collation)
            return mysql.VARCHAR(self.width, charset="utf8mb4", collation=collation)
        return sa.Text() if self.width is None else sa.String(self.width)


class Exact(sa.sql.expression.ColumnElement[str]):
    """A text value to compare byte for byte: on MariaDB/MySQL converted to ``utf8mb4``
    and collated NO PAD binary, the value itself elsewhere (:func:`exact` makes it)."""

    __visit_name__ = "keepfor_exact"
    inherit_cache = True
    _traverse_internals: list[tuple[str, InternalTraversal]] = [  # noqa: RUF012 (SQLAlchemy's)
        ("value", InternalTraversal.dp_clauseelement)
    ]

    def __init__(self, value: sa.ColumnElement[Any]) -> None:
        self.value = value
        self.type = value.type


@compiles(Exact)
def _compile_exact(element: Exact, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.value, **kw)
    if compiler.dialect.name not in MYSQL:
        return text
    collation = nopad_collation(compiler.dialect)
    return f"CONVERT({text}, CHAR CHARACTER SET utf8mb4) COLLATE {collation}"


def exact(value: sa.ColumnElement[Any] | str) -> sa.ColumnElement[str]:
    """``value`` (a text expression, or a Python string) as :class:`Exact`, to compare
    with a text column byte for byte whatever the column's own collation."""
    if isinstance(value, str):
        return Exact(sa.literal(value, sa.String()))
    return Exact(value)


def realign(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """On MariaDB/MySQL, alter the :class:`ExactText` columns of ``metadata``'s tables
    that an older keepfor made in another collation (PAD SPACE ``utf8mb4_bin``, or the
    database's default) to the NO PAD one: the query side compares them byte for byte
    already, but only the column's own collation keeps a unique key from seeing ``abc``
    and ``abc `` as one. Nothing to do elsewhere, or where all is aligned (one look at
    ``information_schema``). Call it in a transaction of its own, as ``CREATE TABLE``."""
    if conn.dialect.name not in MYSQL:
        return
    wanted = nopad_collation(conn.dialect)
    found = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN :names"
        ).bindparams(sa.bindparam("names", expanding=True)),
        {"names": list(metadata.tables)},
    )
    stale = {(table, column) for table, column, collation in found if collation != wanted}
    quote = conn.dialect.identifier_preparer.quote
    for table in metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, ExactText) and (table.name, column.name) in stale
        ]
        if columns:
            modify = ", ".join(
                f"MODIFY {quote(c.name)} {c.type.compile(conn.dialect)} "
                + ("NULL" if c.nullable else "NOT NULL")
                for c in columns
            )
            conn.execute(sa.text(f"ALTER TABLE {quote(table.name)} {modify}"))
