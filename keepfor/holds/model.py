"""A hold as a value: what it covers, why, who, since when, until when, and its release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from keepfor.errors import UsageError
from keepfor.holds.table import LIMITS

__all__ = ["Hold", "HoldState"]


class HoldState(StrEnum):
    """Where a hold stands on a given day."""

    ACTIVE = "active"
    EXPIRED = "expired"
    """Its ``until`` day has passed."""
    RELEASED = "released"


def _text(name: str, value: str | None, *, required: bool) -> None:
    """A text a hold keeps: given where required, one line, within its column's width."""
    if value is None:
        if required:
            raise UsageError(f"a hold needs a {name}")
        return
    if not value.strip():
        raise UsageError(f"a hold's {name} may not be empty")
    if len(value) > LIMITS[name]:
        raise UsageError(f"a hold's {name} is {len(value)} characters; at most {LIMITS[name]}")
    if any(ch in value for ch in "\r\n\x00"):
        raise UsageError(f"a hold's {name} must be one line")


def _utc(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"a hold's {name} must be an aware UTC datetime, not {value!r}")


@dataclass(frozen=True, slots=True)
class Hold:
    """One hold on one record (``record_key``: its key's text) or on every record of a
    customer (``customer``) of one source. Active while not released and ``until``
    (the last day it holds; None: until released) has not passed."""

    id: int
    source: str
    record_key: str | None
    customer: str | None
    reason: str
    by: str
    created_at: datetime
    until: date | None = None
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError(f"a hold's id is not negative: {self.id}")
        if (self.record_key is None) == (self.customer is None):
            raise UsageError("a hold covers one record (--id) or one customer (--customer)")
        _text("source", self.source, required=True)
        _text("record_key", self.record_key, required=False)
        _text("customer", self.customer, required=False)
        _text("reason", self.reason, required=True)
        _text("by", self.by, required=True)
        _utc("created_at", self.created_at)
        _utc("released_at", self.released_at)
        released = (self.released_at, self.released_by, self.release_reason)
        if any(v is None for v in released) and any(v is not None for v in released):
            raise ValueError("a hold's release has a time, a person and a reason, or none")
        if self.released_by is not None:
            _text("by", self.released_by, required=True)
            _text("reason", self.release_reason, required=True)

    def state(self, today: date) -> HoldState:
        """Released, expired (``until`` before ``today``) or active on ``today``."""
        if self.released_at is not None:
            return HoldState.RELEASED
        if self.until is not None and self.until < today:
            return HoldState.EXPIRED
        return HoldState.ACTIVE

    def active(self, today: date) -> bool:
        return self.state(today) is HoldState.ACTIVE

    @property
    def covers(self) -> str:
        """What it covers, for people: ``record 42`` or ``customer C-7``."""
        return (
            f"record {self.record_key}"
            if self.record_key is not None
            else (f"customer {self.customer}")
        )

    def describe(self) -> str:
        """One line: ``hold 3 by alice since 2026-11-02 until 2027-01-31: reason``."""
        until = f" until {self.until.isoformat()}" if self.until else ""
        since = self.created_at.date().isoformat()
        return f"hold {self.id} ({self.covers}) by {self.by} since {since}{until}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``keepfor hold list --format json``."""

        def iso(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "source": self.source,
            "record": self.record_key,
            "customer": self.customer,
            "reason": self.reason,
            "by": self.by,
            "created_at": iso(self.created_at),
            "until": iso(self.until),
            "released_at": iso(self.released_at),
            "released_by": self.released_by,
            "release_reason": self.release_reason,
        }

    @classmethod
    def of(cls, row: Any) -> Hold:
        """A hold from a row of ``keepfor_holds`` (times stored as naive UTC)."""
        m = row._mapping

        def aware(value: datetime | None) -> datetime | None:
            if value is None:
                return None
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

        created = aware(m["created_at"])
        assert created is not None
        return cls(
            id=m["id"],
            source=m["source"],
            record_key=m["record_key"],
            customer=m["customer"],
            reason=m["reason"],
            by=m["created_by"],
            created_at=created,
            until=m["until"],
            released_at=aware(m["released_at"]),
            released_by=m["released_by"],
            release_reason=m["release_reason"],
        )
