"""The ``csv`` and ``jsonl`` kinds of source: a CRM's export file, streamed record by
record and tested against the rules in Python (a
:class:`~keepfor.connectors.streamed.StreamedSource`).

Each pass reads the file from the start; nothing but the keys seen (to refuse a
duplicate) is kept. A value the rules cannot read (``n/a`` where a date is needed) is
passed on as it is, so its record is listed as unreadable, never dropped. A CSV cell
is text; where every condition on a field compares it with a number, a cell that is a
decimal number is read as one (``"5"`` matches ``tier: 5``); JSON keeps its own types.

keepfor never edits the file. A sweep writes the kept records and the list of what it
disposed of beside it (:mod:`keepfor.connectors.filewrite`); the keys it purged are
recorded in the state database, and a later read of the same file leaves them out, so
nothing purged is reported, or acted on, again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from keepfor.abc import ActionTarget, Keyed, RecordKey
from keepfor.connectors.filerows import FileRows, RawRow
from keepfor.connectors.filesconfig import KEYS, FileSettings, parse_file
from keepfor.connectors.sections import Section
from keepfor.connectors.streamed import CHUNK, FieldReader, StreamedSource
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate

if TYPE_CHECKING:
    from keepfor.actions.settings import ActionSettings
    from keepfor.actions.trail import Trail

__all__ = [
    "KEYS",
    "STATE_DB",
    "CsvSource",
    "FileSource",
    "JsonlSource",
    "open_csv",
    "open_jsonl",
    "parse_csv",
    "parse_jsonl",
]

STATE_DB = True
"""A file is no database: keepfor's tables (audit, holds, marks) live in ``state_db``."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_csv(section: Section) -> FileSettings:
    """A ``kind = "csv"`` section (:mod:`keepfor.connectors.filesconfig`)."""
    return parse_file(section, "csv")


def parse_jsonl(section: Section) -> FileSettings:
    """A ``kind = "jsonl"`` section (:mod:`keepfor.connectors.filesconfig`)."""
    return parse_file(section, "jsonl")


def open_csv(name: str, settings: FileSettings, state_url: str) -> CsvSource:
    """The source (no I/O until it is opened)."""
    return CsvSource(name, settings, state_url)


def open_jsonl(name: str, settings: FileSettings, state_url: str) -> JsonlSource:
    """The source (no I/O until it is opened)."""
    return JsonlSource(name, settings, state_url)


class FileSource(StreamedSource):
    """An export file: its records, less those keepfor has purged from it."""

    def __init__(self, name: str, settings: FileSettings, state_url: str | None) -> None:
        reader = FieldReader(
            fields=settings.fields,
            constants=settings.constants,
            timezone=settings.timezone,
            dates=settings.dates,
        )
        super().__init__(name, reader, state_url)
        self.settings = settings
        self.file = FileRows(name, settings)
        self._header: list[str] | None = None
        self._numbers: frozenset[str] = frozenset()

    @property
    def key(self) -> RecordKey:
        return RecordKey(self.settings.key, str)

    @property
    def header(self) -> list[str] | None:
        """The CSV file's columns, as read when opened (None for JSON Lines)."""
        return self._header

    def where(self) -> str:
        return f"source '{self.name}' ({self.settings.path})"

    def open(self) -> None:
        """The file can be read (and a CSV file's header is checked)."""
        self._header = self.file.header()
        if self._header is None:
            self.file.check_readable()

    def check(self, rules: RuleSet) -> None:
        super().check(rules)
        self._numbers = self._compared_with_numbers(rules)

    def _compared_with_numbers(self, rules: RuleSet) -> frozenset[str]:
        """Rule fields that every condition compares with a number (none for JSON,
        whose numbers are numbers already)."""
        return frozenset()

    def read(self, raw: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
        record = super().read(raw, fields)
        for name in self._numbers & record.keys():
            value = record[name]
            if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
                record[name] = _number(value.strip())
        return record

    def rows(self) -> Iterator[RawRow]:
        """The file's rows, less those purged from it by a sweep (a chunk at a time)."""
        stream = self.file.rows()
        while chunk := list(islice(stream, CHUNK)):
            acted = self.marks.acted([r.key for r in chunk], {"purge"})
            purged = acted.get("purge", set())
            yield from (row for row in chunk if row.key not in purged)

    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        for row in self.rows():
            yield Keyed(row.key, self.read(row.data, fields))

    def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
        """Writes the kept records and the disposal list beside the file
        (:class:`~keepfor.connectors.filewrite.FileTarget`)."""
        from keepfor.connectors.filewrite import FileTarget

        return FileTarget(self, settings, trail)

    def dry_run_query(self, predicate: Predicate) -> str:
        return f"read every record of {self.settings.path} and test in Python: {predicate!r}"


class CsvSource(FileSource):
    """A CSV export: a header row, then one record a row."""

    def known_fields(self) -> set[str] | None:
        """The rule fields some record has: the header's columns under their own names,
        the mapped fields whose column is in the header, and the constants."""
        if self._header is None:
            return None
        columns = set(self._header)
        mapped = {f for f, column in self.settings.fields.items() if column in columns}
        return columns | mapped | set(self.settings.constants)

    def _compared_with_numbers(self, rules: RuleSet) -> frozenset[str]:
        kinds: dict[str, set[bool]] = {}
        for _, rule in rules:
            for name, value in rule.conditions():
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                kinds.setdefault(name, set()).add(numeric)
        return frozenset(name for name, seen in kinds.items() if seen == {True})


class JsonlSource(FileSource):
    """A JSON Lines export: one JSON object a line, its values typed by JSON."""


def _number(text: str) -> int | float:
    """A decimal number's text as an int where it is whole, else a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)
