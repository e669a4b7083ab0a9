"""A user's SQL table as :mod:`keepfor.connectors.sql` sees it: the mapping of rule
fields to its columns, its reflection (columns and primary key only), the rows read
from it, and the one-line error a database failure becomes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from keepfor.abc import Keyed
from keepfor.connectors.columns import ColumnKind
from keepfor.connectors.derived import Derived
from keepfor.database import first_line, safe_url
from keepfor.engine.rules import ValueKind
from keepfor.errors import SourceError, did_you_mean

__all__ = ["Rows", "TableMapping", "db_error", "need_of", "python_type", "reflect"]


class Rows(NamedTuple):
    """Records as tuples, for streams where a mapping per record costs: each row is its
    key, then field ``names[j]`` at ``row[j + 1]`` (already as the engine reads it);
    ``constants`` are fields fixed for every row."""

    names: tuple[str, ...]
    rows: Iterator[Sequence[Any]]
    constants: Mapping[str, Any]

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        """One row's fields, as the mapping the engine evaluates."""
        record = dict(zip(self.names, row[1:], strict=True))
        if self.constants:
            record.update(self.constants)
        return record

    def keyed(self, row: Sequence[Any]) -> Keyed:
        return Keyed(row[0], self.record(row))


@dataclass(frozen=True)
class TableMapping:
    """Which table, and which of its columns, hold each rule field.

    ``fields`` maps rule field names to column names; a field not listed is read
    from the column of the same name, if there is one. ``constants`` fixes fields
    for the whole table (``category = "order"`` for a table of orders).
    """

    table: str
    key: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    """The zone of naive datetime columns and of wall-clock date texts."""
    zones: Mapping[str, str] = field(default_factory=dict)
    """Per-column overrides of ``timezone`` (column name -> IANA zone)."""
    kinds: Mapping[str, ColumnKind] = field(default_factory=dict)
    """How a column holds dates where its type does not say (text, epoch numbers)."""
    derived: Mapping[str, Derived] = field(default_factory=dict)
    """Fields that are aggregates of related rows (a customer's last invoice date)."""
    source: str = "table"
    """The source's name, for messages."""
    origin: str | None = None
    """The config file this mapping came from, for messages."""


def db_error(where: str, url: str, error: SQLAlchemyError) -> SourceError:
    """A database failure as one line naming the place and the database (no password)."""
    return SourceError(f"{where}: database {safe_url(url)} failed: {first_line(error)}")


def reflect(engine: sa.Engine, table: str, where: str, url: str) -> sa.Table:
    """The table's columns (name, type, NOT NULL) and primary key, and nothing else
    (indexes, foreign keys, constraints and comments would cost a query each on
    PostgreSQL)."""
    schema, _, name = table.rpartition(".")
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            columns = inspector.get_columns(name, schema=schema or None)
            primary = inspector.get_pk_constraint(name, schema=schema or None)
        keys = set(primary.get("constrained_columns") or ())
        return sa.Table(
            name,
            sa.MetaData(),
            *(
                sa.Column(
                    c["name"],
                    c["type"],
                    primary_key=c["name"] in keys,
                    nullable=c.get("nullable", True),
                )
                for c in columns
            ),
            schema=schema or None,
        )
    except NoSuchTableError:
        try:
            names = sa.inspect(engine).get_table_names(schema=schema or None)
        except SQLAlchemyError:
            names = []
        hint = did_you_mean(name, names)
        raise SourceError(f"{where}: no such table{hint}") from None
    except SQLAlchemyError as error:
        raise db_error(where, url, error) from None


def python_type(column: sa.Column[Any]) -> type | None:
    """The Python type of a column's values, None where SQLAlchemy does not know it."""
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def need_of(column: sa.Column[Any], kind: ColumnKind | None) -> ValueKind:
    """What a column read outside any rule holds: dates if it is typed or declared so."""
    if kind is not None or isinstance(column.type, sa.Date | sa.DateTime):
        return ValueKind.DATE
    return ValueKind.VALUE
