"""How one column of a user's table holds one rule field, on SQL's side and Python's.

A :class:`FieldColumn` says, for one column of one dialect, everything the push-down
and the reader need, so that the database and the engine read every value alike:

* ``selected()``: what the query returns for it, and ``read``: how Python turns that
  into what the engine evaluates (a value of the wrong kind is passed on unchanged:
  the engine calls the record unreadable and says which value);
* ``present()``, ``equals(v)``, ``on_or_before(cutoff, zone)``: the predicate leaves;
* ``bad(kind)``: the value is there but is not what the rules need (a text that is
  not a date, a ``2`` where a condition needs true or false).

:func:`keepfor.connectors.choosing.field_column` picks the class from the column's type,
the dialect, the config's ``kinds`` override and what the rules need of the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from keepfor.connectors.pushdown import instant_on_or_before
from keepfor.connectors.textdates import TextDates
from keepfor.engine.datetext import DateTextError, parse_date_text
from keepfor.engine.rules import ValueKind

__all__ = [
    "BooleanColumn",
    "ColumnKind",
    "DateColumn",
    "EpochColumn",
    "FieldColumn",
    "InstantColumn",
    "IntBooleanColumn",
    "TextDateColumn",
    "from_epoch",
    "read_date_text",
]


class ColumnKind(StrEnum):
    """The config's ``kinds``: how a column holds dates, where its type does not say."""

    DATE = "date"  # a date, or text holding dates
    INSTANT = "instant"  # an aware timestamp; text or naive values in UTC
    LOCAL = "local"  # a naive datetime: local time in the source's zone
    EPOCH = "epoch"  # seconds since 1970-01-01T00:00Z
    EPOCH_MS = "epoch_ms"  # milliseconds since 1970-01-01T00:00Z


class FieldColumn:
    """A column matched for equality only (text, numbers)."""

    read: Callable[[Any], Any] | None = None
    """How Python reads a selected value; None: as the driver gives it."""

    def __init__(self, column: sa.Column[Any], dialect: str) -> None:
        self.column = column
        self.dialect = dialect

    def selected(self) -> sa.ColumnElement[Any]:
        return self.column

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        """What records of one case agree on: the value itself, byte for byte (a
        collation that ignores case or trailing spaces would put ``'Order'`` with
        ``'order'``), or for a datetime a coarse key (an hour, a local date per pack zone)
        with :meth:`span` the lowest and highest value of the group."""
        if self.dialect == "sqlite":
            return [_collate_binary(self.selected())]
        if self._mariadb_text():  # the bytes: the value itself comes from span()
            return [sa.func.binary(self.column)]
        return [self.selected()]

    def span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]] | None:
        """The lowest and highest value of a group, for a field grouped by a coarse key
        (or by its bytes, on MariaDB: every value of such a group is the same)."""
        if self._mariadb_text():
            return sa.func.min(self.selected()), sa.func.max(self.selected())
        return None

    def _mariadb_text(self) -> bool:
        return self.dialect in ("mysql", "mariadb") and isinstance(self.column.type, sa.String)

    def _equals_text(self, value: Any) -> sa.ColumnElement[bool]:
        """``column = value`` as Python compares them: a text byte for byte, whatever the
        column's collation (SQLite's ``NOCASE`` and ``RTRIM``; MariaDB's defaults ignore
        case and trailing spaces: ``'Order '`` = ``'order'``)."""
        left: sa.ColumnElement[Any] = self.column
        if isinstance(value, str) and self.dialect in ("mysql", "mariadb"):
            left = sa.func.binary(self.column)
        elif isinstance(value, str) and self.dialect == "sqlite":
            left = _collate_binary(self.column)
        matches: sa.ColumnElement[bool] = left == value
        return matches

    def present(self) -> sa.ColumnElement[bool]:
        return self.column.is_not(None)

    def equals(self, value: Any) -> sa.ColumnElement[bool]:
        if value is None:
            return self.column.is_(None)
        if isinstance(value, bool):
            return sa.false()  # this column never holds true or false
        return self._equals_text(value)

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        """The value is present and not what the rules need."""
        if kind is ValueKind.BOOLEAN:
            return self.column.is_not(None)  # whatever it holds is no true or false
        return sa.false()

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        raise TypeError(f"column {self.column.name} holds no dates")


