"""Dates held as text, in SQL: the grammar of :mod:`keepfor.engine.datetext`, per dialect.

SQLite keeps every date as text (``2023-03-31``, ``2023-03-31 00:00:00.000000``,
``2023-03-31T00:00:00Z`` ...), and some applications keep dates in text columns on
PostgreSQL and MariaDB too. Comparing such text with a bound as a string goes wrong
(``T`` sorts after a space; ``31/12/2015`` sorts before ``2015-12-31``), so each value
is read by its form, exactly as Python reads it:

* :meth:`TextDates.well_formed` is true for a text of the grammar and for nothing else
  (the same shape and ranges, and a real calendar day);
* :meth:`TextDates.on_or_before` assumes a well-formed value (every due predicate is
  joined with "readable") and compares it by form: a date as ``YYYY-MM-DD`` text; a
  wall-clock time as ``YYYY-MM-DD HH:MM:SS`` text (fraction dropped: a day starts on a
  whole second, so ``t < start`` and ``floor(t) < start`` agree) against the day's start
  in the column's zone; a time with an offset converted to UTC by the database and
  compared with the day's start in UTC. Where that conversion could raise on a
  malformed value (PostgreSQL casts), it is guarded, so a malformed value in a rule
  that does not apply never fails a query.

A cheap necessary condition comes first (``text < cutoff + 3 days``: a wall-clock date
is within two days of any zone's date), so an index on the column can serve it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from keepfor.connectors.fragments import column_fragment

__all__ = ["TextDates", "text_dates"]

_DAY_TEXT = "%Y-%m-%d"
_MOMENT_TEXT = "%Y-%m-%d %H:%M:%S"

_REGEX = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
"""The grammar as a POSIX regular expression (PostgreSQL, MariaDB); calendar days apart."""


class TextDates(ABC):
    """SQL over one text column holding dates of the grammar."""

    DIALECT = "sqlite"
    """The dialect whose SQL this class writes (the one its checks are compiled for)."""

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column
        self.v: sa.ColumnElement[str] = sa.type_coerce(column, sa.String())
        self._formed: sa.ColumnElement[bool] | None = None

    def _len(self, text: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        """The length in characters (``length`` counts bytes on MariaDB; ``char_length``
        does not print its arguments in --show-query on SQLite)."""
        return sa.func.length(text)

    def present(self) -> sa.ColumnElement[bool]:
        """A value at all: not NULL and not the empty text (``''`` is no value)."""
        return sa.and_(self.v.is_not(None), self._len(self.v) > 0)

    def group_keys(self) -> list[sa.ColumnElement[Any]]:
        """A coarse key for grouping: the text up to its hour, its length (negated for a
        text that is no date), and its offset. Within a group of well-formed texts, text
        order is time order, so the group's lowest and highest text decide it. A text that
        is no date can sort between two that are ('10:3a' between '10:20' and '10:40'), so
        the texts that are no date are grouped apart; their groups are read record by
        record, each shown as it is. A text of up to 13 characters is its own group."""
        hour = sa.func.substr(self.v, 1, 13)
        signed = column_fragment(type(self)._signed_length, self.column, self.DIALECT)
        suffix = column_fragment(type(self)._suffix, self.column, self.DIALECT)
        return [hour, signed, suffix]

    @classmethod
    def _signed_length(cls, column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        """The length, negated for a text that is no date: one key, no wider a sort."""
        self = cls(column)
        v, length = self.v, self._len(self.v)
        formed = sa.or_(v.is_(None), length <= 13, self.well_formed())
        return sa.case((formed, length), else_=-length)

    @classmethod
    def _suffix(cls, column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
        """The offset (``Z``, ``+hh:mm``), or ``''``."""
        self = cls(column)
        v, length = self.v, self._len(self.v)
        return sa.case(
            # no value, a date, or a time to the minute with no room for an offset
            (sa.or_(v.is_(None), length <= 16), ""),
            (sa.func.substr(v, length, 1) == "Z", "Z"),
            (sa.func.substr(v, length - 5, 1).in_(["+", "-"]), sa.func.substr(v, length - 5)),
            else_="",
        )

    def span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """The lowest and highest text of a group, in byte order."""
        return sa.func.min(self._text()), sa.func.max(self._text())

    def well_formed(self) -> sa.ColumnElement[bool]:
        """The text is a date or datetime of the grammar (NULL for NULL). Built and
        compiled once per dialect, for every column (:mod:`keepfor.connectors.fragments`):
        a predicate uses it in many places."""
        if self._formed is None:
            self._formed = column_fragment(type(self)._check, self.column, self.DIALECT)
        return self._formed

    @classmethod
    def _check(cls, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return cls(column)._well_formed()

    @abstractmethod
    def _well_formed(self) -> sa.ColumnElement[bool]:
        """:meth:`well_formed`, as this dialect says it."""

    def on_or_before(
        self, cutoff: date, utc_start: datetime | None, local_start: datetime | None
    ) -> sa.ColumnElement[bool]:
        """The value's date is on or before ``cutoff`` in the pack's zone, for a well-formed
        value. ``utc_start``/``local_start``: the first instant after the cutoff day, in UTC
        and as a wall-clock time of the column's zone (None: every instant is before)."""
        if utc_start is None or local_start is None:
            return self.v.is_not(None)
        return column_fragment(
            type(self)._before,
            self.column,
            self.DIALECT,
            (cutoff + timedelta(days=3)).strftime(_DAY_TEXT),
            cutoff.strftime(_DAY_TEXT),
            self._utc(utc_start),
            local_start.strftime(_MOMENT_TEXT),
        )

    @classmethod
    def _before(
        cls,
        column: sa.ColumnElement[Any],
        soon: sa.ColumnElement[str],
        day: sa.ColumnElement[str],
        utc_start: sa.ColumnElement[Any],
        local_start: sa.ColumnElement[str],
    ) -> sa.ColumnElement[bool]:
        """:meth:`on_or_before`, its bounds as placeholders: ``soon`` three days after the
        cutoff (a cheap necessary condition first, which an index can serve), ``day``
        the cutoff, and the first instant after it in UTC and in the column's zone."""
        self = cls(column)
        return sa.and_(
            self._text() < soon,
            sa.case(
                (self._len(self.v) == 10, self._text() <= day),
                (self._has_offset(), self._aware_before(utc_start)),
                else_=self._wall_clock() < local_start,
            ),
        )

    def _utc(self, utc_start: datetime) -> Any:
        """The first instant after the cutoff day, as :meth:`_aware_before` compares it."""
        return utc_start.strftime(_MOMENT_TEXT)

    def _text(self) -> sa.ColumnElement[str]:
        """The value for comparisons as text, byte for byte."""
        return self.v

    def _has_offset(self) -> sa.ColumnElement[bool]:
        last = sa.func.substr(self.v, self._len(self.v), 1)
        sign = sa.func.substr(self.v, self._len(self.v) - 5, 1)
        return sa.or_(last == "Z", sign.in_(["+", "-"]))

    def _offset_length(self) -> sa.ColumnElement[int]:
        last = sa.func.substr(self.v, self._len(self.v), 1)
        return sa.case((last == "Z", 1), else_=6)

    def _core(self, body: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        """``YYYY-MM-DD HH:MM:SS`` of a date-and-time text without its offset."""
        padded = sa.func.replace(body, "T", " ").concat(":00")
        return sa.func.substr(padded, 1, 19)

    def _wall_clock(self) -> sa.ColumnElement[str]:
        return self._core(self.v)

    def _aware_core(self) -> sa.ColumnElement[str]:
        body = sa.func.substr(self.v, 1, self._len(self.v) - self._offset_length())
        return self._core(body)

    def _offset(self) -> sa.ColumnElement[str]:
        return sa.func.substr(self.v, self._len(self.v) - self._offset_length() + 1)

    @abstractmethod
    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """A value with an offset is an instant earlier than ``utc_start`` (as :meth:`_utc`
        writes it)."""


class _SQLite(TextDates):
    """SQLite: ``date()`` and ``julianday()`` read the digits and the calendar, GLOB the
    shape; ``datetime()`` converts offsets to UTC (on the text without its fraction,
    which SQLite would round to the millisecond)."""

    def present(self) -> sa.ColumnElement[bool]:
        """Not NULL and not ``''``, compared as bytes: ``length()`` stops at a NUL, so a
        text that starts with one (which Python reads as a value, and unreadable) would
        count as no value."""
        return sa.and_(self.v.is_not(None), self._bare() != "")

    def _well_formed(self) -> sa.ColumnElement[bool]:
        """A date, or a datetime, that SQLite's own date functions read (one function
        call each, the common forms first); else the full check, exact by itself (also
        on a UTF-16 database). True or false for every value, never NULL: ``NOT NULL``
        is NULL, which counted a month 13 due."""
        return sa.or_(self._day(), self._moment(), self._any_form())

    def _bare(self) -> sa.ColumnElement[str]:
        """The value without the column's affinity and collation (``+v``): a DATE column
        would read ``'0001'`` as a number, and tries to, at a cost, for every row."""
        plus: UnaryExpression[str] = UnaryExpression(self.v, operator=operators.custom_op("+"))
        return sa.collate(plus, "binary")

    def _day(self) -> sa.ColumnElement[bool]:
        """``YYYY-MM-DD``: ``date(v, '+0 days')`` writes a real day back unchanged, and
        moves 2023-02-29 to 03-01 (without a modifier SQLite would echo it); NULL for a
        month 13, a day 32 or any other text. Year 0000 and 29 February 300 aside (see
        :func:`_real_day`): one comparison for a day after it."""
        bare = self._bare()
        return sa.and_(
            self._len(self.v) == 10,
            _same(sa.func.date(self.v, "+0 days"), bare),
            sa.or_(bare > _NO_DAY, sa.and_(bare >= "0001-01-01", bare < _NO_DAY)),
        )

    def _moment(self) -> sa.ColumnElement[bool]:
        """A datetime: GLOB fixes its form by its length in bytes (so no NUL and no
        other than ASCII character is in it) and ``julianday()`` reads every digit
        strictly (month to 12, day to 31, minute and second to 59, offset to 14:59);
        left: hour 24, year 0000, a blob, days 29 to 31 of a shorter month."""
        v, bare = self.v, self._bare()
        arms: dict[int, sa.ColumnElement[bool]] = {}
        for size, patterns in _MOMENT_SHAPES.items():
            *first, last = [v.op("GLOB")(pattern) for pattern in patterns]
            arms[size] = sa.case(*((g, sa.true()) for g in first), else_=last) if first else last
        shape = sa.case(arms, value=sa.func.length(sa.cast(v, sa.LargeBinary)), else_=sa.false())
        day = sa.func.substr(v, 1, 10)
        return sa.and_(
            shape,
            sa.func.julianday(v).is_not(None),
            bare.between("0001-01-01", ":"),  # not year 0000, not a blob (after any text)
            sa.func.substr(v, 12, 2) < "24",
            sa.or_(sa.func.substr(v, 9, 2) <= "28", _real_day(day)),
        )

    def _any_form(self) -> sa.ColumnElement[bool]:
        """Every form: one GLOB per form of the value's length in characters (at most
        three), then the ranges GLOB cannot say: hour to 23, offset hours to 14, a real
        calendar day, year 0001 on; a text (not a blob) with no NUL in it."""
        v = self.v
        by_length: dict[int, list[sa.ColumnElement[bool]]] = {}
        for pattern, offset in _SQLITE_FORMS:
            matches: sa.ColumnElement[bool] = v.op("GLOB")(pattern)
            if offset:
                matches = sa.and_(matches, sa.func.substr(v, -5, 2) <= "14")
            by_length.setdefault(_glob_length(pattern), []).append(matches)
        shape = sa.case(
            {n: sa.or_(*forms) for n, forms in sorted(by_length.items())},
            value=self._len(v),
            else_=sa.false(),
        )
        day = sa.func.substr(v, 1, 10)
        month, day_of_month = sa.func.substr(v, 6, 2), sa.func.substr(v, 9, 2)
        return sa.and_(
            sa.func.typeof(v) == "text",
            sa.func.instr(v, sa.func.char(0)) == 0,
            shape,
            # not "v >= '0001'": a DATE column's numeric affinity would read '0001' as 1
            sa.func.substr(v, 1, 4) != "0000",
            sa.or_(self._len(v) == 10, sa.func.substr(v, 12, 2) <= "23"),
            sa.or_(  # every month has days 01 to 28; past them, SQLite's calendar says
                sa.and_(month.between("01", "12"), day_of_month.between("01", "28")),
                _real_day(day),
            ),
        )

    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        utc = sa.func.datetime(self._aware_core().concat(self._offset()))
        return utc < utc_start


class _PostgreSQL(TextDates):
    """PostgreSQL: a regular expression for the shape, date arithmetic for real calendar
    days, a cast to ``timestamptz`` (guarded) for offsets; text compared in the C
    collation (byte order), whatever the column's own collation."""

    DIALECT = "postgresql"

    def _well_formed(self) -> sa.ColumnElement[bool]:
        v = self.v
        first = sa.cast(sa.func.substr(v, 1, 7).concat("-01"), sa.Date)
        month_less_a_day = sa.literal_column("interval '1 month - 1 day'", sa.Interval)
        last_day = sa.extract("day", first + month_less_a_day)
        return sa.case(
            (
                sa.and_(v.op("~")(_REGEX), sa.func.substr(v, 1, 4) != "0000"),
                sa.cast(sa.func.substr(v, 9, 2), sa.Integer) <= last_day,
            ),
            else_=sa.false(),
        )

    def _text(self) -> sa.ColumnElement[str]:
        return self.v.collate("C")

    def _wall_clock(self) -> sa.ColumnElement[str]:
        return super()._wall_clock().collate("C")

    def _utc(self, utc_start: datetime) -> Any:
        return utc_start

    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        instant = sa.cast(self._aware_core().concat(self._offset()), sa.DateTime(timezone=True))
        return sa.case((self.well_formed(), instant < utc_start), else_=None)


class _MariaDB(TextDates):
    """MariaDB/MySQL: a case-sensitive regular expression for the shape, ``LAST_DAY``
    for real calendar days, offsets applied as minutes (no time zone tables needed)."""

    DIALECT = "mysql"

    def _len(self, text: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        return sa.func.char_length(text)

    def _well_formed(self) -> sa.ColumnElement[bool]:
        v = self.v
        last_day = sa.func.dayofmonth(sa.func.last_day(sa.func.substr(v, 1, 7).concat("-01")))
        return sa.and_(
            v.op("REGEXP")("(?-i)" + _REGEX),
            sa.func.substr(v, 1, 4) != "0000",
            sa.cast(sa.func.substr(v, 9, 2), sa.Integer) <= last_day,
        )

    def _utc(self, utc_start: datetime) -> Any:
        return utc_start.replace(tzinfo=None)

    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        offset = self._offset()
        minutes = sa.case(
            (offset == "Z", 0),
            else_=(
                sa.cast(sa.func.substr(offset, 2, 2), sa.Integer) * 60
                + sa.cast(sa.func.substr(offset, 5, 2), sa.Integer)
            )
            * sa.case((sa.func.substr(offset, 1, 1) == "-", -1), else_=1),
        )
        wall = sa.cast(self._aware_core(), sa.DateTime())
        utc = sa.func.timestampadd(sa.text("MINUTE"), -minutes, wall, type_=sa.DateTime())
        return utc < utc_start


def _same(a: sa.ColumnElement[Any], b: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """SQLite's ``a IS b``: equal, and false (not NULL) where either is NULL.
    (``is_not_distinct_from`` drops literal binds in SQLAlchemy's SQLite compiler.)"""
    return a.op("IS", is_comparison=True)(b)


_NO_DAY = "0300-02-29"
"""The one text of ``YYYY-MM-DD`` in years 0000 to 9999 that SQLite's ``date()`` takes
for a real day and is not (measured for every month 00-13 and day 00-32 of every year,
SQLite 3.40: its calendar has 29 February 300 and no 1 March 300)."""


def _real_day(day: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """A ``YYYY-MM-DD`` text of digits is a real day (year 0000 aside), by SQLite's
    calendar corrected where it is wrong; never NULL."""
    return sa.and_(_same(sa.func.date(day, "+0 days"), day), day != _NO_DAY)


def _sqlite_forms() -> list[tuple[str, bool]]:
    """Every form of the grammar as a GLOB pattern, and whether it ends in an offset."""
    day = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]"
    clock = "[T ][0-2][0-9]:[0-5][0-9]"
    seconds = ":[0-5][0-9]"
    rests = ["", seconds] + [seconds + "." + "[0-9]" * n for n in range(1, 7)]
    zones = [("", False), ("Z", False), ("[+-][0-1][0-9]:[0-5][0-9]", True)]
    forms = [(day, False)]
    forms += [(day + clock + rest + zone, offset) for rest in rests for zone, offset in zones]
    return forms


def _moment_shapes() -> dict[int, list[str]]:
    """The datetime forms as GLOB patterns for ``julianday()`` to read, by length, the
    common forms first. ``?`` where ``julianday()`` reads a digit strictly; a digit
    class where it would also read more: the last digit of a fraction (else ``.5 Z``,
    whitespace before a zone, or ``.5+01:00`` in a longer fraction would pass)."""
    day, clock = "????-??-??", "[T ]??:??"
    fractions = [6, 0, 3, None, 1, 2, 4, 5]  # digits after the seconds (None: no seconds)
    shapes: dict[int, list[str]] = {}
    for digits in fractions:
        body = clock if digits is None else clock + ":??"
        if digits:
            body += "." + "?" * (digits - 1) + "[0-9]"
        for zone in ("", "[+-]??:??", "Z"):
            pattern = day + body + zone
            shapes.setdefault(_glob_length(pattern), []).append(pattern)
    return shapes


def _glob_length(pattern: str) -> int:
    """How many characters a GLOB pattern of literals and ``[...]`` classes matches."""
    length, inside = 0, False
    for char in pattern:
        if char == "[":
            inside = True
        elif char == "]":
            inside = False
            length += 1
        elif not inside:
            length += 1
    return length


_SQLITE_FORMS = _sqlite_forms()
_MOMENT_SHAPES = _moment_shapes()

_DIALECTS: dict[str, type[TextDates]] = {
    "sqlite": _SQLite,
    "postgresql": _PostgreSQL,
    "mysql": _MariaDB,
    "mariadb": _MariaDB,
}


def text_dates(column: sa.ColumnElement[Any], dialect: str) -> TextDates | None:
    """The text-date SQL for a column of this dialect; None where keepfor has none."""
    kind = _DIALECTS.get(dialect)
    return None if kind is None else kind(column)
