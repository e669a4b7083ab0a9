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

The mapping of fields to columns and the table's reflection:
:mod:`keepfor.connectors.sqltable`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from keepfor.abc import Group, Keyed, Record, RecordKey, RecordSource
from keepfor.connectors import grouping
from keepfor.connectors.choosing import DATE_HINTS, describe_use, field_column, lenient_dates
from keepfor.connectors.columns import ColumnKind, FieldColumn
from keepfor.connectors.derived import derived_column
from keepfor.connectors.pushdown import compile_predicate, counts_query, fold
from keepfor.connectors.sqltable import Rows, TableMapping, db_error, need_of, python_type, reflect
from keepfor.database import create_engine, require_sqlite_file
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate, match_predicate
from keepfor.engine.rules import RetentionRule, ValueKind
from keepfor.errors import SourceError, did_you_mean
from keepfor.holds.sql import HoldsTable, as_text, held_condition

__all__ = ["ColumnKind", "Rows", "SqlTableSource", "TableMapping", "db_error", "table_where"]

BATCH = 10_000
"""Rows fetched per round trip while streaming."""


def table_where(mapping: TableMapping) -> str:
    """How messages name a table source: its config file, source and table."""
    parts = (mapping.origin, f"source '{mapping.source}'", f"table '{mapping.table}'")
    return ", ".join(part for part in parts if part)


