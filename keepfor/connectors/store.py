"""keepfor's own record store (:mod:`keepfor.store`) as a source of records.

The store keeps one row per record and one row per field value
(``keepfor_record_fields``, typed columns). A query joins, for each rule field it
needs, that field's row (``LEFT JOIN ... ON record_id = id AND name = 'placed_at'``,
a primary-key lookup), so the same push-down compiler that serves users' tables
serves the store: a date field is due when ``value_date <= cutoff`` or
``value_instant <`` the first instant after the cutoff day in the pack's zone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Generator, Iterator, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import Keyed, Record, RecordKey, RecordSource
from keepfor.actions.state import acted_condition
from keepfor.connectors.pushdown import (
    compile_predicate,
    counts_query,
    instant_on_or_before,
)
from keepfor.connectors.sql import BATCH
from keepfor.database import first_line, safe_url
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import All, Predicate
from keepfor.engine.rules import ValueKind
from keepfor.errors import SourceError
from keepfor.holds.sql import HoldsTable, as_text, held_condition
from keepfor.store.db import open_store
from keepfor.store.models import Record as RecordRow
from keepfor.store.models import RecordField, field_value

__all__ = ["StoreSource"]

_RECORDS = RecordRow.__table__  # type: ignore[attr-defined]
_FIELDS = RecordField.__table__  # type: ignore[attr-defined]
_RECORD_COLUMNS = {"category": "category", "customer": "customer_key"}
"""Fields kept on the record row itself rather than as field rows."""


class _Query:
    """One query over the store: the record table and a join per field it touches."""

    constants: Mapping[str, Any] = {}

    def __init__(self, source: StoreSource | None = None) -> None:
        self.joins: dict[str, sa.Alias] = {}
        self.source = source

    def field(self, name: str) -> sa.Alias:
        if name not in self.joins:
            self.joins[name] = _FIELDS.alias(f"f{len(self.joins)}")
        return self.joins[name]

    def from_clause(self) -> sa.FromClause:
        joined: sa.FromClause = _RECORDS
        for name, alias in self.joins.items():
            joined = joined.outerjoin(
                alias, sa.and_(alias.c.record_id == _RECORDS.c.id, alias.c.name == name)
            )
        return joined

    # FieldSql

    def present(self, name: str) -> sa.ColumnElement[bool]:
        column: sa.ColumnElement[Any] = (
            _RECORDS.c[_RECORD_COLUMNS[name]]
            if name in _RECORD_COLUMNS
            else self.field(name).c.record_id
        )
        return column.is_not(None)

    def equals(self, name: str, value: Any) -> sa.ColumnElement[bool]:
        column: sa.ColumnElement[Any]
        if name in _RECORD_COLUMNS:
            column = _RECORDS.c[_RECORD_COLUMNS[name]]
            if value is None:
                return column.is_(None)
            if not isinstance(value, str):
                return sa.false()  # text never equals a number or true or false
            same: sa.ColumnElement[bool] = column == value
            return same
        if value is None:
            return sa.false()  # the store keeps no null values: a null field is absent
        alias = self.field(name)
        if isinstance(value, bool):
            column = alias.c.value_bool
        elif isinstance(value, (int, float)):
            column = alias.c.value_number
        else:
            column = alias.c.value_text
        matches: sa.ColumnElement[bool] = column == value
        return matches

    def bad(self, name: str, kind: ValueKind) -> sa.ColumnElement[bool]:
        """A field row holding another kind of value: text where a date is needed, a
        number where true or false is (the importer types every value it reads)."""
        if name in _RECORD_COLUMNS:  # text: never a date, nor true or false
            present: sa.ColumnElement[bool] = _RECORDS.c[_RECORD_COLUMNS[name]].is_not(None)
            return present
        alias = self.field(name)
        if kind is ValueKind.DATE:
            wrong = sa.and_(alias.c.value_date.is_(None), alias.c.value_instant.is_(None))
        elif kind is ValueKind.BOOLEAN:
            wrong = alias.c.value_bool.is_(None)
        else:
            return sa.false()
        return sa.and_(alias.c.record_id.is_not(None), wrong)

    def acted(self, action: str) -> sa.ColumnElement[bool]:
        """A sweep of the store took this action on the record (``keepfor_acted``; false
        where the store's database has no such table yet)."""
        source = self.source
        if source is None or not source.acted_exists():
            return sa.false()
        key = as_text(_RECORDS.c.key, source.engine.dialect.name)
        return acted_condition(source.name, action, key)

    def held(self, today: date) -> sa.ColumnElement[bool]:
        """A hold of the store covers the record's key or its customer (false where the
        store's database has no holds table)."""
        source = self.source
        if source is None or not source.holds_exist():
            return sa.false()
        dialect = source.engine.dialect.name
        return held_condition(
            source.name,
            as_text(_RECORDS.c.key, dialect),
            as_text(_RECORDS.c.customer_key, dialect),
            today,
        )

    def on_or_before(self, name: str, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        alias = self.field(name)
        boundary = instant_on_or_before(cutoff, zone)
        instant = alias.c.value_instant
        by_instant = instant.is_not(None) if boundary is None else instant < boundary
        return sa.or_(alias.c.value_date <= cutoff, by_instant)


class StoreSource(RecordSource):
    """Records in keepfor's own store (``keepfor db init`` / ``keepfor db import``)."""

    def __init__(self, url: str, name: str = "store") -> None:
        self.url = url
        self.name = name
        self._engine: sa.Engine | None = None
        self._holds = HoldsTable()
        self._acted = HoldsTable("keepfor_acted")

    @property
    def engine(self) -> sa.Engine:
        """The store's engine, opening the store on first use."""
        if self._engine is None:
            self._engine = open_store(self.url)
        return self._engine

    def holds_engine(self) -> sa.Engine:
        return self.engine

    def open(self) -> None:
        """Open the store: a one-line error when it is missing, unreachable or not
        initialised."""
        if self._engine is None:
            self.test_connection()

    def test_connection(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1)))
        except SQLAlchemyError as error:
            raise self._error(error) from None

    @property
    def key(self) -> RecordKey:
        return RecordKey("key", str)

    def check(self, rules: RuleSet) -> None:
        """Every field can be read: the store holds any field a record was imported with."""

    def holds_exist(self) -> bool:
        """The store's database has ``keepfor_holds``."""
        try:
            return self._holds.there(self.engine)
        except SQLAlchemyError as error:
            raise self._error(error) from None

    def acted_exists(self) -> bool:
        """The store's database has ``keepfor_acted`` (a sweep of it has run)."""
        try:
            return self._acted.there(self.engine)
        except SQLAlchemyError as error:
            raise self._error(error) from None

    def keyed(self, predicate: Predicate, keys: Collection[str]) -> sa.Select[Any]:
        """``SELECT id, key`` of the records with these keys that the predicate still
        selects: what a sweep's batch re-checks before it acts."""
        query = _Query(self)
        where = self._where(query, predicate)
        return (
            sa.select(_RECORDS.c.id, _RECORDS.c.key)
            .select_from(query.from_clause())
            .where(_RECORDS.c.key.in_(keys), where)
        )

    def _error(self, error: SQLAlchemyError) -> SourceError:
        return SourceError(f"store {safe_url(self.url)} failed: {first_line(error)}")

    def _where(self, query: _Query, predicate: Predicate) -> sa.ColumnElement[bool]:
        return compile_predicate(predicate, query, dialect=self.engine.dialect.name)

    def get(self, key: Any, fields: Collection[str]) -> Record | None:
        """The record whose key is ``key``, or None."""
        stream = self._select(All(()), fields, _RECORDS.c.key == key)
        with contextlib.closing(stream):
            found = next(stream, None)
        return None if found is None else found.record

    def known_fields(self) -> set[str]:
        """Every field name some record of the store has."""
        statement = sa.select(_FIELDS.c.name).distinct()
        try:
            with self.engine.connect() as conn:
                return set(conn.execute(statement).scalars()) | set(_RECORD_COLUMNS)
        except SQLAlchemyError as error:
            raise self._error(error) from None

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        return self._select(predicate, fields, sa.true())

    def _select(
        self, predicate: Predicate, fields: Collection[str], also: sa.ColumnElement[bool]
    ) -> Generator[Keyed, None, None]:
        query = _Query(self)
        where = sa.and_(self._where(query, predicate), also)
        names = [f for f in dict.fromkeys(fields) if f not in _RECORD_COLUMNS]
        aliases = [query.field(name) for name in names]
        values = [
            alias.c[column]
            for alias in aliases
            for column in (
                "value_text",
                "value_number",
                "value_bool",
                "value_date",
                "value_instant",
            )
        ]
        statement = (
            sa.select(_RECORDS.c.key, _RECORDS.c.customer_key, _RECORDS.c.category, *values)
            .select_from(query.from_clause())
            .where(where)
        )
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=BATCH)
                for row in result.execute(statement):
                    record: dict[str, Any] = {"customer": row[1], "category": row[2]}
                    for i, name in enumerate(names):
                        cells = row[3 + 5 * i : 8 + 5 * i]
                        if any(cell is not None for cell in cells):
                            record[name] = field_value(_Cells(*cells))
                    yield Keyed(row[0], record)
        except SQLAlchemyError as error:
            raise self._error(error) from None

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        if not predicates:
            return {}
        query = _Query(self)
        conditions = [self._where(query, p) for p in predicates.values()]
        if all(isinstance(c, sa.False_) for c in conditions):
            return dict.fromkeys(predicates, 0)  # no pass over the store for nothing
        statement = counts_query(conditions, query.from_clause(), self.engine.dialect)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(statement).one()
        except SQLAlchemyError as error:
            raise self._error(error) from None
        return {name: int(value) for name, value in zip(predicates, row, strict=True)}

    def dry_run_query(self, predicate: Predicate) -> str:
        query = _Query(self)
        where = self._where(query, predicate)
        statement = sa.select(_RECORDS.c.key).select_from(query.from_clause()).where(where)
        return str(statement.compile(self.engine, compile_kwargs={"literal_binds": True}))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class _Cells:
    """A field row's typed values, as :func:`keepfor.store.models.field_value` reads them."""

    __slots__ = ("value_bool", "value_date", "value_instant", "value_number", "value_text")

    def __init__(self, text: Any, number: Any, flag: Any, day: Any, instant: Any) -> None:
        self.value_text = text
        self.value_number = number
        self.value_bool = flag
        self.value_date = day
        self.value_instant = instant
