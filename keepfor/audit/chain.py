"""Appending to the trail: one batch of entries, inside the caller's transaction.

Choice: a digest per batch, with each entry's own hash inside it (not a hash chain
from entry to entry).

* ``hash`` of an entry is the SHA-256 of its own canonical form
  (:mod:`keepfor.audit.entry`), which covers its sequence number and batch id. It
  depends on nothing else, so it costs one SHA-256 per entry here, and a sweep may
  compute it inside the database, in the statement that acts (PostgreSQL ``sha256()``,
  MariaDB ``SHA2()``): the issue's benchmark found that writing audit rows from Python
  costs 8-10x a bare ``DELETE`` on PostgreSQL against 2.6-3.0x in SQL. A chain from
  entry to entry is a fold that one set-based statement cannot compute, and measured
  about 0.5x more.
* ``digest`` of a batch is the SHA-256 of::

      keepfor-audit-batch-1 US previous US first US last US hash(first) ... hash(last)

  (``US`` the unit separator, hashes as 64 hex digits each, concatenated in sequence
  order), where ``previous`` is the digest of the batch before (:data:`GENESIS` for
  the first). The digests chain the batches; the head row holds the last one.
* ``seal`` of the head is ``HMAC-SHA256(audit key, message)`` in hex (:func:`head_seal`),
  where the message is the UTF-8 of::

      keepfor-audit-seal-1 US digest US count

  ``digest`` the head's (64 hex digits) and ``count`` its last sequence number (the
  number of entries) in decimal. It is written with the head, in the batch's
  transaction, by an appender given the key. The hashes and digests are not keyed, so
  anyone who can write to the database could remove the newest entries or rewrite some
  and recompute what follows; without the key they cannot recompute the seal, which
  :func:`keepfor.audit.verify.verify` checks when it is given the key. An appender not
  given the key leaves the head unsealed (``NULL``), as are heads written before seals.

What :func:`keepfor.audit.verify.verify` sees with this: a changed field or hash, or
two entries' sequence numbers swapped, at that entry (its hash no longer matches); a
removed entry as a gap in the numbers, or past the end as a trail shorter than its
head; an inserted one as a number out of place or an entry no batch covers. The price:
an entry changed *and* given a recomputed hash is caught by its batch's digest, and
named as the batch's first entry, not as itself.

Locking: the head row is read ``FOR UPDATE`` on PostgreSQL and MariaDB, so concurrent
appenders (two sweeps) wait for each other and number their entries without gaps or
clashes. SQLite serialises writers; there the head row is updated first, so the
transaction holds the write lock before it reads (a read-then-write transaction
could otherwise fail with "database is locked" instead of waiting).

The rows are inserted by one statement per :data:`INSERT_ROWS` (see :func:`_insert`), so
that a batch of 100,000 entries does not hold all its rows at once. Per entry, Python does
one canonical text, one SHA-256, one row tuple and the returned entry; entries are not
validated twice (a :class:`PendingEntry` was validated when it was made).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keepfor.audit.entry import FORMAT, TEXT_FIELDS, AuditEntry, PendingEntry, utc_text
from keepfor.audit.table import GENESIS, audit, batches, head

__all__ = [
    "BATCH_FORMAT",
    "GENESIS",
    "SEAL_FORMAT",
    "Appended",
    "append",
    "append_records",
    "batch_digest",
    "close_batch",
    "digest_start",
    "head_seal",
    "lock_head",
]

BATCH_FORMAT = "keepfor-audit-batch-1"
"""The batch digest's name and version: the first field of every digested text."""


SEAL_FORMAT = "keepfor-audit-seal-1"
"""The head seal's name and version: the first field of every sealed message."""


def head_seal(key: bytes, digest: str, count: int) -> str:
    """The seal of a head whose digest is ``digest`` after ``count`` entries (hex)."""
    message = f"{SEAL_FORMAT}\x1f{digest}\x1f{count}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def digest_start(previous: str, first: int, last: int) -> hashlib._Hash:
    """A SHA-256 fed with a batch's header; feed it the entries' hashes in order."""
    return hashlib.sha256(f"{BATCH_FORMAT}\x1f{previous}\x1f{first}\x1f{last}\x1f".encode())


def batch_digest(previous: str, first: int, last: int, hashes: Iterable[str]) -> str:
    """The digest of the batch of entries ``first..last`` whose hashes are ``hashes``."""
    digest = digest_start(previous, first, last)
    for value in hashes:
        digest.update(value.encode("ascii"))
    return digest.hexdigest()


def lock_head(conn: sa.Connection) -> tuple[int, str]:
    """The last sequence number and digest, the head row locked until the transaction
    ends; the row is created (in this transaction) where it is missing."""
    one = head.c.id == 1
    if conn.dialect.name == "sqlite":
        conn.execute(head.update().where(one).values(last_sequence=head.c.last_sequence))
    row = conn.execute(
        sa.select(head.c.last_sequence, head.c.digest).where(one).with_for_update()
    ).first()
    if row is None:
        conn.execute(head.insert().values(id=1, last_sequence=0, digest=GENESIS))
        return 0, GENESIS
    return int(row.last_sequence), str(row.digest)


def append(
    conn: sa.Connection, entries: Sequence[PendingEntry], *, key: bytes | None = None
) -> list[AuditEntry]:
    """Append ``entries`` as one batch, in the transaction ``conn`` is in, and return
    them numbered and hashed; the head is sealed with the audit ``key`` (unsealed
    without one). Nothing is committed here: the caller's commit writes the entries
    with its actions, its rollback removes both."""
    done: list[AuditEntry] = []
    if entries:
        items = [(e.time, tuple([getattr(e, n) for n in TEXT_FIELDS])) for e in entries]
        _write(conn, items, done, key)
    return done


