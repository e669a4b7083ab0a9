"""Reading an import file into rows: a CSV file with a header, or JSON Lines.

``.csv``
    A header row naming the columns; ``key`` and ``category`` are required,
    ``customer`` is optional, every other column is a field. UTF-8 (a BOM is allowed).
``.jsonl``
    One JSON object per line with the same keys; blank lines are skipped.

:func:`read_rows` yields, in file order, a :class:`Row` for each good record and an
:class:`ImportProblem` (line, field, reason) for each bad one, and carries on: every
bad row is found in one pass. Bytes that are not UTF-8 are a problem of their line, not
of the file. Only a CSV file that cannot be parsed past some line (a value longer than
Python's CSV reader takes) stops the reading, with a last problem saying so. A file that
cannot be opened at all raises :class:`~keepfor.store.db.StoreError`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from keepfor.store.datelike import DateReading
from keepfor.store.db import StoreError
from keepfor.store.models import KEY_LENGTH
from keepfor.store.values import (
    BadValue,
    HugeNumber,
    check_name,
    identifier,
    not_utf8,
    text_fault,
    typed_json,
    typed_text,
)

__all__ = ["RESERVED", "SUFFIXES", "ImportProblem", "Item", "Row", "read_rows", "too_deep"]

SUFFIXES = (".csv", ".jsonl")
RESERVED = ("key", "category", "customer")

_MAX_INT_DIGITS = 18
"""JSON integers longer than this are beyond 2**53 anyway, and not converted at all."""


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One bad row: the file, its line (1 is a CSV header), the field and what is wrong."""

    file: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}: line {self.line}"
        if self.field is not None:
            where += f", field {self.field!r}"
        return f"{where}: {self.reason}"

    def short(self) -> str:
        """Without the file name: ``line 4, field 'placed_at': reason``."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return f"{', '.join(parts)}: {self.reason}" if parts else self.reason


@dataclass(slots=True)
class Row:
    """One good record of the file, its values typed."""

    line: int
    key: str
    category: str
    customer: str | None
    fields: list[tuple[str, str, Any]] = field(default_factory=list)
    """(name, value column, value)."""


Item = Row | ImportProblem


def build_row(line: int, data: dict[str, Any], *, csv_file: bool, dates: DateReading) -> Row:
    """A row from a mapping of column -> value, or :class:`BadValue` for the first fault."""
    key = identifier("key", data.get("key"), required=True)
    category = identifier("category", data.get("category"), required=True)
    customer = identifier("customer", data.get("customer"), required=False)
    assert key is not None
    assert category is not None
    row = Row(line, key, category, customer)
    for name, value in data.items():
        if name in RESERVED:
            continue
        if csv_file:  # the header's names were checked once
            typed = typed_text(name, value, csv_file=True, dates=dates)
        else:
            check_name(name)
            typed = typed_json(name, value, dates=dates)
        if typed is not None:
            row.fields.append((name, typed[0], typed[1]))
    return row


def read_rows(path: Path, name: str, dates: DateReading) -> Iterator[Item]:
    """Every row of the file, or the problem with it, in file order."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise StoreError(
            f"{name}: cannot import a {suffix or 'suffix-less'!s} file; "
            "give a .csv (header row) or .jsonl (one JSON object a line) file"
        )
    try:
        # bytes that are not UTF-8 become lone surrogates, found and reported per line
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise StoreError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise StoreError(f"{name}: is a folder, not a file") from None
    except OSError as error:
        raise StoreError(f"{name}: cannot read the file: {error.strerror or error}") from None
    with handle:
        if suffix == ".csv":
            yield from _read_csv(handle, name, dates)
        else:
            yield from _read_jsonl(handle, name, dates)


# -- CSV ---------------------------------------------------------------------------------


