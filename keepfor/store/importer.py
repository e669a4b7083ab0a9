"""Import records into the store from a CSV or JSON Lines file, all or nothing.

The formats are described in :mod:`keepfor.store.rows`, how values are typed (and
which are refused) in :mod:`keepfor.store.values`, and which texts look like dates and
how ``date_formats`` and ``dayfirst`` read them in :mod:`keepfor.store.datelike`.

The file is read twice. The first pass checks every row and collects every problem
(line, field, reason), including keys repeated in the file or, unless ``replace``, already
in the store; if there is any, :class:`ImportFailed` is raised and nothing is written.
The second pass writes in batches inside one transaction, so the store holds either the
whole file or none of it. With ``replace``, a record whose key is already in the store
is updated: its category, customer and ``imported_at`` are the file's and the import's,
and its fields are exactly the row's (a field the row leaves out is removed). Memory use
is constant in the size of the rows, and grows only with the number of keys (to find
duplicates: roughly 100 bytes a record).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from keepfor.clock import Clock, SystemClock
from keepfor.store.datelike import DateReading
from keepfor.store.db import StoreError, safe_url
from keepfor.store.models import VALUE_COLUMNS, Customer, Record, RecordField
from keepfor.store.rows import ImportProblem, Item, Row, read_rows

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
    """What an import did: ``count`` records written, of which ``replaced`` were updated."""

    count: int
    customers_created: int = 0
    replaced: int = 0

    @property
    def inserted(self) -> int:
        """Records that were not in the store before."""
        return self.count - self.replaced


@dataclass(frozen=True, slots=True)
class _Job:
    """One import: the file, how to read its dates, whether existing keys are replaced."""

    path: Path
    name: str
    dates: DateReading
    replace: bool

    def items(self) -> Iterator[Item]:
        return read_rows(self.path, self.name, self.dates)


# -- checking ---------------------------------------------------------------------------


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _record_ids(conn: sa.Connection, keys: list[str]) -> dict[str, int]:
    """The id of each of ``keys`` that is in the store."""
    if not keys:
        return {}
    table = Record.__table__  # type: ignore[attr-defined]
    found = conn.execute(sa.select(table.c.key, table.c.id).where(table.c.key.in_(keys)))
    return {key: record_id for key, record_id in found}


class _Problems:
    """Every problem found, the first :data:`MAX_LISTED_PROBLEMS` of them kept."""

    def __init__(self) -> None:
        self.kept: list[ImportProblem] = []
        self.count = 0

    def add(self, problem: ImportProblem) -> None:
        self.count += 1
        if len(self.kept) < MAX_LISTED_PROBLEMS:
            self.kept.append(problem)


def _check(conn: sa.Connection, job: _Job) -> None:
    """Read the whole file; raise :class:`ImportFailed` listing every bad row."""
    problems = _Problems()
    first_line: dict[str, int] = {}
    for batch in _batches(job.items(), BATCH_SIZE):
        fresh: list[Row] = []
        for item in batch:
            if isinstance(item, ImportProblem):
                problems.add(item)
                continue
            earlier = first_line.setdefault(item.key, item.line)
            if earlier != item.line:
                reason = f"{item.key!r} is already used on line {earlier}"
                problems.add(ImportProblem(job.name, item.line, "key", reason))
                continue
            fresh.append(item)
        if job.replace:
            continue
        in_store = _record_ids(conn, [row.key for row in fresh])
        for row in fresh:
            if row.key in in_store:
                reason = (
                    f"{row.key!r} is already in the store at {safe_url(conn.engine.url)} "
                    "(give --replace to update it)"
                )
                problems.add(ImportProblem(job.name, row.line, "key", reason))
    if problems.count:
        problems.kept.sort(key=lambda problem: problem.line or 0)
        raise ImportFailed(job.name, problems.kept, problems.count)


# -- writing ----------------------------------------------------------------------------


def _rows(job: _Job, batch: list[Item]) -> list[Row]:
    rows: list[Row] = []
    for item in batch:
        if isinstance(item, ImportProblem):  # the file changed since it was checked
            raise StoreError(f"{item} (the file changed during the import; nothing imported)")
        rows.append(item)
    return rows


def _add_customers(conn: sa.Connection, rows: list[Row], now: datetime) -> int:
    """Create the customers the rows name that the store lacks; return how many."""
    customers = Customer.__table__  # type: ignore[attr-defined]
    wanted = sorted({row.customer for row in rows if row.customer is not None})
    if not wanted:
        return 0
    query = sa.select(customers.c.key).where(customers.c.key.in_(wanted))
    have = {key for (key,) in conn.execute(query)}
    missing = [key for key in wanted if key not in have]
    if missing:
        conn.execute(sa.insert(customers), [{"key": key, "created_at": now} for key in missing])
    return len(missing)


def _replace_records(
    conn: sa.Connection, rows: list[Row], ids: dict[str, int], now: datetime
) -> None:
    """Give existing records the rows' category and customer, and drop their fields."""
    records = Record.__table__  # type: ignore[attr-defined]
    fields = RecordField.__table__  # type: ignore[attr-defined]
    update = (
        sa.update(records)
        .where(records.c.id == sa.bindparam("record_id"))
        .values(
            category=sa.bindparam("new_category"),
            customer_key=sa.bindparam("new_customer"),
            imported_at=now,
        )
    )
    conn.execute(
        update,
        [
            {"record_id": ids[row.key], "new_category": row.category, "new_customer": row.customer}
            for row in rows
        ],
    )
    conn.execute(sa.delete(fields).where(fields.c.record_id.in_([ids[row.key] for row in rows])))


