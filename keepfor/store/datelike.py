"""Date texts that are not ISO 8601: which texts look like dates, and how to read them.

keepfor's one grammar of date texts is :mod:`keepfor.engine.datetext` (``2015-12-31``,
``2015-12-31T10:00:00Z``). A file exported from a CRM or a spreadsheet often writes
dates another way; stored as text, such a date could never be read by a report, so the
importer refuses every text that *looks like a date* but is outside the grammar,
unless the user says how to read it (:class:`DateReading`).

What "looks like a date" means
------------------------------
A text looks like a date when, with surrounding white space stripped, the *whole* text
is one of these shapes (ASCII digits; ``s`` is one separator, ``-``, ``/`` or ``.``,
the same both times; ``M`` and ``D`` are one or two digits; letters in any case):

============  ===============================================  ==============================
shape         pattern                                          examples
============  ===============================================  ==============================
year first    ``YYYY s M s D``                                 ``2019-5-1``, ``2019-02-30``,
                                                               ``2015/12/31``, ``2015.12.31``
day or month  ``D s M s YYYY`` or ``D s M s YY``               ``31/12/2015``, ``05/01/2015``,
first                                                          ``12.31.2015``, ``1-2-15``
compact       ``YYYYMMDD`` that is a real day of 1900-2099     ``20150105``
month name    a day (``31``, ``31st``), an English month name  ``31 Dec 2015``, ``31-Dec-2015``,
              or its abbreviation and a four-digit year, day   ``Dec 31, 2015``,
              or month first, after an optional weekday        ``Thu, 31st of December 2015``
ISO week      ``YYYY-Www`` or ``YYYY-Www-d``, hyphens optional  ``2015-W01``, ``2015W011``
============  ===============================================  ==============================

Each shape may be followed by a time: white space or a comma and then ``H:MM`` and
anything (``31/12/2015 10:00``, ``Dec 31, 2015, 9:30 pm``); the year-first, compact and
week shapes also by ``T`` and anything (``2015-12-31T10:00:00+0100``, ``2015-12-31T25:00``).

Everything else is text, even when it holds digits or a date among other words: ``n/a``,
``yes``, ``ACME Ltd``, ``01234 567890``, ``020 7946 0958``, ``12.50``, ``1/2``,
``1.2.3``, ``2015``, ``Dec 2015``, ``10:00``, ``12345678`` (not a date), ``18991231``
(before 1900), ``1420070400`` (a Unix time), ``paid on 2015-12-31``.

The net is wide on purpose: a date kept as text is lost to every report, while a
refused value is one line naming the line, field and value. The price is that a text
of one of these shapes that is not meant as a date (a version ``1.2.15``, an eight-digit
number that happens to be a day) is refused too; give it another form in the file.

Reading them
------------
A text in keepfor's grammar is always read by it, whatever the options. Then each
``--date-format`` (a strptime format naming a day, a month and a year) is tried in
order, on any text: a text matching one is a date, or a datetime when the format names
a time. Then, with ``--dayfirst``, a text that looks like a date is read by
python-dateutil, day before month (year, month, day when the year leads), and checked:
dateutil would quietly read ``12/31/2015`` month first, guess the century of a two-digit
year from today's date, and read a zone name such as ``BST`` by the machine's own zone
or not at all; each of these is refused instead. A datetime must still name its offset
(``+01:00``, ``Z``, ``UTC``, ``GMT``). Whatever still looks like a date is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

from keepfor.errors import UsageError, quoted

__all__ = ["DateReading", "DateRefused", "DateShape", "check_date_format", "date_shape"]

_TIME = r"(?:\s+|,\s*)[0-9]{1,2}:[0-9]{2}.*"
"""A time after a date: white space or a comma, H:MM, and anything after."""

_YEAR_FIRST = re.compile(
    r"(?P<y>[0-9]{4})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"
    rf"(?P<time>T.*|{_TIME})?",
    re.ASCII | re.DOTALL,
)
_DAY_FIRST = re.compile(
    r"(?P<a>[0-9]{1,2})(?P<s>[-/.])(?P<b>[0-9]{1,2})(?P=s)(?P<y>[0-9]{4}|[0-9]{2})"
    rf"(?P<time>{_TIME})?",
    re.ASCII | re.DOTALL,
)
_COMPACT = re.compile(
    rf"(?P<y>[0-9]{{4}})(?P<m>[0-9]{{2}})(?P<d>[0-9]{{2}})(?P<time>T.*|{_TIME})?",
    re.ASCII | re.DOTALL,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"[0-9]{1,2}(?:st|nd|rd|th)?"
_GAP = r"(?:\s+of\s+|[\s,/.-]+)"
_NAMED = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
    rf"(?:{_DAY}{_GAP}{_MONTH}|{_MONTH}{_GAP}{_DAY}){_GAP}[0-9]{{4}}(?P<time>{_TIME})?",
    re.ASCII | re.DOTALL | re.IGNORECASE,
)
_WEEK = re.compile(
    rf"[0-9]{{4}}-?W[0-9]{{2}}(?:-?[0-9])?(?P<time>T.*|{_TIME})?", re.ASCII | re.DOTALL
)
_ISO_SHAPED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ZONE_ARITHMETIC = re.compile(r"(?:UTC|GMT|Z)\s*[+-]", re.IGNORECASE)

_DEFAULT = datetime(2000, 1, 1)  # noqa: DTZ001 (dateutil fills naive parts; never used whole)
"""What dateutil starts from (every shape names a day, a month and a year): not the clock."""

_MAX_OFFSET = timedelta(hours=14, minutes=59)
"""The largest UTC offset keepfor's grammar allows; --dayfirst allows no more."""

