"""The raw rows of an export file, streamed, and the files a sweep writes beside it.

``csv``
    A header row names the columns; every other row has as many values. Rows are read
    with the stdlib reader (a quoted value may span lines); blank lines are skipped.
``jsonl``
    One JSON object a line; blank lines are skipped. Numbers, true/false and null keep
    their JSON types.

A bad line (not JSON, not an object, the wrong number of values, no key, a key seen
before, bytes that are not in the file's encoding) ends the reading with one
:class:`SourceError` naming the source, the file and the line: a report that silently
left out a record would be wrong about it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from keepfor.connectors.filesconfig import FileSettings
from keepfor.errors import SourceError, quoted
from keepfor.store.rows import too_deep
from keepfor.store.values import not_utf8

__all__ = ["FileRows", "RawRow", "write_atomically"]


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record of the file as written there."""

    line: int
    """Where it starts (1 is a CSV file's header)."""
    key: str
    """Its key's text."""
    data: dict[str, Any]
    """Column (property) -> value; a CSV file's in header order."""
    text: str | None = None
    """A JSON line as it stands (written back unchanged where the record is)."""


class FileRows:
    """Reading one source's file, a pass at a time (nothing is kept between passes)."""

    def __init__(self, name: str, settings: FileSettings) -> None:
        self.name = name
        self.settings = settings

    def where(self, line: int | None = None) -> str:
        """The source, its file and the line, for messages."""
        at = "" if line is None else f": line {line}"
        return f"source '{self.name}': {self.settings.path}{at}"

    def error(self, line: int | None, reason: str) -> SourceError:
        return SourceError(f"{self.where(line)}: {reason}")

    def _open(self) -> IO[str]:
        try:
            # bytes the encoding cannot read become lone surrogates, found on their line
            return self.settings.path.open(
                encoding=self.settings.text_encoding, errors="surrogateescape", newline=""
            )
        except FileNotFoundError:
            raise self.error(None, "no such file") from None
        except IsADirectoryError:
            raise self.error(None, "is a folder, not a file") from None
        except OSError as error:
            raise self.error(None, f"cannot read the file: {error.strerror or error}") from None

    def check_readable(self) -> None:
        """The file can be opened (a one-line error otherwise)."""
        with self._open():
            pass

    def header(self) -> list[str] | None:
        """A CSV file's column names, checked (None for JSON Lines)."""
        if self.settings.format != "csv":
            return None
        with self._open() as handle:
            return self._header(self._csv(handle))

    def rows(self) -> Iterator[RawRow]:
        """Every record in file order; a bad line raises (see the module)."""
        seen: set[str] = set()
        with self._open() as handle:
            lines = self._csv_rows(handle) if self.settings.format == "csv" else self._json(handle)
            for row in lines:
                if row.key in seen:
                    raise self.error(
                        row.line, f"key {quoted(row.key)} is on an earlier line too; "
                        f"'{self.settings.key}' must name one record",
                    )  # fmt: skip
                seen.add(row.key)
                yield row

    def _check_text(self, line: int, texts: Iterable[str]) -> None:
        """Every text of the line was read in the file's encoding."""
        for text in texts:
            if text.isascii():
                continue
            where = not_utf8(text)
            if where is not None:
                raise self.error(
                    line, f"not {self.settings.encoding} text ({where}); give the file's "
                    'encoding with encoding = "..." in its section',
                )  # fmt: skip

    def _csv(self, handle: IO[str]) -> Any:
        return csv.reader(handle, delimiter=self.settings.delimiter, strict=True)

    def _header(self, reader: Any) -> list[str]:
        try:
            header: list[str] | None = next(reader, None)
        except csv.Error as error:
            raise self.error(1, f"not readable as CSV: {error}") from None
        if header:
            self._check_text(1, header)
        if not header:
            raise self.error(1, "the file is empty; a CSV file starts with a header row")
        seen: set[str] = set()
        for column in header:
            if column == "":
                raise self.error(1, "the header has a column with no name")
            if column in seen:
                raise self.error(1, f"the header names column {quoted(column)} twice")
            seen.add(column)
        if self.settings.key not in seen:
            raise self.error(1, f"the header has no key column {quoted(self.settings.key)}")
        return header

    def _csv_rows(self, handle: IO[str]) -> Iterator[RawRow]:
        reader = self._csv(handle)
        header = self._header(reader)
        width = len(header)
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise self.error(line, f"not readable as CSV: {error}") from None
            if not values:
                continue
            self._check_text(line, values)
            if len(values) != width:
                raise self.error(
                    line, f"the row has {len(values)} values but the header names {width} columns"
                )
            data = dict(zip(header, values, strict=True))
            yield RawRow(line, self._key(line, data), data)

    def _json(self, handle: IO[str]) -> Iterator[RawRow]:
        for line, text in enumerate(handle, start=1):
            self._check_text(line, (text,))
            if not text.strip():
                continue
            if too_deep(text):
                raise self.error(line, "not a record: the JSON is nested too deeply")
            try:
                data = json.loads(text, parse_constant=_no_constant)
            except ValueError as error:
                raise self.error(line, f"not valid JSON: {error}") from None
            if not isinstance(data, dict):
                raise self.error(line, f"a line holds one JSON object, not {type(data).__name__}")
            yield RawRow(line, self._key(line, data), data, text.rstrip("\r\n"))

    def _key(self, line: int, data: Mapping[str, Any]) -> str:
        """The record's key as text: a non-empty text, or a whole number in JSON."""
        name = self.settings.key
        value = data.get(name)
        if value is None or value == "":
            raise self.error(line, f"the record has no key ({quoted(name)} is missing or empty)")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(
                line, f"key {quoted(name)} must be text or a whole number, not {quoted(value)}"
            )
        return str(value)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def write_atomically(path: Path, encoding: str, fill: Callable[[IO[str]], None]) -> None:
    """Write a file whole or not at all: ``fill`` writes it to a temporary file beside it,
    which is flushed to disk and renamed over ``path``, and the folder's entry is flushed
    too. A crash leaves the old file (or none), and perhaps the temporary one
    (:func:`temporary` names it)."""
    temp = temporary(path)
    try:
        with temp.open("w", encoding=encoding, newline="") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def temporary(path: Path) -> Path:
    """Where :func:`write_atomically` writes ``path`` before renaming it."""
    return path.with_name(f".{path.name}.partial")


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename is durable only then), where the system can."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
