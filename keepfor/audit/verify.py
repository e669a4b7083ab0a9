"""Checking the trail, and reading a period of it back (the certificate of disposal).

:func:`verify` walks the batches and the entries in sequence order side by side, each
read in chunks of :data:`CHUNK` rows by key ranges (``WHERE sequence > last ORDER BY
sequence LIMIT n``), so memory stays flat however long the trail is and no server-side
cursor is held open. It recomputes every entry's hash and every batch's digest (see
:mod:`keepfor.audit.chain` for what each covers) and stops at the first fault, naming
the sequence number where it is.

Given the audit key, it then checks the head's seal (:func:`keepfor.audit.chain.head_seal`)
against the head it derived from the entries: the hashes and digests are not keyed, so
a trail whose newest entries were removed, or whose entries were rewritten, with every
digest after them and the head recomputed, passes every other check; only the key
tells. Without the key the seal is not checked (``seal`` says so); a head with no seal
(written before seals, or by an appender not given the key) is ``unsealed``.

For a consistent view while sweeps append, run it in one transaction at ``REPEATABLE
READ`` (the command does so on PostgreSQL and MariaDB).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keepfor.audit.chain import digest_start, head_seal
from keepfor.audit.entry import TEXT_FIELDS, AuditEntry, hash_of
from keepfor.audit.table import (
    GENESIS,
    audit,
    batches,
    db_time,
    exists,
    has_seal,
    head,
    py_time,
)
from keepfor.errors import SourceError

__all__ = [
    "CHUNK",
    "SEAL_CHECKED",
    "SEAL_NOT_CHECKED",
    "UNSEALED",
    "VerifyResult",
    "export",
    "verify",
]

CHUNK = 5000
"""Rows read per query."""

SEAL_CHECKED = "checked"
"""The head's seal was checked with the audit key (it matches, unless that is the fault)."""
SEAL_NOT_CHECKED = "not checked"
"""The head is sealed, but no key was given to check it with."""
UNSEALED = "unsealed"
"""The head has no seal (or the trail no head): nothing to check."""


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: ``entries``, how many entries it found intact (all of
    them when ``ok``; else those of the batches before the fault), the head digest
    (worth recording outside the database: a trail rewritten whole ends elsewhere),
    and the first fault, if any: ``first_bad``, the sequence number it is at, and
    ``problem``, a sentence naming it. ``seal``: :data:`SEAL_CHECKED`,
    :data:`SEAL_NOT_CHECKED` or :data:`UNSEALED` (a seal that does not match the key is
    a fault)."""

    entries: int
    digest: str
    first_bad: int | None = None
    problem: str | None = None
    seal: str = UNSEALED

    def __post_init__(self) -> None:
        if self.entries < 0:
            raise ValueError("entries must be >= 0")
        if (self.problem is None) != (self.first_bad is None):
            raise ValueError("a fault needs both its entry (first_bad) and its problem")
        if self.seal not in (SEAL_CHECKED, SEAL_NOT_CHECKED, UNSEALED):
            raise ValueError(f"no seal status {self.seal!r}")

    @property
    def ok(self) -> bool:
        """True when every entry is intact and in order."""
        return self.problem is None


class _Fault(Exception):
    """The first fault found, raised out of the walk."""

    def __init__(self, sequence: int | None, problem: str) -> None:
        super().__init__(problem)
        self.sequence = sequence
        self.problem = problem


def _chunks(
    conn: sa.Connection, query: sa.Select[Any], key: sa.ColumnElement[int], chunk: int
) -> Iterator[sa.Row[Any]]:
    """The rows of ``query`` in ``key`` order, ``chunk`` at a time by key ranges."""
    after: int | None = None
    while True:
        page = query if after is None else query.where(key > after)
        rows = conn.execute(page.order_by(key).limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1]._mapping[key.name]


class _Walk:
    """The entries in order, checked against each batch in turn."""

    def __init__(self, entries: Iterator[sa.Row[Any]]) -> None:
        self.entries = entries
        self.current = next(entries, None)
        self.expected = 1
        self.previous = GENESIS

    def batch(self, row: sa.Row[Any]) -> None:
        """Check the batch ``row`` and the entries it covers."""
        first, last = int(row.first_sequence), int(row.last_sequence)
        span = f"the batch of entries {first}..{last}"
        if first != self.expected:
            at = min(first, self.expected)
            raise _Fault(at, f"entry {at}: no batch covers it in order ({span} is out of place)")
        if last < first:
            raise _Fault(first, f"{span} is empty (its record was changed)")
        if row.previous != self.previous:
            raise _Fault(first, f"{span} does not follow the batch before it")
        digest = digest_start(self.previous, first, last)
        for sequence in range(first, last + 1):
            digest.update(self.entry(sequence).encode("ascii"))
        if digest.hexdigest() != row.digest:
            raise _Fault(
                first,
                f"{span}: the batch digest does not match (an entry was changed and its "
                "hash recomputed, or the batch's record was changed)",
            )
        self.previous = row.digest
        self.expected = last + 1

    def entry(self, sequence: int) -> str:
        """Check that the next entry is ``sequence`` and intact; its hash."""
        row = self.current
        if row is None or row.sequence > sequence:
            raise _Fault(sequence, f"entry {sequence} is missing (removed)")
        if row.sequence < sequence:
            raise _Fault(row.sequence, f"entry {row.sequence} is out of place (inserted)")
        try:
            expected = hash_of(sequence, py_time(row.time), [row._mapping[n] for n in TEXT_FIELDS])
        except (TypeError, ValueError, OverflowError):
            expected = ""
        if expected != row.hash:
            raise _Fault(sequence, f"entry {sequence} was changed (it does not match its hash)")
        self.current = next(self.entries, None)
        return str(row.hash)

    def end(self, last: int, digest: str) -> None:
        """Check that the walk ended where the head row says the trail ends."""
        if self.current is not None:
            n = self.current.sequence
            raise _Fault(n, f"entry {n} is covered by no batch (inserted)")
        if last > self.expected - 1:
            raise _Fault(
                self.expected, f"entries {self.expected}..{last} are missing (removed from the end)"
            )
        if last < self.expected - 1 or digest != self.previous:
            at = last + 1 if last < self.expected - 1 else max(last, 1)
            raise _Fault(at, f"entry {at}: the trail does not end where its head says")


def _head(conn: sa.Connection) -> tuple[int, str, str | None]:
    """The head row's last sequence number, digest and seal (None: unsealed, or a table
    an older keepfor made, without the column)."""
    seal = head.c.seal if has_seal(conn) else sa.null()
    row = conn.execute(
        sa.select(head.c.last_sequence, head.c.digest, seal).where(head.c.id == 1)
    ).first()
    if row is None:
        return 0, GENESIS, None
    return int(row[0]), str(row[1]), None if row[2] is None else str(row[2])


def _never_written(conn: sa.Connection, present: dict[str, bool], last: int, digest: str) -> bool:
    """Some of the trail's tables are there, and they hold nothing: no entry, no batch,
    a head (if any) at the start. So a sweep (or ``db init``) died while making them on
    MariaDB, which commits each ``CREATE TABLE`` on its own; nothing was written, so
    nothing can have been removed, and the next sweep makes the rest. A table missing
    beside any entry, batch or moved head is still a fault."""
    if (last, digest) != (0, GENESIS):
        return False
    for table, key in ((audit, audit.c.sequence), (batches, batches.c.first_sequence)):
        if present[table.name] and conn.execute(sa.select(key).limit(1)).first() is not None:
            return False
    return True


def verify(conn: sa.Connection, *, key: bytes | None = None, chunk: int = CHUNK) -> VerifyResult:
    """Check every entry and batch of the trail in ``conn``'s database, and with the
    audit ``key`` the head's seal.

    Raises :class:`SourceError` when the database has no audit trail at all; a trail
    with some of its tables missing is a fault, not an error, unless those there hold
    nothing (:func:`_never_written`): then it is an empty trail.
    """
    present = exists(conn)
    if not any(present.values()):
        raise SourceError("no audit trail here (no table keepfor_audit)")
    missing = [name for name, there in present.items() if not there]
    last, digest, seal = _head(conn) if present[head.name] else (0, GENESIS, None)
    if missing:
        if _never_written(conn, present, last, digest):
            return VerifyResult(0, GENESIS)
        return VerifyResult(0, digest, 1, f"the table {missing[0]} is missing")
    walk = _Walk(_chunks(conn, sa.select(audit), audit.c.sequence, chunk))
    try:
        for row in _chunks(conn, sa.select(batches), batches.c.first_sequence, chunk):
            walk.batch(row)
        walk.end(last, digest)
    except _Fault as fault:
        return VerifyResult(max(walk.expected - 1, 0), digest, fault.sequence, fault.problem)
    count = walk.expected - 1
    if seal is None:
        return VerifyResult(count, digest, seal=UNSEALED)
    if key is None:
        return VerifyResult(count, digest, seal=SEAL_NOT_CHECKED)
    if not hmac.compare_digest(head_seal(key, digest, count).encode(), seal.encode()):
        return VerifyResult(
            count,
            digest,
            count + 1,
            "the head's seal does not match the audit key: entries may have been removed "
            f"after entry {count}, or entries up to it rewritten (or this is not the key "
            "the trail was sealed with)",
            seal=SEAL_CHECKED,
        )
    return VerifyResult(count, digest, seal=SEAL_CHECKED)


def export(
    conn: sa.Connection,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    source: str | None = None,
    chunk: int = CHUNK,
) -> Iterator[AuditEntry]:
    """The entries with ``start <= time < end`` (either bound may be open), of one
    ``source`` when given, in sequence order, read ``chunk`` at a time."""
    if not exists(conn)[audit.name]:
        raise SourceError("no audit trail here (no table keepfor_audit)")
    query = sa.select(audit)
    if start is not None:
        query = query.where(audit.c.time >= db_time(start, conn.dialect))
    if end is not None:
        query = query.where(audit.c.time < db_time(end, conn.dialect))
    if source is not None:
        query = query.where(audit.c.source == source)
    for row in _chunks(conn, query, audit.c.sequence, chunk):
        values = dict(row._mapping)
        values["time"] = py_time(values["time"])
        try:
            yield AuditEntry(**values)
        except (TypeError, ValueError) as error:
            raise SourceError(f"audit entry {row.sequence} is not a valid entry: {error}") from None
