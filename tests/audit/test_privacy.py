"""No raw key and no field value of a record ever reaches the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from keepfor.audit import PendingEntry, Pseudonymiser, append, append_records
from keepfor.audit.table import metadata
from tests.audit.conftest import KEY

RECORDS = {
    "ORD-Quartz-7731": {
        "email": "alice.quartz@example.org",
        "name": "Alice Quartzmann",
        "placed_at": date(2019, 5, 1),
        "total": "1234.56",
    },
    "ORD-Quartz-7732": {
        "email": "bob.quartz@example.org",
        "name": "Bob Quartzmann",
        "placed_at": date(2018, 3, 2),
        "total": "98765.43",
    },
    "CUST-Zebra-0042": {
        "email": "carol.zebra@example.org",
        "phone": "+44 20 7946 0958",
        "last_login": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
    },
}
"""Records a sweep acted on: their keys and every field value, none of which may be
written to the trail."""


def _secrets() -> set[str]:
    found = set(RECORDS)
    for fields in RECORDS.values():
        for value in fields.values():
            found.add(value.isoformat() if isinstance(value, date) else str(value))
    return {s.lower() for s in found}


def test_no_audit_column_holds_a_raw_key_or_field_value(engine: sa.Engine) -> None:
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    orders, customers = Pseudonymiser(KEY, "orders"), Pseudonymiser(KEY, "customers")
    order_keys = [k for k in RECORDS if k.startswith("ORD")]
    template = PendingEntry(
        at,
        "sweep-1",
        "b1",
        "orders",
        orders(order_keys[0]),
        "orders-tax",
        "shop",
        "2026.1",
        "purge",
        "done",
    )
    with engine.begin() as conn:
        append_records(conn, template, [orders(k) for k in order_keys])
        append(
            conn,
            [
                PendingEntry(
                    at,
                    "sweep-1",
                    "b2",
                    "customers",
                    customers("CUST-Zebra-0042"),
                    "accounts",
                    "shop",
                    "2026.1",
                    "anonymise",
                    "done",
                )
            ],
        )
    secrets = _secrets()
    scanned = 0
    with engine.connect() as conn:
        for table in metadata.sorted_tables:  # every table of the trail, every column
            for row in conn.execute(sa.select(table)):
                for column, value in row._mapping.items():
                    text = str(value).lower()
                    scanned += 1
                    leaked = [s for s in secrets if s in text]
                    assert not leaked, (table.name, column, leaked)
    assert scanned >= 3 * 12
