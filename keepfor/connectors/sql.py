"""A user's own SQL table as a source of records, with exact push-down.

The table is reflected once; every identifier a config names (table, key column,
category column, field columns) is checked against it, and queries are built from
the reflected ``Column`` objects only, never from strings.

A :mod:`keepfor.engine.cutoffs` predicate compiles to a SQLAlchemy ``WHERE``:

* ``OnOrBefore(field, cutoff, zone)`` on a ``DATE`` column is ``col <= cutoff``; on an
  instant column (``timestamptz``) it is ``col < `` the first instant of the day
  after the cutoff in the pack's zone; on a naive ``DATETIME`` column, whose values
  are local times in the source's ``timezone`` (default UTC), it is ``col <`` that
  instant as a local time of the source's zone;
* ``Present`` is ``IS NOT NULL``; ``Equals`` is ``=`` (``IS NULL`` for null);
* a field fixed by the config (``category = "order"``) folds to true or false.

The database selects; Python only explains the rows it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from keepfor.connectors.base import KEY, Record, RecordSource, Rows
from keepfor.connectors.pushdown import (
    compile_predicate,
    count_by_query,
    counts_query,
    fold,
    instant_on_or_before,
)
from keepfor.database import create_engine, first_line, safe_url, sqlite_path
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate, match_predicate
from keepfor.errors import SourceError, did_you_mean

__all__ = ["ColumnKind", "SqlTableSource", "TableMapping"]

BATCH = 10_000
"""Rows fetched per round trip while streaming."""


class ColumnKind(StrEnum):
    """How a column holds a date, which decides how a cutoff compares with it."""

    DATE = "date"
    INSTANT = "instant"  # an aware timestamp (timestamptz)
    LOCAL = "local"  # a naive datetime: local time in the source's zone
    BOOLEAN = "boolean"  # true/false, also MySQL's TINYINT(1)
    VALUE = "value"  # anything else: matched for equality only


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
    """The zone of naive datetime columns."""
    zones: Mapping[str, str] = field(default_factory=dict)
    """Per-column overrides of ``timezone`` (column name -> IANA zone)."""
    kinds: Mapping[str, ColumnKind] = field(default_factory=dict)
    """Overrides of the reflected kind, for typeless columns (SQLite TEXT dates)."""
    source: str = "table"
    """The source's name, for messages."""
    origin: str | None = None
    """The config file this mapping came from, for messages."""


def db_error(where: str, url: str, error: SQLAlchemyError) -> SourceError:
    return SourceError(f"{where}: database {safe_url(url)} failed: {first_line(error)}")


