"""The one grammar of dates written as text, shared by the engine, the importer and the
SQL push-down, so that Python and every database read the same text the same way.

Accepted, exactly (ASCII digits, no surrounding space)::

    YYYY-MM-DD                                   a calendar date, 0001-01-01 to 9999-12-31
    YYYY-MM-DD[T ]HH:MM[:SS[.F]][Z|+HH:MM|-HH:MM]
        HH 00-23, MM 00-59, SS 00-59; F 1 to 6 digits; an offset of at most 14:59

A datetime with ``Z`` or an offset names an instant; one without names a wall-clock
time whose zone the reader knows (a pack's, a source column's). Anything else (day-first
``31/12/2015``, ``2019-5-1``, ``20150105``, week dates, ``24:00``, ``n/a``) is not a date:
the record holding it is *unreadable*, shown in reports and never acted on. The empty
string is no value at all (the event has not happened).

The SQL push-down checks the same shape and ranges (see
:mod:`keepfor.connectors.textdates`); the differential tests prove they agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from keepfor.errors import quoted

__all__ = [
    "DATE_TEXT_EXAMPLE",
    "DateTextError",
    "UnreadDate",
    "is_date_text",
    "parse_date_text",
]

DATE_TEXT_EXAMPLE = "'2024-03-31', '2024-03-31 23:30:00' or '2024-03-31T23:30:00Z'"

_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])"
    r"(?::(?P<second>[0-5][0-9])(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<zone>Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])?)?",
    re.ASCII,
)


class DateTextError(ValueError):
    """A text that is not a date or datetime of the grammar above."""


class UnreadDate(str):
    """A text that a source tried to read as a date in its own ways too (a file's
    ``date_formats``) and could not: the text itself, as the record holds it, and why,
    for the engine to say when it lists the record as unreadable."""

    reason: str

    def __new__(cls, text: str, reason: str) -> UnreadDate:
        made = super().__new__(cls, text)
        made.reason = reason
        return made

    def __reduce__(self) -> tuple[type[UnreadDate], tuple[str, str]]:
        return (UnreadDate, (str(self), self.reason))


def parse_date_text(text: str) -> date | datetime:
    """The date, or the datetime (aware when the text has an offset), a text names.

    Raises :class:`DateTextError` for any text outside the grammar, including impossible
    calendar dates (``2019-02-30``) and year 0000.
    """
    found = _DATETIME.fullmatch(text)
    if found is None:
        raise DateTextError(f"{_short(text)} is not an ISO 8601 date or datetime")
    try:
        day = date.fromisoformat(found["date"])
    except ValueError:
        raise DateTextError(f"{_short(text)} is not a calendar date") from None
    if found["hour"] is None:
        return day
    fraction = (found["fraction"] or "").ljust(6, "0")
    moment = datetime(
        day.year,
        day.month,
        day.day,
        int(found["hour"]),
        int(found["minute"]),
        int(found["second"] or 0),
        int(fraction),
        tzinfo=_zone(found["zone"]),
    )
    return moment


def _zone(text: str | None) -> timezone | None:
    """The fixed offset of ``Z``/``+HH:MM``/``-HH:MM``; None for a wall-clock time."""
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def is_date_text(text: str) -> bool:
    """True when :func:`parse_date_text` reads the text."""
    try:
        parse_date_text(text)
    except DateTextError:
        return False
    return True


def _short(text: str) -> str:
    return quoted(text)