class SqlTableSource(RecordSource):
    """Records in one table of any SQLAlchemy database."""

    def __init__(self, url: str, mapping: TableMapping) -> None:
        self.url = url
        self.mapping = mapping
        self.name = mapping.source
        self.where_text = table_where(mapping)
        try:
            self.engine = create_engine(url)
        except SourceError as error:
            raise SourceError(f"{self.where_text}: {error}") from None
        lenient_dates(self.engine)
        self._open = False
        self.zone = ZoneInfo(mapping.timezone)
        self.dialect = self.engine.dialect.name
        self._table: sa.Table | None = None
        self.needs: dict[str, ValueKind] = {}
        self.zones: tuple[ZoneInfo, ...] = (ZoneInfo("UTC"),)
        """The packs' zones (a coarse key of datetimes is a local date in each)."""
        self._fields: dict[str, FieldColumn] = {}
        self._holds = HoldsTable()
        self._acted = HoldsTable("keepfor_acted")
        self._writing = threading.local()

    # -- reflection and checks ---------------------------------------------------------

    @property
    def table(self) -> sa.Table:
        if self._table is None:
            self._table = reflect(self.engine, self.mapping.table, self.where_text, self.url)
        return self._table

    def open(self) -> None:
        """Connect and reflect the table (once: a source reopened after :meth:`close`
        reconnects, and keeps what it knows of the table)."""
        if self._open:
            return
        require_sqlite_file(self.engine.url, self.where_text)
        self._ping()
        _ = self.table
        self._open = True

    def test_connection(self) -> None:
        if self._open:
            self._ping()
        else:
            self.open()

    def _ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1)))
        except SQLAlchemyError as error:
            raise db_error(self.where_text, self.url, error) from None

    @property
    def key(self) -> RecordKey:
        column = self.key_column
        return RecordKey(column.name, python_type(column) or str)

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
            f"{self.where_text}: {used_by}the table has no {mapped}"
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
                f"{self.where_text}: the table has no single-column primary key; name the key "
                'column with --key COL or key = "COL"'
            )
        return primary[0]

    def zone_of(self, column: sa.Column[Any]) -> ZoneInfo:
        """The zone a naive datetime column's values are local times of."""
        name = self.mapping.zones.get(column.name)
        return self.zone if name is None else ZoneInfo(name)

    def field(self, name: str, *, rule: str | None = None) -> FieldColumn:
        """How this table holds a rule field (its column, read as the rules need it)."""
        known = self._fields.get(name)
        if known is not None:
            return known
        if name in self.mapping.derived:
            self._fields[name] = derived_column(self, name, rule)
            return self._fields[name]
        column = self.column(name, rule=rule)
        need = self.needs.get(name) or need_of(column, self.mapping.kinds.get(column.name))
        made = field_column(
            column,
            self.dialect,
            need,
            kind=self.mapping.kinds.get(column.name),
            zone=self.zone_of(column),
        )
        if isinstance(made, str):
            raise SourceError(
                f"{self.where_text}: {describe_use(rule, name, need)}, "
                f"but column '{column.name}' {made}{DATE_HINTS[need]}"
            )
        self._fields[name] = made
        return made

    def related(self, name: str, where: str) -> sa.Table:
        """Another table of the same database (a derived field's), reflected."""
        schema, _, table = name.rpartition(".")
        try:
            return sa.Table(
                table, self.table.metadata, schema=schema or None, autoload_with=self.engine
            )
        except NoSuchTableError:
            raise SourceError(f"{where}: no such table '{name}'") from None
        except SQLAlchemyError as error:
            raise db_error(self.where_text, self.url, error) from None

    def check(self, rules: RuleSet) -> None:
        """Every field the rules read is a column that can hold it; the columns are then
        read the way the rules need them (a ``vip: true`` column as booleans)."""
        self.needs = rules.needs()
        self.zones = tuple(dict.fromkeys(pack.zone for pack in rules.packs))
        self._fields.clear()
        for _pack, rule in rules:
            if self._folds_false(match_predicate(rule)):
                continue
            for name, _value in rule.conditions():
                if name not in self.mapping.constants:
                    self.field(name, rule=rule.id)
            for name in rule.retain.fields():
                self.field(name, rule=rule.id)
        _ = self.key_column

    def _folds_false(self, predicate: Predicate) -> bool:
        return fold(predicate, self.mapping.constants) is False

    def may_apply(self, rule: RetentionRule) -> bool:
        return not self._folds_false(match_predicate(rule))

    # -- compiling ---------------------------------------------------------------------

    def where(self, predicate: Predicate) -> sa.ColumnElement[bool]:
        """The predicate as a SQL boolean over this table's columns."""
        return compile_predicate(predicate, self, dialect=self.dialect)

    # FieldSql: how the push-down compiler reads a field of this table

    @property
    def constants(self) -> Mapping[str, Any]:
        return self.mapping.constants

    def present(self, name: str) -> sa.ColumnElement[bool]:
        return self.field(name).present()

    def equals(self, name: str, value: Any) -> sa.ColumnElement[bool]:
        return self.field(name).equals(value)

    def on_or_before(self, name: str, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        return self.field(name).on_or_before(cutoff, zone)

    def bad(self, name: str, kind: ValueKind) -> sa.ColumnElement[bool]:
        return self.field(name).bad(kind)

    def held(self, today: date) -> sa.ColumnElement[bool]:
        """A hold of this source covers the row's key or customer (false while the
        database has no holds table: a report never creates one)."""
        try:
            if not self._holds.there(self._bind()):
                return sa.false()
        except SQLAlchemyError as error:
            raise db_error(self.where_text, self.url, error) from None
        customer = self.customer_column()
        text = None if customer is None else as_text(customer, self.dialect)
        return held_condition(self.name, as_text(self.key_column, self.dialect), text, today)

    @contextlib.contextmanager
    def writing(self, conn: sa.Connection) -> Iterator[None]:
        """Predicates compiled meanwhile (in this thread) ask ``conn``, the write
        transaction's, whether keepfor's tables are there, not a connection of their own."""
        self._writing.conn = conn
        try:
            yield
        finally:
            self._writing.conn = None

    def _bind(self) -> sa.Engine | sa.Connection:
        conn: sa.Connection | None = getattr(self._writing, "conn", None)
        return self.engine if conn is None else conn

    def acted(self, action: str) -> sa.ColumnElement[bool]:
        """keepfor already took ``action`` on the row (flagged, anonymised, queued): a
        mark in ``keepfor_acted`` on the key's text (false while there is no such table)."""
        from keepfor.actions import state

        try:
            if not self._acted.there(self._bind()):
                return sa.false()
        except SQLAlchemyError as error:
            raise db_error(self.where_text, self.url, error) from None
        return state.acted_condition(self.name, action, as_text(self.key_column, self.dialect))

    def customer_column(self) -> sa.ColumnElement[Any] | None:
        """What holds the ``customer`` field: a column, or the config's constant; None
        where the source has no customer (then only holds on a key hold its records)."""
        if "customer" in self.mapping.constants:
            return sa.literal(str(self.mapping.constants["customer"]), sa.String)
        name = self.mapping.fields.get("customer", "customer")
        return self.table.columns.get(name)

    # -- reading -----------------------------------------------------------------------

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        rows = self.rows_where(self.where(predicate), fields)
        for row in rows.rows:
            yield rows.keyed(row)

    def get(self, key: Any, fields: Collection[str]) -> Record | None:
        """The record whose key is ``key``, or None."""
        rows = self.rows_where(self.key_column == key, fields)
        with contextlib.closing(rows.rows) as stream:  # type: ignore[type-var]
            found = next(iter(stream), None)
        return None if found is None else rows.record(found)

    def columns_of(self, fields: Collection[str]) -> tuple[list[str], list[FieldColumn]]:
        """The fields this table holds (not those fixed by the config, nor those of rules
        the config folds away), and how each is read."""
        constants = self.mapping.constants
        names = [
            name
            for name in fields
            if name not in constants
            and (
                name in self.mapping.derived
                or self.mapping.fields.get(name, name) in self.table.columns
            )
        ]
        return names, [self.field(name) for name in names]

    def rows_where(self, where: sa.ColumnElement[bool], fields: Collection[str]) -> Rows:
        """The rows a SQL condition holds for, with the given fields, one by one."""
        names, columns = self.columns_of(fields)
        query = sa.select(self.key_column, *(c.selected() for c in columns)).where(where)
        readers = [(i + 1, c.read) for i, c in enumerate(columns) if c.read is not None]
        return Rows(tuple(names), self._stream(query, readers), dict(self.mapping.constants))

    def _stream(
        self, query: sa.Select[Any], readers: Sequence[tuple[int, Callable[[Any], Any]]]
    ) -> Iterator[Sequence[Any]]:
        for row in grouping.stream(self, query):
            if not readers:
                yield row
                continue
            values = list(row)
            for i, read in readers:
                if values[i] is not None:
                    values[i] = read(values[i])
            yield tuple(values)

    # -- groups and counts -------------------------------------------------------------

    def select_groups(
        self,
        predicate: Predicate,
        fields: Collection[str],
        *,
        bound: int = 10_000,
        whole: bool = False,
    ) -> Iterator[Group]:
        return grouping.select_groups(self, predicate, fields, bound, whole=whole)

    def holds_engine(self) -> sa.Engine:
        return self.engine

    def reads_ahead(self) -> bool:
        """Each read on a connection of its own, but for an in-memory SQLite database
        (one connection shared, or one database per thread)."""
        return not isinstance(self.engine.pool, sa.pool.SingletonThreadPool | sa.pool.StaticPool)

    def group_records(
        self, predicate: Predicate, group: Group, fields: Collection[str]
    ) -> Iterator[Keyed]:
        return grouping.group_records(self, predicate, group, fields)

    def group_keys(self, predicate: Predicate, group: Group) -> Iterator[Any]:
        return grouping.group_keys(self, predicate, group, group.low.keys())

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        """How many records each named predicate holds for, in one pass over the table."""
        if not predicates:
            return {}
        conditions = [self.where(p) for p in predicates.values()]
        if all(isinstance(c, sa.False_) for c in conditions):
            return dict.fromkeys(predicates, 0)  # no pass over the table for nothing
        query = counts_query(conditions, self.table, self.engine.dialect)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).one()
        except SQLAlchemyError as error:
            raise db_error(self.where_text, self.url, error) from None
        return {name: int(value) for name, value in zip(predicates, row, strict=True)}

    def dry_run_query(self, predicate: Predicate) -> str:
        query = sa.select(self.key_column).where(self.where(predicate))
        compiled = query.compile(self.engine, compile_kwargs={"literal_binds": True})
        return str(compiled)

    def close(self) -> None:
        self.engine.dispose()
        self._open = False
