"""Adding, listing and releasing holds, on a connection the caller's transaction owns.

Nothing here commits: ``keepfor hold`` writes a hold and its audit entry in one
transaction. :func:`active_holds` is what ``explain``, an erasure request and the held
records' listing name holds by; whether a record is held, the report and the sweep
never ask in Python (the database tests it in the same query that selects, see
:mod:`keepfor.holds.sql`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import sqlalchemy as sa

from keepfor.errors import UsageError
from keepfor.holds.model import Hold
from keepfor.holds.table import exists, holds

__all__ = ["active_holds", "add", "list_holds", "release"]


def _naive(time: datetime) -> datetime:
    """An aware time as the column keeps it: naive UTC."""
    return time.astimezone(UTC).replace(tzinfo=None)


def add(
    conn: sa.Connection,
    source: str,
    *,
    record_key: str | None = None,
    customer: str | None = None,
    reason: str,
    by: str,
    at: datetime,
    until: date | None = None,
) -> Hold:
    """Write a new hold (the table must exist: :func:`keepfor.holds.ensure`); it as kept."""
    hold = Hold(0, source, record_key, customer, reason, by, at.astimezone(UTC), until)
    row = conn.execute(
        holds.insert().values(
            source=hold.source,
            record_key=hold.record_key,
            customer=hold.customer,
            reason=hold.reason,
            created_by=hold.by,
            created_at=_naive(hold.created_at),
            until=hold.until,
        )
    )
    key = row.inserted_primary_key
    assert key is not None
    return replace(hold, id=int(key[0]))


def list_holds(conn: sa.Connection, source: str) -> list[Hold]:
    """Every hold of a source, oldest first (none where the table does not exist)."""
    if not exists(conn):
        return []
    query = sa.select(holds).where(holds.c.source == source).order_by(holds.c.id)
    return [Hold.of(row) for row in conn.execute(query)]


def release(
    conn: sa.Connection, source: str, hold_id: int, *, reason: str, by: str, at: datetime
) -> Hold:
    """Release an active or expired hold; a :class:`UsageError` when the source has no
    such hold or it is released already."""
    found = None
    if exists(conn):
        query = sa.select(holds).where(holds.c.source == source, holds.c.id == hold_id)
        found = conn.execute(query).first()
    if found is None:
        raise UsageError(f"source '{source}' has no hold {hold_id}")
    hold = Hold.of(found)
    if hold.released_at is not None:
        raise UsageError(
            f"hold {hold_id} was released already, on {hold.released_at.date().isoformat()} "
            f"by {hold.released_by}"
        )
    released = replace(hold, released_at=at.astimezone(UTC), released_by=by, release_reason=reason)
    conn.execute(
        holds.update()
        .where(holds.c.id == hold_id, holds.c.released_at.is_(None))
        .values(released_at=_naive(at), released_by=by, release_reason=reason)
    )
    return released


def active_holds(conn: sa.Connection, source: str, today: date) -> list[Hold]:
    """Every hold of ``source`` active on ``today``, oldest first, in one query (none
    where the database has no holds table). Holds are few, made by hand: which of them
    hold a record is matched in Python (:class:`keepfor.holds.listing.ActiveHolds`)."""
    if not exists(conn):
        return []
    query = (
        sa.select(holds)
        .where(
            holds.c.source == source,
            holds.c.released_at.is_(None),
            sa.or_(holds.c.until.is_(None), holds.c.until >= today),
        )
        .order_by(holds.c.id)
    )
    return [Hold.of(row) for row in conn.execute(query)]
