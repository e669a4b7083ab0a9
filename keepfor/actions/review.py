"""The review queue, ``keepfor_review``: records whose winning rule says ``review`` wait
here for a person. ``keepfor review approve`` lets the next ``sweep --apply`` dispose of
them (``purge``, or ``anonymise``), ``reject`` keeps them (and may hold them).

The queue lives in the database of the records, beside the audit trail; an entry names
its record by the key's text, as a hold does (compared byte for byte, as a hold's is:
:func:`keepfor.holds.table.exact_text`), and keeps no field of it. Queuing happens
in the sweep batch's transaction, with the audit entry that says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from keepfor.abc import ActionBatch, RecordKey
from keepfor.actions import state
from keepfor.database import create_missing
from keepfor.engine import Action
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import UsageError
from keepfor.exact import exact, realign
from keepfor.holds.table import exact_text

__all__ = [
    "ReviewItem",
    "ReviewStatus",
    "approved",
    "approved_batches",
    "decide",
    "done",
    "each",
    "ensure",
    "items",
    "queue",
]

metadata = sa.MetaData()

review = sa.Table(
    "keepfor_review",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", exact_text(200), nullable=False),
    sa.Column("record_key", exact_text(255), nullable=False),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("pack_id", sa.String(200), nullable=False),
    sa.Column("sweep_id", sa.String(64), nullable=False),
    sa.Column("queued_at", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("then", sa.String(12)),
    sa.Column("decided_by", sa.String(200)),
    sa.Column("decided_at", sa.DateTime()),
    sa.Column("reason", sa.String(1000)),
    sa.Index("ix_keepfor_review_source_status", "source", "status"),
)


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DONE = "done"
    """Approved and disposed of."""


DISPOSALS = (Action.PURGE, Action.ANONYMISE, Action.ARCHIVE)
"""What an approval may let the sweep do."""


@dataclass(frozen=True)
class ReviewItem:
    """One queued record."""

    id: int
    source: str
    record_key: str
    rule_id: str
    pack_id: str
    queued_at: datetime
    status: ReviewStatus
    then: Action | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: Any) -> ReviewItem:
        m = row._mapping
        return cls(
            id=m["id"],
            source=m["source"],
            record_key=m["record_key"],
            rule_id=m["rule_id"],
            pack_id=m["pack_id"],
            queued_at=_utc(m["queued_at"]),
            status=ReviewStatus(m["status"]),
            then=None if m["then"] is None else Action(m["then"]),
            decided_by=m["decided_by"],
            decided_at=None if m["decided_at"] is None else _utc(m["decided_at"]),
            reason=m["reason"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "record": self.record_key,
            "rule": self.rule_id,
            "pack": self.pack_id,
            "queued_at": self.queued_at.isoformat(),
            "status": self.status.value,
            "then": None if self.then is None else self.then.value,
            "decided_by": self.decided_by,
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
            "reason": self.reason,
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ensure(conn: sa.Connection) -> None:
    """Create the queue where missing; realign one an older keepfor made."""
    create_missing(conn, metadata)
    realign(conn, metadata)


def exists(conn: sa.Connection) -> bool:
    return sa.inspect(conn).has_table(review.name)


def queue(
    conn: sa.Connection,
    source: str,
    keys: Sequence[str],
    *,
    rule: str,
    pack: str,
    sweep: str,
    at: datetime,
) -> None:
    """Queue records for review (in the sweep batch's transaction)."""
    naive = at.astimezone(UTC).replace(tzinfo=None)
    rows = [
        {
            "source": source,
            "record_key": key,
            "rule_id": rule,
            "pack_id": pack,
            "sweep_id": sweep,
            "queued_at": naive,
            "status": ReviewStatus.PENDING.value,
        }
        for key in keys
    ]
    if rows:
        conn.execute(review.insert(), rows)


def items(
    conn: sa.Connection, source: str | None = None, status: ReviewStatus | None = None
) -> list[ReviewItem]:
    """The queue, oldest first (nothing where it was never made)."""
    return list(each(conn, source, status))


def each(
    conn: sa.Connection, source: str | None = None, status: ReviewStatus | None = None
) -> Iterator[ReviewItem]:
    """The queue, oldest first, read as it is used (a first sweep may queue a whole
    table's worth)."""
    if not exists(conn):
        return
    query = sa.select(review).order_by(review.c.id)
    if source is not None:
        query = query.where(review.c.source == source)
    if status is not None:
        query = query.where(review.c.status == status.value)
    for row in conn.execute(query.execution_options(yield_per=1_000)):
        yield ReviewItem.of(row)


def _chosen(conn: sa.Connection, ids: Sequence[int]) -> list[ReviewItem]:
    """The items of these ids (not the whole queue)."""
    if not exists(conn):
        return []
    query = sa.select(review).where(review.c.id.in_(list(ids)))
    return [ReviewItem.of(row) for row in conn.execute(query)]


def decide(
    conn: sa.Connection,
    ids: Sequence[int],
    *,
    approve: bool,
    by: str,
    reason: str,
    at: datetime,
    then: Action = Action.PURGE,
) -> list[ReviewItem]:
    """Approve or reject pending items; a one-line error (and nothing changed) when one is
    unknown or no longer pending."""
    if then not in DISPOSALS:
        raise UsageError(
            f"an approval disposes of records: --then purge, anonymise or archive, not {then}"
        )
    found = {item.id: item for item in _chosen(conn, ids)}
    for wanted in ids:
        item = found.get(wanted)
        if item is None:
            raise UsageError(f"no review item {wanted}")
        if item.status is not ReviewStatus.PENDING:
            raise UsageError(f"review item {wanted} is {item.status.value}, not pending")
    values = {
        "status": (ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED).value,
        "then": then.value if approve else None,
        "decided_by": by,
        "decided_at": at.astimezone(UTC).replace(tzinfo=None),
        "reason": reason,
    }
    conn.execute(sa.update(review).where(review.c.id.in_(list(ids))).values(values))
    return _chosen(conn, ids)


def approved(conn: sa.Connection, source: str) -> list[ReviewItem]:
    """The approved items of a source, not yet disposed of."""
    return items(conn, source, ReviewStatus.APPROVED)


def done(conn: sa.Connection, source: str, keys: Sequence[str], then: Action | None = None) -> None:
    """Approved items of these keys were disposed of (in the batch's transaction); keys
    compared byte for byte, in a queue an older keepfor made in another collation too.
    ``then``: only the items approved for that disposal (None: any, the record is gone)."""
    for i in range(0, len(keys), state.CHUNK):  # a batch's keys: more than a statement binds
        which = [
            review.c.source == source,
            review.c.status == ReviewStatus.APPROVED.value,
            review.c.record_key.in_([exact(key) for key in keys[i : i + state.CHUNK]]),
        ]
        if then is not None:
            which.append(review.c.then == then.value)
        conn.execute(sa.update(review).where(*which).values(status=ReviewStatus.DONE.value))


def approved_batches(
    conn: sa.Connection, source: str, key: RecordKey, recheck: Predicate, size: int
) -> list[ActionBatch]:
    """Batches of the records of ``source`` approved in review, each with the disposal
    approved and re-checked by ``recheck`` (a key no record of the source could have is
    left out: nothing to dispose of)."""
    found = approved(conn, source) if exists(conn) else []
    keys: dict[tuple[str, str, Action], list[Any]] = {}
    for item in found:
        try:
            parsed = key.parse(item.record_key)
        except UsageError:
            continue
        assert item.then is not None
        keys.setdefault((item.pack_id, item.rule_id, item.then), []).append(parsed)
    return [
        ActionBatch(source, rule, pack, then, tuple(chunk[i : i + size]), recheck, True)
        for (pack, rule, then), chunk in keys.items()
        for i in range(0, len(chunk), size)
    ]