_TIME_DIRECTIVES = frozenset("HIMSfpzZXc")
_YEAR_DIRECTIVES = frozenset("YyGcx")
"""strptime directives that make a format name a datetime rather than a date."""

_SAMPLE = datetime(2015, 12, 31, 10, 20, 30, tzinfo=UTC)
"""A day after the twelfth, so that a format that swaps day and month is caught."""


@dataclass(frozen=True, slots=True)
class DateShape:
    """Which date shape a text has: what --dayfirst needs to read and check it.

    ``day`` and ``month`` are the numbers the text puts in those places (None for a
    month name or a week); ``year_first`` says the year leads.
    """

    year_first: bool
    day: int | None = None
    month: int | None = None
    two_digit_year: bool = False
    has_time: bool = False


def date_shape(text: str) -> DateShape | None:
    """The shape of a text that looks like a date (see the module docstring), else None."""
    if found := _YEAR_FIRST.fullmatch(text):
        return DateShape(True, int(found["d"]), int(found["m"]), has_time=bool(found["time"]))
    if found := _DAY_FIRST.fullmatch(text):
        return DateShape(
            False,
            int(found["a"]),
            int(found["b"]),
            two_digit_year=len(found["y"]) == 2,
            has_time=bool(found["time"]),
        )
    if (found := _COMPACT.fullmatch(text)) and _real_day(found["y"], found["m"], found["d"]):
        return DateShape(True, int(found["d"]), int(found["m"]), has_time=bool(found["time"]))
    if found := _NAMED.fullmatch(text):
        return DateShape(False, has_time=bool(found["time"]))
    if found := _WEEK.fullmatch(text):
        return DateShape(True, has_time=bool(found["time"]))
    return None


def _real_day(year: str, month: str, day: str) -> bool:
    """True for a day of 1900-2099 (eight digits outside these are more likely a number)."""
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return False
    return 1900 <= found.year <= 2099


def check_date_format(fmt: str) -> str:
    """``fmt`` when it is a strptime format naming a day, a month and a year.

    Checked by writing a sample date with it and reading it back; raises
    :class:`~keepfor.errors.UsageError` (one line) otherwise.
    """
    if not _YEAR_DIRECTIVES & _directives(fmt):  # and no yearless strptime (deprecated)
        raise UsageError(
            f"date format {quoted(fmt)} does not name a day, a month and a year (e.g. %d/%m/%Y)"
        )
    try:
        back = datetime.strptime(_SAMPLE.strftime(fmt), fmt)  # noqa: DTZ007 (dates only)
    except (ValueError, re.error) as error:  # re.error: a directive given twice
        why = " ".join(str(error).split())
        why = why if len(why) <= 120 else why[:120] + "..."
        raise UsageError(f"date format {quoted(fmt)} cannot be used: {why}") from None
    if back.date() != _SAMPLE.date():
        raise UsageError(
            f"date format {quoted(fmt)} does not name a day, a month and a year (e.g. %d/%m/%Y)"
        )
    return fmt


def _directives(fmt: str) -> set[str]:
    """The letters of ``fmt``'s directives (``%Y`` gives ``Y``)."""
    return set(re.findall(r"%(.)", fmt.replace("%%", "")))