@dataclass(frozen=True)
class Appended:
    """What :func:`append_records` wrote: entries ``first..last`` and their batch's digest."""

    first: int
    last: int
    digest: str

    def __post_init__(self) -> None:
        if not 1 <= self.first <= self.last + 1:
            raise ValueError(f"no batch spans entries {self.first}..{self.last}")

    @property
    def count(self) -> int:
        """How many entries were appended."""
        return self.last - self.first + 1


def append_records(
    conn: sa.Connection,
    template: PendingEntry,
    records: Sequence[str],
    *,
    key: bytes | None = None,
) -> Appended:
    """:func:`append` for a batch whose entries differ only in ``record``: one entry per
    pseudonym of ``records``, every other field the ``template``'s (whose own record is
    ignored); the head sealed with ``key``. The fast path for a sweep's batch: no value
    object per entry on the way in."""
    texts = [getattr(template, n) for n in TEXT_FIELDS]
    before, after = tuple(texts[:_RECORD]), tuple(texts[_RECORD + 1 :])
    for record in records:
        if not isinstance(record, str) or not _HEX64.fullmatch(record):
            raise ValueError(
                "an audit entry's record must be a pseudonym (64 lowercase hex digits)"
            )
    time = template.time
    items = [(time, (*before, record, *after)) for record in records]
    if not items:
        return Appended(1, 0, GENESIS)
    first, last, digest = _write(conn, items, None, key)
    return Appended(first, last, digest)


def _write(
    conn: sa.Connection,
    items: Sequence[tuple[datetime, tuple[str, ...]]],
    done: list[AuditEntry] | None,
    key: bytes | None,
) -> tuple[int, int, str]:
    """Number, hash and insert validated entries (time, text fields, at least one) as
    one batch, the head sealed with ``key``; the entries as appended go to ``done``
    when given.
    Returns (first, last, digest)."""
    last, previous = lock_head(conn)
    first = last + 1
    digest = digest_start(previous, first, last + len(items))
    store = _storing(conn.dialect)
    rows: list[tuple[Any, ...]] = []
    sha256, join, trusted = hashlib.sha256, _SEP.join, AuditEntry.trusted
    seen: datetime | None = None
    stamp, stored = "", None
    for sequence, (time, texts) in enumerate(items, first):
        if time is not seen:  # a batch's entries usually share one time
            seen, stamp = time, utc_text(time)
            stored = store(time)
        value = sha256(join((FORMAT, str(sequence), stamp, *texts)).encode()).hexdigest()
        digest.update(value.encode("ascii"))
        rows.append((sequence, stored, *texts, value))
        if done is not None:
            done.append(trusted(sequence, time, texts, value))
        if len(rows) == INSERT_ROWS:
            _insert(conn, rows)
            rows = []
    if rows:
        _insert(conn, rows)
    total = digest.hexdigest()
    close_batch(conn, previous, first, last + len(items), total, key)
    return first, last + len(items), total


def _storing(dialect: sa.Dialect) -> Callable[[datetime], Any]:
    """An entry's time as the driver is given it: aware on PostgreSQL, naive UTC
    elsewhere, and on SQLite the text SQLAlchemy's ``DateTime`` writes (sqlite3's own
    datetime adapter, deprecated since Python 3.12, drops a zero fraction of a second,
    and such a text sorts before the bound of a period that starts at its instant)."""
    if dialect.name == "postgresql":
        return lambda time: time
    process = audit.c.time.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return lambda time: time.replace(tzinfo=None)
    return lambda time: process(time.replace(tzinfo=None))


def _insert(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert the rows with one statement: ``unnest`` of one array per column on
    PostgreSQL in binary (measured per row: ``executemany`` ~15 us of client CPU, text arrays
    ~20 us, binary arrays ~8 us), the
    driver's own ``executemany`` elsewhere (PyMySQL folds it into multi-row inserts)."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in audit.columns)
    table = quote(audit.name)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        casts = ["bigint", "timestamptz", *(["text"] * len(TEXT_FIELDS)), "text"]
        arrays = ", ".join(f"%b::{cast}[]" for cast in casts)  # binary: C dumpers
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"
        conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*rows, strict=True)))
    elif dialect.paramstyle in _MARKS:
        marks = ", ".join([_MARKS[dialect.paramstyle]] * len(audit.columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    else:  # another driver: SQLAlchemy's own executemany
        keys = [column.name for column in audit.columns]
        conn.execute(audit.insert(), [dict(zip(keys, row, strict=True)) for row in rows])


def close_batch(
    conn: sa.Connection,
    previous: str,
    first: int,
    last: int,
    digest: str,
    key: bytes | None = None,
) -> None:
    """Record the batch's digest and move the head to it, sealed with ``key`` (the seal
    cleared without one: a seal of the head before would no longer match)."""
    seal = None if key is None else head_seal(key, digest, last)
    conn.execute(
        batches.insert().values(
            first_sequence=first, last_sequence=last, previous=previous, digest=digest
        )
    )
    conn.execute(
        head.update().where(head.c.id == 1).values(last_sequence=last, digest=digest, seal=seal)
    )


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_RECORD = TEXT_FIELDS.index("record")
_SEP = "\x1f"
INSERT_ROWS = 10_000
"""Audit rows inserted by one statement."""
_HEX64 = re.compile(r"[0-9a-f]{64}")
