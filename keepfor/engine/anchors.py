"""Anchors: the date a retention period runs from.

An anchor reads a record and gives a *local* date in the pack's time zone, or None
when the event it names has not happened (the field is missing or null).

* :class:`FieldAnchor` is the date of a field;
* :class:`EndOf` is the last day of the financial year, calendar year or month that
  contains the field's date.

Datetimes are converted to the pack's time zone before their date is taken, so
2019-03-31T23:30:00Z is 2019-04-01 in Europe/London. A naive datetime is read as
local time in that zone. Every anchor is monotone: a later field value never gives
an earlier anchor date.
"""

from __future__ import annotations

import calendar
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.engine.datetext import (
    DATE_TEXT_EXAMPLE,
    DateTextError,
    UnreadDate,
    parse_date_text,
)
from keepfor.errors import RecordError, quoted

__all__ = [
    "Anchor",
    "EndOf",
    "EndOfKind",
    "FieldAnchor",
    "MonthDay",
    "Several",
    "is_missing",
    "local_date",
]


@dataclass(frozen=True, slots=True, order=True)
class MonthDay:
    """A day of the year without a year, ``MM-DD``: the last day of a financial year."""

    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not between 01 and 12")
        if self.month == 2 and self.day == 29:
            raise ValueError(
                "02-29 is not a day every year has; a year ending in February ends on 02-28"
            )
        if not 1 <= self.day <= calendar.monthrange(2023, self.month)[1]:
            raise ValueError(f"day {self.day} does not exist in month {self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> MonthDay:
        """Parse ``MM-DD`` (``03-31``, ``04-05``); raise ValueError otherwise."""
        if not isinstance(text, str) or len(text) != 5 or text[2] != "-":
            raise ValueError(f"{quoted(text)} is not MM-DD, e.g. '03-31' or '04-05'")
        month, day = text[:2], text[3:]
        if not (month.isdigit() and day.isdigit()):
            raise ValueError(f"{quoted(text)} is not MM-DD, e.g. '03-31' or '04-05'")
        return cls(int(month), int(day))

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def end_of_year_containing(self, day: date) -> date:
        """The first date on or after ``day`` that falls on this month-day (in year 9999,
        past the last one: 9999-12-31, the calendar's end)."""
        this_year = self.in_year(day.year)
        if day <= this_year:
            return this_year
        return date.max if day.year == date.max.year else self.in_year(day.year + 1)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True, slots=True)
class Several:
    """Several values standing for one date: the latest of them, or (``latest=False``)
    the earliest. "Three years after the customer's last invoice" anchors on the latest
    date of the customer's invoices. Missing or null values are left out; no value at all
    is a missing date; one value that is not a date makes the whole unreadable."""

    values: tuple[Any, ...]
    latest: bool = True


def local_date(value: Any, zone: ZoneInfo, field: str) -> date | None:
    """The date of a record value in ``zone``; None for a missing value.

    Accepts a ``date``, a ``datetime`` or a text of the one date grammar
    (:mod:`keepfor.engine.datetext`); the empty text is a missing value. Anything else
    raises :class:`RecordError` naming the field and the value. An instant whose local
    date lies past either end of the calendar reads as that end (9999-12-31 or
    0001-01-01): far enough that no period from it ever falls due, or always has.
    """
    if value is None:
        return None
    if isinstance(value, Several):
        days = [day for v in value.values if (day := local_date(v, zone, field)) is not None]
        if not days:
            return None
        return max(days) if value.latest else min(days)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            value = parse_date_text(value)
        except DateTextError as error:
            if isinstance(value, UnreadDate):  # the source's own ways failed too: say so
                raise RecordError(value.reason, field=field) from None
            raise RecordError(f"{error} (e.g. {DATE_TEXT_EXAMPLE})", field=field) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.date()
        try:
            return value.astimezone(zone).date()
        except OverflowError:
            return date.max if value.year > 1 else date.min
    if isinstance(value, date):
        return value
    raise RecordError(f"{quoted(value)} is not a date or datetime", field=field)


def is_missing(value: Any) -> bool:
    """No value at all: the event a date field names has not happened."""
    if isinstance(value, Several):
        return all(is_missing(v) for v in value.values)
    return value is None or value == ""


class Anchor(ABC):
    """Where a period starts: a record -> local date, or None if not yet happened."""

    @property
    @abstractmethod
    def field(self) -> str:
        """The record field this anchor reads."""

    @abstractmethod
    def anchor_date(self, event: date) -> date:
        """The anchor date for the local date of the field (monotone in ``event``)."""

    @abstractmethod
    def to_dict(self) -> str | dict[str, str]:
        """The anchor as written in a pack."""

    @abstractmethod
    def describe(self) -> str:
        """A few words for an explanation: ``end of financial year (03-31) of placed_at``."""

    def event_date(self, record: Mapping[str, Any], zone: ZoneInfo) -> date | None:
        """The local date of the field, or None when it is missing or null."""
        return local_date(record.get(self.field), zone, self.field)

    def resolve(self, record: Mapping[str, Any], zone: ZoneInfo) -> date | None:
        event = self.event_date(record, zone)
        return None if event is None else self.anchor_date(event)


@dataclass(frozen=True, slots=True)
class FieldAnchor(Anchor):
    """The date of one field."""

    name: str

    @property
    def field(self) -> str:
        return self.name

    def anchor_date(self, event: date) -> date:
        return event

    def to_dict(self) -> str:
        return self.name

    def describe(self) -> str:
        return self.name


class EndOfKind(StrEnum):
    FINANCIAL_YEAR = "financial_year"
    CALENDAR_YEAR = "calendar_year"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class EndOf(Anchor):
    """The last day of the financial year, calendar year or month containing a field's date."""

    kind: EndOfKind
    of: str
    financial_year_end: MonthDay | None = None

    def __post_init__(self) -> None:
        if (self.kind is EndOfKind.FINANCIAL_YEAR) != (self.financial_year_end is not None):
            raise ValueError(
                "financial_year_end is required by, and only by, end_of: financial_year"
            )

    @property
    def field(self) -> str:
        return self.of

    def anchor_date(self, event: date) -> date:
        if self.kind is EndOfKind.MONTH:
            return event.replace(day=calendar.monthrange(event.year, event.month)[1])
        if self.kind is EndOfKind.CALENDAR_YEAR:
            return date(event.year, 12, 31)
        assert self.financial_year_end is not None
        return self.financial_year_end.end_of_year_containing(event)

    def to_dict(self) -> dict[str, str]:
        return {"end_of": self.kind.value, "of": self.of}

    def describe(self) -> str:
        if self.kind is EndOfKind.FINANCIAL_YEAR:
            return f"the end of the financial year (ending {self.financial_year_end}) of {self.of}"
        return f"the end of the {self.kind.value.replace('_', ' ')} of {self.of}"
