"""Fixtures for the audit trail's tests: an engine with the trail's tables on each
backend, entries to append, and ways to tamper with what was written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from keepfor.audit import PendingEntry, Pseudonymiser, append, ensure
from keepfor.audit.entry import AuditEntry
from keepfor.database import create_engine

KEY = b"test-audit-key-0123456789abcdef"
"""The audit key of these tests (never a real one)."""

AT = datetime(2026, 11, 22, 9, 0, 0, 123456, tzinfo=UTC)
"""When the first entry was written."""


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on an empty database (each backend) with the trail's tables."""
    made = create_engine(db_url)
    with made.begin() as conn:
        ensure(conn)
    try:
        yield made
    finally:
        made.dispose()


def pending(
    n: int,
    *,
    start: int = 0,
    batch: str = "b1",
    source: str = "orders",
    version: str = "2026.1",
    action: str = "purge",
    at: datetime = AT,
) -> list[PendingEntry]:
    """``n`` entries for the records ORD-<start>... of ``source``, a second apart."""
    name = Pseudonymiser(KEY, source)
    return [
        PendingEntry(
            at + timedelta(seconds=i),
            "sweep-1",
            batch,
            source,
            name(f"ORD-{start + i}"),
            "orders-tax",
            "shop",
            version,
            action,
            "done",
        )
        for i in range(n)
    ]


def appended(engine: sa.Engine, *sizes: int) -> list[AuditEntry]:
    """Append batches of ``sizes`` entries, each in its own committed transaction."""
    done: list[AuditEntry] = []
    for number, size in enumerate(sizes, 1):
        with engine.begin() as conn:
            done += append(conn, pending(size, start=len(done), batch=f"b{number}"))
    return done
