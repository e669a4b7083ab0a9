"""The active holds on one record of a source: what ``explain`` and an erasure request
name when they say a record is held (the push-down only says whether it is)."""

from __future__ import annotations

from datetime import date
from typing import Any

from keepfor.abc import RecordSource
from keepfor.holds.model import Hold
from keepfor.holds.store import active_for

__all__ = ["holds_of"]


def holds_of(
    source: RecordSource, key: Any, today: date, customer: str | None = None
) -> list[Hold]:
    """The active holds on a record's key or its customer (none for a source that keeps
    no holds, or a database without the holds table); ``customer`` None: read from the
    record. Reads only: a source's state database that is not there is not made."""
    from keepfor.connectors.streamed import StreamedSource
    from keepfor.connectors.targets import engine_of

    engine = engine_of(source)
    if engine is None:
        return []
    if isinstance(source, StreamedSource) and not source.marks.there():
        return []
    if customer is None:
        found = (source.get(key, ("customer",)) or {}).get("customer")
        customer = None if found is None else str(found)
    with engine.connect() as conn:
        return active_for(conn, source.name, source.key.text(key), customer, today)
