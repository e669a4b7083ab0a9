"""The ``csv`` and ``jsonl`` kinds of source: a CRM's export file, read as it is.

::

    [sources.export]
    kind = "csv"                       # or "jsonl": one JSON object a line
    path = "contacts.csv"              # read from the config file's folder
    key = "id"                         # the column (property) naming each record; unique
    category = "contact"               # every record is a contact; or:
    # category_column = "type"         # the category is in a column
    timezone = "Europe/London"         # zone of date-times written without an offset
    date_formats = ["%d/%m/%Y"]        # as keepfor db import --date-format
    dayfirst = true                    # as keepfor db import --dayfirst
    delimiter = ";"                    # csv only (default ",")
    encoding = "utf-8"                 # the default; a byte order mark is skipped

    [sources.export.fields]            # rule field = column (property)
    last_activity_at = "Last Activity"

The file is never changed: a sweep writes the kept records and a list of what it
disposed of beside it (:mod:`keepfor.connectors.filewrite`).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from keepfor.connectors.sections import Section
from keepfor.errors import UsageError, quoted
from keepfor.store.datelike import DateReading, check_date_format

__all__ = ["KEYS", "FileSettings", "parse_file"]

KEYS = (
    "path",
    "key",
    "category",
    "category_column",
    "timezone",
    "fields",
    "date_formats",
    "dayfirst",
    "delimiter",
    "encoding",
)

Format = Literal["csv", "jsonl"]


@dataclass(frozen=True)
class FileSettings:
    """One export file and how its records map to rule fields."""

    path: Path
    """Absolute: a relative ``path`` is read from the config file's folder."""
    format: Format
    key: str
    fields: Mapping[str, str] = field(default_factory=dict)
    """Rule field -> column (property)."""
    constants: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    dates: DateReading = field(default_factory=DateReading)
    delimiter: str = ","
    encoding: str = "utf-8"

    @property
    def text_encoding(self) -> str:
        """The codec the file is opened with: UTF-8 skips a byte order mark."""
        if codecs.lookup(self.encoding).name == "utf-8":
            return "utf-8-sig"
        return self.encoding


def parse_file(section: Section, format: Format) -> FileSettings:
    """A ``kind = "csv"`` or ``"jsonl"`` section, every key checked (the columns are
    checked against the file's header when the source is opened)."""
    section.only(KEYS)
    body = section.body
    if format == "jsonl" and "delimiter" in body:
        raise section.error("'delimiter' is for csv files; a jsonl file has one object a line")
    path = section.file.parent / section.required("path")
    fields, constants, timezone = section.mapping()
    return FileSettings(
        path=path.resolve(),
        format=format,
        key=section.required("key"),
        fields=fields,
        constants=constants,
        timezone=timezone,
        dates=_dates(section),
        delimiter=_delimiter(section),
        encoding=_encoding(section),
    )


def _dates(section: Section) -> DateReading:
    """``date_formats`` (strptime formats naming a day, a month and a year) and
    ``dayfirst``, as ``keepfor db import`` takes them."""
    formats = section.body.get("date_formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise section.error('date_formats must be a list of formats such as ["%d/%m/%Y"]')
    for fmt in formats:
        try:
            check_date_format(fmt)
        except UsageError as error:
            raise section.error(f"date_formats: {error}") from None
    dayfirst = section.body.get("dayfirst", False)
    if not isinstance(dayfirst, bool):
        raise section.error(f"dayfirst must be true or false, not {quoted(dayfirst)}")
    return DateReading(tuple(formats), dayfirst, options=("date_formats", "dayfirst"))


def _delimiter(section: Section) -> str:
    value = section.body.get("delimiter", ",")
    if not isinstance(value, str) or len(value) != 1 or value in '\r\n"':
        raise section.error(f"delimiter must be one character such as ';', not {quoted(value)}")
    return value


def _encoding(section: Section) -> str:
    value = section.text("encoding") or "utf-8"
    try:
        codecs.lookup(value)
    except LookupError:
        raise section.error(f"unknown encoding {quoted(value)}") from None
    return value
