"""Import records into the store from a CSV or JSON Lines file, all or nothing.

Formats, by suffix:

``.csv``
    A header row naming the columns; ``key`` and ``category`` are required,
    ``customer`` is optional, every other column is a field. UTF-8 (a BOM is allowed).
``.jsonl``
    One JSON object per line with the same keys; blank lines are skipped.

Values are typed as they are read:

* JSON ``true``/``false`` and numbers stay booleans and numbers; in a CSV file the
  strings ``true``/``false`` (any case) are booleans;
* a ``YYYY-MM-DD`` string is a date (``value_date``);
* an ISO 8601 datetime with an offset or ``Z`` is an instant (``value_instant``, UTC);
  one *without* an offset is an error: it names no instant;
* any other string is text; an empty string or ``null`` leaves the field out.

The file is read twice. The first pass checks every row and collects every problem
(line, field, reason), including keys repeated in the file or already in the store;
if there is any, :class:`ImportFailed` is raised and nothing is written. The second
pass inserts in batches inside one transaction, so the store holds either the whole
file or none of it. Memory use is constant in the size of the rows, and grows only
with the number of keys (to find duplicates: roughly 100 bytes a record).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from keepfor.clock import Clock, SystemClock
from keepfor.store.db import StoreError, safe_url
from keepfor.store.models import KEY_LENGTH, VALUE_COLUMNS, Customer, Record, RecordField

__all__ = [
    "BATCH_SIZE",
    "MAX_LISTED_PROBLEMS",
    "ImportFailed",
    "ImportProblem",
    "ImportResult",
    "import_records",
]

BATCH_SIZE = 1000
"""Records per insert batch (and per look-up of existing keys)."""

MAX_LISTED_PROBLEMS = 10_000
"""Problems kept for the report; beyond these only the count grows."""

SUFFIXES = (".csv", ".jsonl")
RESERVED = ("key", "category", "customer")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DATETIME_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}.*", re.DOTALL)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)


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


class ImportFailed(StoreError):
    """A file with bad rows; nothing was imported. ``problems`` lists them in file order.

    ``count`` is the number of problems found (``problems`` keeps the first
    :data:`MAX_LISTED_PROBLEMS` of them).
    """

    def __init__(self, file: str, problems: list[ImportProblem], count: int) -> None:
        self.file = file
        self.problems = problems
        self.count = count
        rows = "bad row" if count == 1 else "bad rows"
        first = f"; first: {problems[0].short()}" if problems else ""
        super().__init__(f"{file}: {count} {rows}{first}; nothing was imported")

    def lines(self) -> list[str]:
        """One self-contained line per problem, then one more if some were not listed."""
        out = [str(problem) for problem in self.problems]
        if self.count > len(self.problems):
            out.append(f"{self.file}: ... and {self.count - len(self.problems)} more bad rows")
        return out


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    count: int
    customers_created: int = 0


@dataclass(slots=True)
class _Row:
    line: int
    key: str
    category: str
    customer: str | None
    fields: list[tuple[str, str, Any]] = field(default_factory=list)
    """(name, value column, value)."""


class _Bad(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# -- typing values ---------------------------------------------------------------------


def _typed_string(name: str, text: str, *, csv_file: bool) -> tuple[str, Any] | None:
    """The value column and value of a string; None for an empty string."""
    if text == "":
        return None
    stripped = text.strip()
    if csv_file and stripped.lower() in ("true", "false"):
        return "value_bool", stripped.lower() == "true"
    if _DATE_LIKE.fullmatch(stripped):
        if not _DATE.fullmatch(stripped):
            raise _Bad(name, f"{text!r} is not a date (YYYY-MM-DD)")
        try:
            return "value_date", date.fromisoformat(stripped)
        except ValueError:
            raise _Bad(name, f"{text!r} is not a date") from None
    if _DATETIME_LIKE.fullmatch(stripped):
        if not _DATETIME.fullmatch(stripped):
            raise _Bad(
                name,
                f"{text!r} is not an ISO 8601 datetime (e.g. 2019-03-31T23:30:00Z)",
            )
        try:
            instant = datetime.fromisoformat(stripped)
        except ValueError:
            raise _Bad(name, f"{text!r} is not a datetime") from None
        if instant.tzinfo is None:
            raise _Bad(
                name,
                f"{text!r} is a datetime without a UTC offset "
                "(add one: 2019-03-31T23:30:00Z or +01:00)",
            )
        return "value_instant", instant.astimezone(UTC)
    return "value_text", text


def _typed_json(name: str, value: Any) -> tuple[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "value_bool", value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise _Bad(name, f"{value!r} is not a finite number")
        if isinstance(value, int) and abs(value) > 2**53:
            raise _Bad(name, f"{value} is too large to keep exactly (more than 2**53)")
        return "value_number", number
    if isinstance(value, str):
        return _typed_string(name, value, csv_file=False)
    kind = "an object" if isinstance(value, dict) else "a list"
    raise _Bad(name, f"a field value is a string, number, true/false or null, not {kind}")


def _check_name(name: str) -> None:
    if name == "":
        raise _Bad(None, "a field name is empty")
    if len(name) > KEY_LENGTH:
        raise _Bad(name[:40] + "...", f"a field name is longer than {KEY_LENGTH} characters")


def _identifier(what: str, value: Any, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise _Bad(what, f"the record has no {what}")
        return None
    if not isinstance(value, str):
        raise _Bad(what, f"{what} is {json.dumps(value)}; it must be a string")
    if len(value) > KEY_LENGTH:
        raise _Bad(what, f"{what} is longer than {KEY_LENGTH} characters")
    return value


def _build(line: int, data: dict[str, Any], *, csv_file: bool) -> _Row:
    """A row from a mapping of column -> value, or :class:`_Bad` for the first fault."""
    key = _identifier("key", data.get("key"), required=True)
    category = _identifier("category", data.get("category"), required=True)
    customer = _identifier("customer", data.get("customer"), required=False)
    assert key is not None
    assert category is not None
    row = _Row(line, key, category, customer)
    for name, value in data.items():
        if name in RESERVED:
            continue
        _check_name(name)
        typed = _typed_string(name, value, csv_file=True) if csv_file else _typed_json(name, value)
        if typed is not None:
            row.fields.append((name, typed[0], typed[1]))
    return row


# -- reading files ---------------------------------------------------------------------

_Item = _Row | ImportProblem


def _read(path: Path, name: str) -> Iterator[_Item]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise StoreError(
            f"{name}: cannot import a {suffix or 'suffix-less'!s} file; "
            "give a .csv (header row) or .jsonl (one JSON object a line) file"
        )
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise StoreError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise StoreError(f"{name}: is a folder, not a file") from None
    except OSError as error:
        raise StoreError(f"{name}: cannot read the file: {error.strerror or error}") from None
    with handle:
        try:
            if suffix == ".csv":
                yield from _read_csv(handle, name)
            else:
                yield from _read_jsonl(handle, name)
        except UnicodeDecodeError:
            raise StoreError(f"{name}: not UTF-8 text") from None
        except csv.Error as error:
            raise StoreError(f"{name}: not a readable CSV file: {error}") from None


def _read_csv(handle: Any, name: str) -> Iterator[_Item]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        yield ImportProblem(name, 1, None, "the file is empty; a CSV file starts with a header row")
        return
    header_ok = True
    seen: set[str] = set()
    for column in header:
        if column in seen:
            yield ImportProblem(name, 1, column, "the header names this column twice")
            header_ok = False
        seen.add(column)
        if column == "":
            yield ImportProblem(name, 1, None, "the header has a column with no name")
            header_ok = False
        elif len(column) > KEY_LENGTH:
            yield ImportProblem(
                name,
                1,
                column[:40] + "...",
                f"a column name is longer than {KEY_LENGTH} characters",
            )
            header_ok = False
    for required in ("key", "category"):
        if required not in seen:
            yield ImportProblem(name, 1, required, f"the header has no {required!r} column")
            header_ok = False
    if not header_ok:
        return
    width = len(header)
    last_line = reader.line_num
    for values in reader:
        line = last_line + 1
        last_line = reader.line_num
        if not values:
            continue
        if len(values) != width:
            yield ImportProblem(
                name,
                line,
                None,
                f"the row has {len(values)} values but the header names {width} columns",
            )
            continue
        try:
            yield _build(line, dict(zip(header, values, strict=True)), csv_file=True)
        except _Bad as bad:
            yield ImportProblem(name, line, bad.field, bad.reason)


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def _read_jsonl(handle: Any, name: str) -> Iterator[_Item]:
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text, parse_constant=_no_constants)
        except json.JSONDecodeError as error:
            yield ImportProblem(
                name, line, None, f"not valid JSON: {error.msg} at column {error.colno}"
            )
            continue
        except ValueError as error:
            yield ImportProblem(name, line, None, f"not valid JSON: {error}")
            continue
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else f"a JSON {type(data).__name__}"
            yield ImportProblem(name, line, None, f"a line holds one JSON object, not {kind}")
            continue
        try:
            yield _build(line, data, csv_file=False)
        except _Bad as bad:
            yield ImportProblem(name, line, bad.field, bad.reason)


# -- checking and importing ------------------------------------------------------------


def _batches(items: Iterator[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing_keys(conn: sa.Connection, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    table = Record.__table__  # type: ignore[attr-defined]
    found = conn.execute(sa.select(table.c.key).where(table.c.key.in_(keys)))
    return {key for (key,) in found}


def _check(conn: sa.Connection, path: Path, name: str) -> None:
    """Read the whole file; raise :class:`ImportFailed` listing every bad row."""
    problems: list[ImportProblem] = []
    count = 0
    first_line: dict[str, int] = {}

    def report(problem: ImportProblem) -> None:
        nonlocal count
        count += 1
        if len(problems) < MAX_LISTED_PROBLEMS:
            problems.append(problem)

    for batch in _batches(_read(path, name), BATCH_SIZE):
        fresh: list[_Row] = []
        for item in batch:
            if isinstance(item, ImportProblem):
                report(item)
                continue
            earlier = first_line.setdefault(item.key, item.line)
            if earlier != item.line:
                report(
                    ImportProblem(
                        name, item.line, "key", f"{item.key!r} is already used on line {earlier}"
                    )
                )
                continue
            fresh.append(item)
        in_store = _existing_keys(conn, [row.key for row in fresh])
        for row in fresh:
            if row.key in in_store:
                report(
                    ImportProblem(
                        name,
                        row.line,
                        "key",
                        f"{row.key!r} is already in the store at {safe_url(conn.engine.url)}",
                    )
                )
    if count:
        problems.sort(key=lambda problem: problem.line or 0)
        raise ImportFailed(name, problems, count)


def _insert(conn: sa.Connection, path: Path, name: str, now: datetime) -> ImportResult:
    records = Record.__table__  # type: ignore[attr-defined]
    fields = RecordField.__table__  # type: ignore[attr-defined]
    customers = Customer.__table__  # type: ignore[attr-defined]
    count = created = 0
    for batch in _batches(_read(path, name), BATCH_SIZE):
        rows: list[_Row] = []
        for item in batch:
            if isinstance(item, ImportProblem):  # the file changed since it was checked
                raise StoreError(f"{item} (the file changed during the import; nothing imported)")
            rows.append(item)
        wanted = sorted({row.customer for row in rows if row.customer is not None})
        if wanted:
            have = {
                key
                for (key,) in conn.execute(
                    sa.select(customers.c.key).where(customers.c.key.in_(wanted))
                )
            }
            missing = [key for key in wanted if key not in have]
            if missing:
                conn.execute(
                    sa.insert(customers), [{"key": key, "created_at": now} for key in missing]
                )
                created += len(missing)
        conn.execute(
            sa.insert(records),
            [
                {
                    "key": row.key,
                    "customer_key": row.customer,
                    "category": row.category,
                    "imported_at": now,
                }
                for row in rows
            ],
        )
        found = conn.execute(
            sa.select(records.c.key, records.c.id).where(
                records.c.key.in_([row.key for row in rows])
            )
        )
        ids: dict[str, int] = {key: record_id for key, record_id in found}
        # one executemany per value column: each row binds three parameters, not seven
        by_column: dict[str, list[dict[str, Any]]] = {column: [] for column in VALUE_COLUMNS}
        for row in rows:
            record_id = ids[row.key]
            for field_name, column, value in row.fields:
                by_column[column].append(
                    {"record_id": record_id, "name": field_name, column: value}
                )
        for values in by_column.values():
            if values:
                conn.execute(sa.insert(fields), values)
        count += len(rows)
    return ImportResult(count=count, customers_created=created)


def import_records(
    engine: sa.Engine, path: str | Path, *, clock: Clock | None = None
) -> ImportResult:
    """Import every record of a ``.csv`` or ``.jsonl`` file into the store, or none.

    ``clock`` says when the import happens (``imported_at``; default: the system clock).

    Raises :class:`ImportFailed` (a :class:`~keepfor.store.db.StoreError`) listing every
    bad row when any row is bad, and :class:`StoreError` for a file that cannot be read;
    the store is then left exactly as it was.
    """
    file = Path(path)
    name = str(path)
    try:
        with engine.begin() as conn:
            _check(conn, file, name)
            return _insert(conn, file, name, (clock or SystemClock()).now())
    except sa.exc.IntegrityError as error:
        raise StoreError(
            f"{name}: the store refused a row ({_reason(error)}); another import may have "
            "run at the same time; nothing was imported"
        ) from None
    except sa.exc.DBAPIError as error:
        raise StoreError(
            f"{name}: the import into {safe_url(engine.url)} failed ({_reason(error)}); "
            "nothing was imported"
        ) from None


def _reason(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip() or type(error.orig).__name__
    return " ".join(text.splitlines()[0].split())