def _insert_records(conn: sa.Connection, rows: list[Row], now: datetime) -> dict[str, int]:
    """Insert new records; return their ids by key."""
    records = Record.__table__  # type: ignore[attr-defined]
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
    return _record_ids(conn, [row.key for row in rows])


def _insert_fields(conn: sa.Connection, rows: list[Row], ids: dict[str, int]) -> None:
    fields = RecordField.__table__  # type: ignore[attr-defined]
    # one executemany per value column: each row binds three parameters, not seven
    by_column: dict[str, list[dict[str, Any]]] = {column: [] for column in VALUE_COLUMNS}
    for row in rows:
        for field_name, column, value in row.fields:
            by_column[column].append({"record_id": ids[row.key], "name": field_name, column: value})
    for values in by_column.values():
        if values:
            conn.execute(sa.insert(fields), values)


def _write(conn: sa.Connection, job: _Job, now: datetime) -> ImportResult:
    """Write every row, batch by batch, in the caller's transaction."""
    count = created = replaced = 0
    for batch in _batches(job.items(), BATCH_SIZE):
        rows = _rows(job, batch)
        created += _add_customers(conn, rows, now)
        ids = _record_ids(conn, [row.key for row in rows]) if job.replace else {}
        old = [row for row in rows if row.key in ids]
        if old:
            _replace_records(conn, old, ids, now)
        new = [row for row in rows if row.key not in ids]
        if new:
            ids.update(_insert_records(conn, new, now))
        _insert_fields(conn, rows, ids)
        count += len(rows)
        replaced += len(old)
    return ImportResult(count=count, customers_created=created, replaced=replaced)


def import_records(
    engine: sa.Engine,
    path: str | Path,
    *,
    clock: Clock | None = None,
    replace: bool = False,
    date_formats: str | Iterable[str] = (),
    dayfirst: bool = False,
) -> ImportResult:
    """Import every record of a ``.csv`` or ``.jsonl`` file into the store, or none.

    ``clock`` says when the import happens (``imported_at``; default: the system clock).
    ``replace`` updates the records whose keys are already in the store instead of
    refusing them. ``date_formats`` (strptime formats, tried in order) and ``dayfirst``
    read date texts that are not ISO 8601 (see :mod:`keepfor.store.datelike`).

    Raises :class:`ImportFailed` (a :class:`~keepfor.store.db.StoreError`) listing every
    bad row when any row is bad, and :class:`StoreError` for a file that cannot be read;
    the store is then left exactly as it was. A date format that names no day, month
    and year raises :class:`~keepfor.errors.UsageError` before anything is read.
    """
    formats = (date_formats,) if isinstance(date_formats, str) else tuple(date_formats)
    job = _Job(Path(path), str(path), DateReading(formats, dayfirst), replace)
    try:
        with engine.begin() as conn:
            _check(conn, job)
            return _write(conn, job, (clock or SystemClock()).now())
    except sa.exc.IntegrityError as error:
        raise StoreError(
            f"{job.name}: the store refused a row ({_reason(error)}); another import may have "
            "run at the same time; nothing was imported"
        ) from None
    except sa.exc.DBAPIError as error:
        raise StoreError(
            f"{job.name}: the import into {safe_url(engine.url)} failed ({_reason(error)}); "
            "nothing was imported"
        ) from None


def _reason(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip() or type(error.orig).__name__
    return " ".join(text.splitlines()[0].split())
