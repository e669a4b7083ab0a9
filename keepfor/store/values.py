"""Typing the values of an imported record, and refusing those the store cannot keep.

A value becomes exactly one of the store's typed columns:

* JSON ``true``/``false`` and numbers stay booleans and numbers (finite, and integers
  no larger than 2**53, which a double keeps exactly); in a CSV file the strings
  ``true``/``false`` (any case) are booleans and numbers stay text;
* a text in keepfor's date grammar (:mod:`keepfor.engine.datetext`) is a date
  (``value_date``), or, with an offset or ``Z``, an instant (``value_instant``, UTC); a
  datetime *without* an offset is refused: it names no instant;
* a text that looks like a date but is written another way (see
  :mod:`keepfor.store.datelike`) is read as :class:`~keepfor.store.datelike.DateReading`
  says (``--date-format``, ``--dayfirst``), or refused;
* any other text is text; an empty string or ``null`` leaves the field out.

Surrounding white space is ignored when a text is read as a boolean or a date; a text
keeps it. Every text (keys, categories, customers, field names and values) is refused
when the store could not keep it the same on every backend: a NUL character
(PostgreSQL refuses it), bytes that are not UTF-8 or a lone surrogate (no backend can
encode it), more than :data:`MAX_TEXT_BYTES` bytes of UTF-8 (MariaDB's ``TEXT``), and
for names more than :data:`~keepfor.store.models.KEY_LENGTH` characters.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from keepfor.engine.datetext import DateTextError, parse_date_text
from keepfor.errors import quoted
from keepfor.store.datelike import DateReading, DateRefused
from keepfor.store.models import KEY_LENGTH

__all__ = [
    "MAX_TEXT_BYTES",
    "BadValue",
    "HugeNumber",
    "check_name",
    "identifier",
    "not_utf8",
    "text_fault",
    "typed_json",
    "typed_text",
]

MAX_TEXT_BYTES = 65_535
"""Longest text value, in bytes of UTF-8: what a MariaDB ``TEXT`` column holds."""

EXACT_INTEGERS = 2**53
"""Integers beyond this are not kept exactly by a double (``value_number``)."""

_SURROGATE = re.compile("[\ud800-\udfff]")


class BadValue(Exception):
    """A value the store cannot take: ``field`` names it (None for the row), ``reason`` why."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class HugeNumber:
    """A JSON integer with too many digits to convert (Python limits it), kept as a count."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<a number of {self.digits} digits>"


def not_utf8(text: str) -> str | None:
    """Where a text read from bytes is not UTF-8: ``byte 0xE9 at character 4``; else None.

    Bytes that are not UTF-8 were read as lone surrogates (``surrogateescape``); a JSON
    ``\\ud800`` escape is one too, and is named by its code point.
    """
    bad = _SURROGATE.search(text)
    if bad is None:
        return None
    code = ord(bad.group())
    what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
    return f"{what} at character {bad.start() + 1}"


def text_fault(text: str) -> str | None:
    """Why no backend can store ``text`` as it is (not UTF-8, a NUL), or None."""
    where = not_utf8(text)
    if where is not None:
        return f"{quoted(_SURROGATE.sub(chr(0xFFFD), text))} is not UTF-8 text ({where})"
    if "\x00" in text:
        return f"{quoted(text)} contains a NUL character, which the store cannot keep"
    return None


def _too_long(text: str) -> bool:
    return len(text) * 4 > MAX_TEXT_BYTES and len(text.encode("utf-8")) > MAX_TEXT_BYTES


def typed_text(
    name: str, text: str, *, csv_file: bool, dates: DateReading
) -> tuple[str, Any] | None:
    """The value column and value of a text; None for an empty text."""
    if text == "":
        return None
    fault = text_fault(text)
    if fault is not None:
        raise BadValue(name, fault)
    if _too_long(text):
        raise BadValue(
            name, f"{quoted(text)} is longer than a text value may be ({MAX_TEXT_BYTES} bytes)"
        )
    stripped = text.strip()
    if csv_file and stripped.lower() in ("true", "false"):
        return "value_bool", stripped.lower() == "true"
    try:
        moment: date | datetime | None = parse_date_text(stripped)
    except DateTextError as error:
        try:
            moment = dates.read(stripped, str(error))
        except DateRefused as refused:
            raise BadValue(name, refused.reason) from None
    if moment is None:
        return "value_text", text
    return _dated(name, text, moment)


def _dated(name: str, text: str, moment: date | datetime) -> tuple[str, Any]:
    """A date as it is; a datetime as its instant in UTC, refused without an offset."""
    if not isinstance(moment, datetime):
        return "value_date", moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadValue(
            name,
            f"{quoted(text)} is a datetime without a UTC offset "
            "(add one: 2019-03-31T23:30:00Z or +01:00)",
        )
    try:
        return "value_instant", moment.astimezone(UTC)
    except OverflowError:
        raise BadValue(
            name,
            f"{quoted(text)} is outside the instants the store can keep "
            "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)",
        ) from None


def typed_json(name: str, value: Any, *, dates: DateReading) -> tuple[str, Any] | None:
    """The value column and value of a JSON value; None for ``null``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "value_bool", value
    if isinstance(value, HugeNumber):
        raise BadValue(name, f"a number of {value.digits} digits is too large to keep exactly")
    if isinstance(value, int):
        if abs(value) > EXACT_INTEGERS:
            raise BadValue(name, f"{value} is too large to keep exactly (more than 2**53)")
        return "value_number", float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue(name, f"{quoted(value)} is not a finite number")
        return "value_number", value
    if isinstance(value, str):
        return typed_text(name, value, csv_file=False, dates=dates)
    kind = "an object" if isinstance(value, dict) else "a list"
    raise BadValue(name, f"a field value is a string, number, true/false or null, not {kind}")


def check_name(name: str) -> None:
    """A field name the store can keep (not empty, not too long, UTF-8, no NUL)."""
    if name == "":
        raise BadValue(None, "a field name is empty")
    if len(name) > KEY_LENGTH:
        raise BadValue(name[:40] + "...", f"a field name is longer than {KEY_LENGTH} characters")
    fault = text_fault(name)
    if fault is not None:
        raise BadValue(None, f"the field name {fault}")


def identifier(what: str, value: Any, *, required: bool) -> str | None:
    """The key, category or customer of a record; None for a missing optional one."""
    if value is None or value == "":
        if required:
            raise BadValue(what, f"the record has no {what}")
        return None
    if not isinstance(value, str):
        shown = ("true" if value else "false") if isinstance(value, bool) else quoted(value)
        raise BadValue(what, f"{what} is {shown}; it must be a string")
    if len(value) > KEY_LENGTH:
        raise BadValue(what, f"{what} {quoted(value)} is longer than {KEY_LENGTH} characters")
    fault = text_fault(value)
    if fault is not None:
        raise BadValue(what, fault)
    return value