def _names_time(fmt: str) -> bool:
    return bool(_TIME_DIRECTIVES & _directives(fmt))


class DateRefused(ValueError):
    """A text that looks like a date but cannot be read as one; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ZoneName(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _zone(name: str | None, offset: int | None) -> timezone | None:
    """dateutil's zone hook: fixed offsets and UTC names only, never the machine's zone."""
    if name is not None and name.upper() not in ("UTC", "GMT", "Z"):
        raise _ZoneName(name)
    if offset is None:
        return None
    if abs(timedelta(seconds=offset)) > _MAX_OFFSET:
        raise ValueError(f"offset {offset} s is beyond 14:59")
    return timezone(timedelta(seconds=offset))


@dataclass(frozen=True, slots=True)
class DateReading:
    """How to read date texts that are not ISO 8601 (the importer's --date-format, --dayfirst).

    ``formats`` are strptime formats, tried in order; a text matching one is a date (or a
    datetime when the format names a time), whatever it looks like. ``dayfirst`` reads
    the remaining texts that look like dates with python-dateutil, day before month.
    """

    formats: tuple[str, ...] = ()
    dayfirst: bool = False
    options: tuple[str, str] = ("--date-format", "--dayfirst")
    """How the user names the two settings, for messages (a file source's config:
    ``date_formats``, ``dayfirst``)."""

    def __post_init__(self) -> None:
        for fmt in self.formats:
            check_date_format(fmt)

    def read(self, text: str, iso_error: str) -> date | datetime | None:
        """The date or datetime a stripped, non-ISO text names; None when it is text.

        Raises :class:`DateRefused` for a text that looks like a date and cannot be
        read; ``iso_error`` is why :mod:`~keepfor.engine.datetext` refused it.
        """
        for fmt in self.formats:
            try:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 (naive ones are refused)
            except ValueError:
                continue
            return moment if _names_time(fmt) else moment.date()
        shape = date_shape(text)
        if shape is None:
            return None
        formats, dayfirst = self.options
        if self.dayfirst:
            return _read_dayfirst(text, shape, iso_error, self.options)
        if _ISO_SHAPED.match(text):
            raise DateRefused(_iso_refusal(text, iso_error))
        if self.formats:
            raise DateRefused(
                f"{quoted(text)} looks like a date but matches no {formats} ({self.listed()})"
            )
        raise DateRefused(
            f"{quoted(text)} is not an ISO 8601 date (YYYY-MM-DD); "
            f"for dates written another way give {formats} or {dayfirst}"
        )

    def listed(self) -> str:
        """The formats, quoted, for a message."""
        return ", ".join(quoted(fmt) for fmt in self.formats)


def _iso_refusal(text: str, iso_error: str) -> str:
    """Why an ISO-shaped text is refused: an impossible day, or a time outside the grammar."""
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return iso_error  # '2019-02-30' is not a calendar date
    return f"{iso_error} (e.g. 2019-03-31 or 2019-03-31T23:30:00Z)"


def _read_dayfirst(
    text: str, shape: DateShape, iso_error: str, options: tuple[str, str]
) -> date | datetime:
    """A date-like text read by dateutil: day first, or year, month, day when the year leads."""
    q = quoted(text)
    if shape.two_digit_year:
        raise DateRefused(
            f"{q} has a two-digit year, which {options[1]} does not guess; "
            f"give {options[0]} with %y (e.g. %d/%m/%y)"
        )
    if _ZONE_ARITHMETIC.search(text):
        raise DateRefused(f"{q} adds an offset to a zone name; write the offset alone (+01:00)")
    try:
        moment = dateutil_parser.parse(
            text,
            dayfirst=not shape.year_first,
            yearfirst=shape.year_first,
            default=_DEFAULT,
            tzinfos=_zone,
        )
    except _ZoneName as zone:
        raise DateRefused(
            f"{q} names the zone {quoted(zone.name)}; write an offset instead (+01:00)"
        ) from None
    except (ValueError, OverflowError):
        if _ISO_SHAPED.match(text):
            raise DateRefused(_iso_refusal(text, iso_error)) from None
        raise DateRefused(f"{q} is not a date (read day first)") from None
    if shape.day is not None and (moment.day, moment.month) != (shape.day, shape.month):
        order = "as year, month, day" if shape.year_first else "day first"
        why = f"there is no month {shape.month}" if (shape.month or 0) > 12 else "it is ambiguous"
        raise DateRefused(f"{q} cannot be read {order}: {why}")
    return moment if shape.has_time else moment.date()