class SqlTableSource(RecordSource):
    """Records in one table of any SQLAlchemy database."""

    def __init__(self, url: str, mapping: TableMapping) -> None:
        self.url = url
        self.mapping = mapping
        self.name = mapping.source
        self._where = ", ".join(
            part
            for part in (mapping.origin, f"source '{mapping.source}'", f"table '{mapping.table}'")
            if part
        )
        try:
            self.engine = create_engine(url)
        except SourceError as error:
            raise SourceError(f"{self._where}: {error}") from None
        database = sqlite_path(self.engine.url)
        if database is not None and not database.exists():
            # a dry run must not leave an empty database file behind
            raise SourceError(f"{self._where}: no such SQLite database file: {database}")
        self.zone = ZoneInfo(mapping.timezone)
        self._table: sa.Table | None = None

    # -- reflection and checks ---------------------------------------------------------

    @property
    def table(self) -> sa.Table:
        if self._table is None:
            self._table = self._reflect()
        return self._table

    def _reflect(self) -> sa.Table:
        schema, _, name = self.mapping.table.rpartition(".")
        try:
            return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=self.engine)
        except NoSuchTableError:
            try:
                names = sa.inspect(self.engine).get_table_names(schema=schema or None)
            except SQLAlchemyError:
                names = []
            raise SourceError(f"{self._where}: no such table{did_you_mean(name, names)}") from None
        except SQLAlchemyError as error:
            raise db_error(self._where, self.url, error) from None

    def test_connection(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1)))
        except SQLAlchemyError as error:
            raise db_error(self._where, self.url, error) from None
        _ = self.table

    def column(self, field_name: str, *, rule: str | None = None) -> sa.Column[Any]:
        """The reflected column that holds a rule field, or a one-line error."""
        name = self.mapping.fields.get(field_name, field_name)
        if name in self.table.columns:
            return self.table.columns[name]
        hint = did_you_mean(name, [c.name for c in self.table.columns])
        used_by = f"rule '{rule}' uses field '{field_name}', but " if rule else ""
        mapped = (
            f"column '{name}' (mapped from field '{field_name}')"
            if name != field_name
            else (f"column '{name}'")
        )
        raise SourceError(
            f"{self._where}: {used_by}the table has no {mapped}"
            + hint
            + "; map it under [sources.NAME.fields] in keepfor.toml"
        )

    @property
    def key_column(self) -> sa.Column[Any]:
        if self.mapping.key:
            return self.column(self.mapping.key)
        primary = list(self.table.primary_key.columns)
        if len(primary) != 1:
            raise SourceError(
                f"{self._where}: the table has no single-column primary key; name the key "
                'column with --key COL or key = "COL"'
            )
        return primary[0]

    def zone_of(self, column: sa.Column[Any]) -> ZoneInfo:
        """The zone a naive datetime column's values are local times of."""
        name = self.mapping.zones.get(column.name)
        return self.zone if name is None else ZoneInfo(name)

    def kind(self, column: sa.Column[Any]) -> ColumnKind:
        override = self.mapping.kinds.get(column.name)
        if override is not None:
            return override
        column_type = column.type
        if isinstance(column_type, sa.DateTime):
            return ColumnKind.INSTANT if column_type.timezone else ColumnKind.LOCAL
        if isinstance(column_type, sa.Date):
            return ColumnKind.DATE
        if isinstance(column_type, sa.Boolean) or _is_mysql_bool(column_type):
            return ColumnKind.BOOLEAN
        return ColumnKind.VALUE

    def check(self, rules: RuleSet) -> None:
        for _pack, rule in rules:
            if self._folds_false(match_predicate(rule)):
                continue
            for name in [*rule.applies_to, *rule.where]:
                if name not in self.mapping.constants:
                    self.column(name, rule=rule.id)
            for name in rule.retain.fields():
                column = self.column(name, rule=rule.id)
                if self.kind(column) not in (ColumnKind.DATE, ColumnKind.INSTANT, ColumnKind.LOCAL):
                    raise SourceError(
                        f"{self._where}: rule '{rule.id}' anchors on field '{name}', but column "
                        f"'{column.name}' is {column.type}, not a date or datetime; declare it "
                        f"DATE/DATETIME or set its kind under [sources.NAME.kinds]"
                    )
        _ = self.key_column

    def _folds_false(self, predicate: Predicate) -> bool:
        return fold(predicate, self.mapping.constants) is False

    # -- compiling ---------------------------------------------------------------------

    def where(self, predicate: Predicate) -> sa.ColumnElement[bool]:
        """The predicate as a SQL boolean over this table's columns."""
        return compile_predicate(predicate, self)

    # FieldSql: how the push-down compiler reads a field of this table

    @property
    def constants(self) -> Mapping[str, Any]:
        return self.mapping.constants

    def present(self, name: str) -> sa.ColumnElement[bool]:
        return self.column(name).is_not(None)

    def equals(self, name: str, value: Any) -> sa.ColumnElement[bool]:
        column = self.column(name)
        return column.is_(None) if value is None else column == value

    def on_or_before(self, name: str, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        column = self.column(name)
        kind = self.kind(column)
        if kind is ColumnKind.DATE:
            return column <= cutoff
        boundary = instant_on_or_before(cutoff, zone)
        if boundary is None:
            return column.is_not(None)
        if kind is ColumnKind.LOCAL:
            boundary = boundary.astimezone(self.zone_of(column)).replace(tzinfo=None)
        return column < boundary

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Record]:
        rows = self.select_rows(predicate, fields)
        for row in rows.rows:
            yield rows.record(row)

    def select_rows(self, predicate: Predicate, fields: Collection[str]) -> Rows:
        constants = dict(self.mapping.constants)
        # a field read only by rules the constants fold away (a complaint's date in a table
        # of orders) need not exist; every field the predicate reads is checked by where()
        columns = [(KEY, self.key_column)] + [
            (name, self.column(name))
            for name in fields
            if name not in constants
            and name != KEY
            and self.mapping.fields.get(name, name) in self.table.columns
        ]
        query = sa.select(*(column for _, column in columns)).where(self.where(predicate))
        volatile = tuple(
            i
            for i, (_, column) in enumerate(columns)
            if i and self.kind(column) in (ColumnKind.INSTANT, ColumnKind.LOCAL)
        )
        return Rows(
            tuple(name for name, _ in columns), self._stream(query, columns), constants, volatile
        )

    def _stream(
        self, query: sa.Select[Any], columns: list[tuple[str, sa.Column[Any]]]
    ) -> Iterator[Sequence[Any]]:
        readers = [
            (i, read) for i, (_, column) in enumerate(columns) if (read := self._reader(column))
        ]
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
                if not readers:
                    yield from result
                    return
                for row in result:
                    values: list[Any] | None = None
                    for i, read in readers:
                        if row[i] is not None:
                            if values is None:
                                values = list(row)
                            values[i] = read(row[i])
                    yield row if values is None else tuple(values)
        except SQLAlchemyError as error:
            raise db_error(self._where, self.url, error) from None

    def _reader(self, column: sa.Column[Any]) -> Callable[[Any], Any] | None:
        """How a column's values become what the engine reads: dates, aware datetimes."""
        kind = self.kind(column)
        if kind is ColumnKind.DATE:  # a DATE column already reads as a date
            declared = isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime)
            return None if declared and column.name not in self.mapping.kinds else _as_date
        if kind is ColumnKind.BOOLEAN:  # MySQL's TINYINT(1) reads as 0/1
            return None if isinstance(column.type, sa.Boolean) else bool
        if kind is ColumnKind.INSTANT:
            return _as_instant
        if kind is ColumnKind.LOCAL:
            zone = self.zone_of(column)
            return lambda value: _as_datetime(value).replace(tzinfo=zone)
        return None

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        """How many records each named predicate holds for, in one pass over the table."""
        if not predicates:
            return {}
        query = counts_query([self.where(p) for p in predicates.values()], self.table)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).one()
        except SQLAlchemyError as error:
            raise db_error(self._where, self.url, error) from None
        return {name: int(value) for name, value in zip(predicates, row, strict=True)}

    def count_by(self, predicate: Predicate, field_name: str) -> dict[Any, int]:
        if field_name in self.mapping.constants:
            group: sa.ColumnElement[Any] = sa.literal(self.mapping.constants[field_name])
        else:
            group = self.column(field_name)
        query = count_by_query(group, self.table, self.where(predicate))
        try:
            with self.engine.connect() as conn:
                return {row.value: int(row.n) for row in conn.execute(query)}
        except SQLAlchemyError as error:
            raise db_error(self._where, self.url, error) from None

    def dry_run_query(self, predicate: Predicate) -> str:
        query = sa.select(self.key_column).where(self.where(predicate))
        compiled = query.compile(self.engine, compile_kwargs={"literal_binds": True})
        return str(compiled)

    def close(self) -> None:
        self.engine.dispose()


def _is_mysql_bool(column_type: Any) -> bool:
    """MySQL/MariaDB's BOOLEAN, which reflects as TINYINT(1) (checked by name: importing
    the MySQL dialect would slow every start-up)."""
    return type(column_type).__name__ == "TINYINT" and getattr(column_type, "display_width", 0) == 1


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return datetime.fromisoformat(str(value))


def _as_instant(value: Any) -> datetime:
    instant = _as_datetime(value)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
