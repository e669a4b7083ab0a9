"""What text dates' SQL shares across dialects: :class:`TextDates`, written once over
hooks each backend fills in (its check of the grammar, its comparison of an instant with
an offset), and the grammar as a regular expression for the dialects that have one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from keepfor.connectors.fragments import column_fragment

__all__ = ["TextDates"]

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