class BooleanColumn(FieldColumn):
    """A native boolean (PostgreSQL): every value is true, false or NULL."""

    def equals(self, value: Any) -> sa.ColumnElement[bool]:
        if value is None:
            return self.column.is_(None)
        return self.column == value if isinstance(value, bool) else sa.false()

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        return sa.false()


def _collate_binary(expression: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """SQLite's ``expression COLLATE binary``: compared byte for byte, its type (and so how
    its values are read) and its affinity unchanged."""
    collated: sa.ColumnElement[Any] = expression.op("COLLATE")(sa.literal_column("binary"))
    return collated


def _int_boolean(value: Any) -> Any:
    """0 and 1 as false and true; anything else unchanged (and so not a boolean)."""
    return value == 1 if type(value) is int and value in (0, 1) else value


class IntBooleanColumn(FieldColumn):
    """True and false kept as the integers 1 and 0 (SQLite, MariaDB's TINYINT(1), integer
    columns): any other value is not a boolean. SQLite's typeless columns may hold text
    or reals too, so there the storage class is checked as well."""

    read = staticmethod(_int_boolean)

    def selected(self) -> sa.ColumnElement[Any]:
        return sa.type_coerce(self.column, sa.types.NullType())  # no driver conversion

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        keys = super().group_keys(zones)
        if self.dialect == "sqlite":  # 1 and 1.0 are one value to GROUP BY, not to a rule
            keys.append(sa.func.typeof(self.column))
        return keys

    def _boolean(self) -> sa.ColumnElement[bool]:
        is_bit = self.column.in_([0, 1])
        if self.dialect == "sqlite":
            return sa.and_(sa.func.typeof(self.column) == "integer", is_bit)
        return is_bit

    def equals(self, value: Any) -> sa.ColumnElement[bool]:
        if value is None:
            return self.column.is_(None)
        if isinstance(value, bool):
            return sa.and_(self._boolean(), self.column == int(value))
        if isinstance(value, int) and value in (0, 1):
            return sa.false()  # 0 and 1 read as false and true, which equal no number
        return self._equals_text(value)

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is ValueKind.BOOLEAN:
            return sa.and_(self.column.is_not(None), sa.not_(self._boolean()))
        return sa.false()


class DateColumn(FieldColumn):
    """A typed ``DATE`` (PostgreSQL, MariaDB)."""

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        return self.column <= cutoff

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is not ValueKind.DATE:
            return super().bad(kind)
        return _out_of_range(self.column, self.dialect, date.min, date.max)


class InstantColumn(FieldColumn):
    """An instant: ``timestamptz``, or a naive ``DATETIME`` the config says is UTC."""

    def __init__(self, column: sa.Column[Any], dialect: str, zone: ZoneInfo) -> None:
        super().__init__(column, dialect)
        self.zone = zone
        aware = isinstance(column.type, sa.DateTime) and column.type.timezone
        self.read = None if aware else self._attach

    def _attach(self, value: Any) -> Any:
        return value.replace(tzinfo=self.zone) if type(value) is datetime else value

    def _bound(self, instant: datetime) -> datetime:
        if self.read is None:
            return instant
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        if self.dialect == "postgresql":  # the local date in each pack's zone
            instant: sa.ColumnElement[Any] = self.column
            if self.read is not None:  # a wall-clock time of self.zone
                instant = sa.func.timezone(self.zone.key, self.column)
            return [sa.cast(sa.func.timezone(z.key, instant), sa.Date) for z in zones]
        return [sa.func.date_format(self.column, "%Y-%m-%d %H")]  # MariaDB: the hour

    def span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        return sa.func.min(self.column), sa.func.max(self.column)

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        boundary = instant_on_or_before(cutoff, zone)
        if boundary is None:
            return self.column.is_not(None)
        return self.column < self._bound(boundary)

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is not ValueKind.DATE:
            return super().bad(kind)
        if self.read is None:  # aware: Python holds the instants of years 1 to 9999 (UTC)
            low, high = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        else:  # naive: any wall-clock time of years 1 to 9999
            low = datetime.min  # noqa: DTZ901 - a wall-clock time, in the column's own zone
            high = datetime.max  # noqa: DTZ901
        return _out_of_range(self.column, self.dialect, low, high)


def _out_of_range(
    column: sa.Column[Any], dialect: str, low: Any, high: Any
) -> sa.ColumnElement[bool]:
    """A typed date or time Python cannot hold: PostgreSQL's ``infinity``, BC dates and
    years past 9999; MariaDB's zero dates (``0000-00-00``, ``2019-00-10``)."""
    if dialect == "postgresql":
        return sa.or_(column < low, column > high)
    if dialect in ("mysql", "mariadb"):
        parts = (sa.func.year(column), sa.func.month(column), sa.func.dayofmonth(column))
        return sa.and_(column.is_not(None), sa.or_(*(part == 0 for part in parts)))
    return sa.false()


def read_date_text(value: Any, zone: ZoneInfo) -> Any:
    """A text of the grammar as the engine evaluates it: a date, or an aware datetime (a
    wall-clock time taken in ``zone``); anything else unchanged (the engine says it is
    no date)."""
    if type(value) is not str or not value:
        return value
    try:
        moment = parse_date_text(value)
    except DateTextError:
        return value
    if type(moment) is datetime and moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment


class TextDateColumn(FieldColumn):
    """Dates kept as text of keepfor's grammar (every date column on SQLite); wall-clock
    times are read in ``zone``."""

    def __init__(self, column: sa.Column[Any], dialect: str, sql: TextDates, zone: ZoneInfo):
        super().__init__(column, dialect)
        self.sql = sql
        self.zone = zone

    def selected(self) -> sa.ColumnElement[Any]:
        return sa.type_coerce(self.column, sa.types.NullType())  # the text as stored

    def read(self, value: Any) -> Any:
        return read_date_text(value, self.zone)

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        return self.sql.group_keys()

    def span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        return self.sql.span()

    def present(self) -> sa.ColumnElement[bool]:
        return self.sql.present()

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is not ValueKind.DATE:
            return super().bad(kind)
        return sa.and_(self.sql.present(), sa.not_(self.sql.well_formed()))

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        utc = instant_on_or_before(cutoff, zone)
        local = None if utc is None else utc.astimezone(self.zone).replace(tzinfo=None)
        return self.sql.on_or_before(cutoff, utc, local)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_RANGE = (
    (datetime.min.replace(tzinfo=UTC) - _EPOCH).total_seconds(),
    (datetime.max.replace(tzinfo=UTC, microsecond=0) - _EPOCH).total_seconds(),
)


def from_epoch(value: Any, scale: int = 1) -> Any:
    """Seconds (``scale`` 1) or milliseconds (1000) since 1970 as an aware UTC datetime,
    the fraction of a second beyond microseconds dropped; anything else unchanged."""
    if type(value) not in (int, float):
        return value
    seconds = value / scale if scale != 1 else value
    if not _EPOCH_RANGE[0] <= seconds <= _EPOCH_RANGE[1]:
        return value
    whole = math.floor(seconds)
    micros = math.floor((seconds - whole) * 1_000_000)
    return _EPOCH + timedelta(seconds=whole, microseconds=micros)


class EpochColumn(FieldColumn):
    """Instants kept as a number of seconds or milliseconds since 1970 (the config's
    ``kinds``: ``epoch``, ``epoch_ms``)."""

    def __init__(self, column: sa.Column[Any], dialect: str, scale: int) -> None:
        super().__init__(column, dialect)
        self.scale = scale

    def selected(self) -> sa.ColumnElement[Any]:
        return sa.type_coerce(self.column, sa.types.NullType())

    def read(self, value: Any) -> Any:
        return from_epoch(value, self.scale)

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        return [sa.func.floor(self.column / (3600 * self.scale))]  # the hour

    def span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        return sa.func.min(self.selected()), sa.func.max(self.selected())

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is not ValueKind.DATE:
            return super().bad(kind)
        low, high = (bound * self.scale for bound in _EPOCH_RANGE)
        in_range = sa.and_(self.column >= low, self.column <= high)
        if self.dialect == "sqlite":
            is_number = sa.func.typeof(self.column).in_(["integer", "real"])
            in_range = sa.and_(is_number, in_range)
        return sa.and_(self.column.is_not(None), sa.not_(in_range))

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        boundary = instant_on_or_before(cutoff, zone)
        if boundary is None:
            return self.column.is_not(None)
        return self.column < int((boundary - _EPOCH).total_seconds()) * self.scale