def _header_problems(header: list[str], name: str) -> Iterator[ImportProblem]:
    seen: set[str] = set()
    for column in header:
        if column in seen:
            yield ImportProblem(name, 1, column, "the header names this column twice")
        seen.add(column)
        if column == "":
            yield ImportProblem(name, 1, None, "the header has a column with no name")
        elif len(column) > KEY_LENGTH:
            too_long = f"a column name is longer than {KEY_LENGTH} characters"
            yield ImportProblem(name, 1, column[:40] + "...", too_long)
        elif (fault := text_fault(column)) is not None:
            yield ImportProblem(name, 1, None, f"a column name {fault}")
    for required in ("key", "category"):
        if required not in seen:
            yield ImportProblem(name, 1, required, f"the header has no {required!r} column")


def _unreadable(name: str, line: int, error: csv.Error) -> ImportProblem:
    return ImportProblem(
        name, line, None, f"not readable as CSV ({error}); the rest of the file was not read"
    )


def _read_csv(handle: TextIO, name: str, dates: DateReading) -> Iterator[Item]:
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except csv.Error as error:
        yield _unreadable(name, 1, error)
        return
    if header is None:
        yield ImportProblem(name, 1, None, "the file is empty; a CSV file starts with a header row")
        return
    problems = list(_header_problems(header, name))
    if problems:
        yield from problems
        return
    width = len(header)
    last_line = reader.line_num
    while True:
        line = last_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _unreadable(name, line, error)
            return
        last_line = reader.line_num
        if not values:
            continue
        if len(values) != width:
            yield ImportProblem(
                name,
                line,
                None,
                f"the row has {_count(len(values), 'value')} but the header names "
                f"{_count(width, 'column')}",
            )
            continue
        try:
            data = dict(zip(header, values, strict=True))
            yield build_row(line, data, csv_file=True, dates=dates)
        except BadValue as bad:
            yield ImportProblem(name, line, bad.field, bad.reason)


def _count(n: int, noun: str) -> str:
    """``1 value``, ``3 values``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- JSON Lines --------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A JSON object that remembers the first name it was given twice."""

    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    found = _Object()
    for key, value in pairs:
        if key in found and found.duplicate is None:
            found.duplicate = key
        found[key] = value
    return found


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def _integer(text: str) -> int | HugeNumber:
    digits = len(text) - text.startswith("-")
    return HugeNumber(digits) if digits > _MAX_INT_DIGITS else int(text)


_JSON_KINDS = {str: "string", int: "number", float: "number", bool: "true/false"}


MAX_DEPTH = 800
"""Lists and objects a JSON line may nest (a record is one object of plain values): the
same limit on every Python, whose own parser stops at its recursion limit, or not."""


def too_deep(text: str) -> bool:
    """Whether the JSON text nests lists and objects deeper than :data:`MAX_DEPTH`
    (brackets inside strings do not count); read only where it could be."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _parse_line(text: str) -> _Object | str:
    """The JSON object of a line, or why the line holds none."""
    where = not_utf8(text)
    if where is not None:
        return f"the line is not UTF-8 text ({where})"
    if too_deep(text):
        return "not a record: the JSON is nested too deeply"
    try:
        data = json.loads(
            text, parse_constant=_no_constants, parse_int=_integer, object_pairs_hook=_object
        )
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error.msg} at column {error.colno}"
    except RecursionError:
        return "not a record: the JSON is nested too deeply"
    except ValueError as error:
        return f"not valid JSON: {error}"
    if isinstance(data, _Object):
        return data
    if isinstance(data, list):
        return "a line holds one JSON object, not a list"
    kind = "null" if data is None else _JSON_KINDS.get(type(data), "number")
    return f"a line holds one JSON object, not a JSON {kind}"


def _read_jsonl(handle: TextIO, name: str, dates: DateReading) -> Iterator[Item]:
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        data = _parse_line(text)
        if isinstance(data, str):
            yield ImportProblem(name, line, None, data)
            continue
        if data.duplicate is not None:
            yield ImportProblem(name, line, data.duplicate, "the object names this field twice")
            continue
        try:
            yield build_row(line, data, csv_file=False, dates=dates)
        except BadValue as bad:
            yield ImportProblem(name, line, bad.field, bad.reason)
