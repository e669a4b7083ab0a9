"""Text dates on SQLite, where every date is text: SQLite's own date functions read the
digits and the calendar (corrected where it is wrong), GLOB patterns the shape. Its own
module: the largest backend, and the only one with helper tables and functions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from keepfor.connectors.textdates.base import TextDates

__all__: list[str] = []  # reached through keepfor.connectors.textdates.text_dates


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
