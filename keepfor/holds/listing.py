"""The active holds of a source, read in one query, and which of them hold a record:
what a report lists beside each held record, and what ``explain`` and an erasure request
name (the push-down only says whether a record is held; holds are few, made by hand, so
they are matched to keys in Python).

A hold's key and customer are compared as the push-down compares them
(:mod:`keepfor.holds.sql`): with the text :meth:`keepfor.abc.RecordKey.text` writes of
the key, and the customer's text (an integer's digits, bytes in lowercase hex), byte for
byte. Reads only: a source that keeps no holds, a database without the holds table, or a
state database not yet made, has none, and nothing is created.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import RecordSource
from keepfor.database import first_line, safe_url
from keepfor.errors import SourceError
from keepfor.holds.model import Hold
from keepfor.holds.store import active_holds

__all__ = ["ActiveHolds", "holds_of", "holds_of_source", "value_text"]


def value_text(value: Any) -> str | None:
    """A customer's value as the text a hold keeps of it (None: no customer)."""
    if value is None or value == "":
        return None
    return value.hex() if isinstance(value, bytes) else str(value)


@dataclass
class ActiveHolds:
    """The holds of one source active on one day, by key text and by customer."""

    by_key: dict[str, list[Hold]] = field(default_factory=lambda: defaultdict(list))
    by_customer: dict[str, list[Hold]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, found: list[Hold]) -> ActiveHolds:
        active = cls()
        for hold in found:
            if hold.record_key is not None:
                active.by_key[hold.record_key].append(hold)
            elif hold.customer is not None:
                active.by_customer[hold.customer].append(hold)
        return active

    def __bool__(self) -> bool:
        return bool(self.by_key or self.by_customer)

    @property
    def names_customers(self) -> bool:
        """Some hold is on a customer (then a record's customer must be read)."""
        return bool(self.by_customer)

    def holding(self, key: str, customer: str | None) -> list[Hold]:
        """The holds on this key's text or this customer's, oldest first."""
        found = list(self.by_key.get(key, ()))
        if customer is not None:
            found += self.by_customer.get(customer, ())
        return sorted(found, key=lambda hold: hold.id)

    def reasons(self, key: str, customer: str | None) -> tuple[str, ...]:
        """Each holding hold in one line (:meth:`Hold.describe`)."""
        return tuple(hold.describe() for hold in self.holding(key, customer))


def holds_of_source(source: RecordSource, today: date) -> ActiveHolds:
    """The active holds of an opened source on ``today`` (none for a source that keeps
    no holds); a database failure is one line naming the source (no password)."""
    engine = source.holds_engine()
    if engine is None:
        return ActiveHolds()
    try:
        with engine.connect() as conn:
            return ActiveHolds.of(active_holds(conn, source.name, today))
    except SQLAlchemyError as error:
        raise SourceError(
            f"source '{source.name}': reading its holds from database "
            f"{safe_url(engine.url)} failed: {first_line(error)}"
        ) from None


def holds_of(source: RecordSource, key: Any, today: date) -> list[Hold]:
    """The active holds on one record of an opened source, oldest first: on its key's
    text, or on its customer's (read from the record only where some hold names a
    customer). What ``explain`` names when it says a record is held."""
    active = holds_of_source(source, today)
    if not active:
        return []
    customer = None
    if active.names_customers:
        customer = value_text((source.get(key, ("customer",)) or {}).get("customer"))
    return active.holding(source.key.text(key), customer)
