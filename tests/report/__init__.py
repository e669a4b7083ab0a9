"""Report tests: a small table whose every date is worked out by hand.

The pack (UTC) has two rules:

* ``orders``: ``placed_at`` (DATE) + P1Y, kept through that day (``after``): D = placed + 1Y + 1d;
* ``complaints``: ``resolved_at`` (an instant) + P2Y, ``boundary: on``: D = resolved + 2Y.

The report runs at :data:`AT`, 2026-01-15T12:00Z (today 2026-01-15). Each record's
disposal date D is in its comment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack
from keepfor.report import DueRow, HeldRow, Report, ReportWriter, UnreadableRow

AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TABLE = "kf_report_records"

PACK = {
    "pack": "shop",
    "version": "2026.1",
    "timezone": "UTC",
    "rules": [
        {
            "id": "orders",
            "applies_to": {"category": "order"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "purge",
        },
        {
            "id": "complaints",
            "applies_to": {"category": "complaint"},
            "retain": {"from": "resolved_at", "for": "P2Y"},
            "boundary": "on",
            "then": "anonymise",
        },
    ],
}
PACK_YAML = """\
pack: shop
version: "2026.1"
timezone: UTC
rules:
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P1Y}
    then: purge
  - id: complaints
    applies_to: {category: complaint}
    retain: {from: resolved_at, for: P2Y}
    boundary: "on"
    then: anonymise
"""


def rules() -> RuleSet:
    return RuleSet((parse_pack(PACK),))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# key, category, placed_at, resolved_at
RECORDS: list[tuple[str, str | None, date | None, datetime | None]] = [
    ("o01", "order", date(2024, 6, 1), None),  # D 2025-06-02: due
    ("o02", "order", date(2025, 1, 14), None),  # D 2026-01-15: due today
    ("o03", "order", date(2025, 1, 15), None),  # D 2026-01-16: 30 days, 2026-01
    ("o04", "order", date(2025, 2, 10), None),  # D 2026-02-11: 30 days, 2026-02
    ("o05", "order", date(2025, 3, 1), None),  # D 2026-03-02: 90 days, 2026-03
    ("o06", "order", date(2025, 6, 30), None),  # D 2026-07-01: 365 days, 2026-07
    ("o07", "order", date(2026, 1, 1), None),  # D 2027-01-02: 365 days, 2027-01
    ("o08", "order", date(2026, 1, 10), None),  # D 2027-01-11: 365 days, 2027-01
    ("o09", "order", None, None),  # waiting on orders
    ("o10", "order", None, None),  # waiting on orders
    ("c01", "complaint", None, _t("2023-05-05T10:00")),  # D 2025-05-05: due
    ("c02", "complaint", None, _t("2024-01-15T23:00")),  # D 2026-01-15: due today
    ("c03", "complaint", None, _t("2024-01-16T00:30")),  # D 2026-01-16: 30 days, 2026-01
    ("c04", "complaint", None, _t("2024-04-10T08:00")),  # D 2026-04-10: 90 days, 2026-04
    ("c05", "complaint", None, _t("2024-12-31T12:00")),  # D 2026-12-31: 365 days, 2026-12
    ("c06", "complaint", None, _t("2025-06-01T09:00")),  # D 2027-06-01: chart only, 2027-06
    ("c07", "complaint", None, _t("2026-01-01T09:00")),  # D 2028-01-01: beyond the chart
    ("c08", "complaint", None, None),  # waiting on complaints
    ("u01", "invoice", date(2020, 1, 1), None),  # unmatched
    ("u02", "invoice", None, None),  # unmatched
    ("u03", "lead", None, None),  # unmatched
    ("u04", None, date(2020, 1, 1), None),  # unmatched: no category at all
]

DUE = {
    ("o01", "orders", "2025-06-02", "purge"),
    ("o02", "orders", "2026-01-15", "purge"),
    ("c01", "complaints", "2025-05-05", "anonymise"),
    ("c02", "complaints", "2026-01-15", "anonymise"),
}
SUMMARY = {("shop", "orders", "purge"): 2, ("shop", "complaints", "anonymise"): 2}
FORECAST = {30: 3, 90: 5, 365: 9}
BY_MONTH = {"2026-01": 2, "2026-02": 1, "2026-03": 1, "2026-04": 1, "2026-07": 1, "2026-12": 1}
BY_MONTH |= {"2027-01": 2, "2027-06": 1}
WAITING = {"orders": 2, "complaints": 1}
UNMATCHED = {"invoice": 2, "lead": 1, "(none)": 1}


def table(meta: sa.MetaData, name: str = TABLE, **columns: str) -> sa.Table:
    """The records table; ``columns`` renames columns (``placed_at="ordered_on"``)."""
    return sa.Table(
        name,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(columns.get("key", "key"), sa.String(8), nullable=False, unique=True),
        sa.Column(columns.get("category", "category"), sa.String(16)),
        sa.Column(columns.get("placed_at", "placed_at"), sa.Date),
        sa.Column(columns.get("resolved_at", "resolved_at"), sa.DateTime(timezone=True)),
    )


def load(url: str, name: str = TABLE, **columns: str) -> None:
    """Make the table in ``url`` and write :data:`RECORDS` to it."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        t = table(meta, name, **columns)
        meta.create_all(engine)
        naive = engine.dialect.name != "postgresql"
        rows: list[dict[str, Any]] = []
        for i, (key, category, placed, resolved) in enumerate(RECORDS):
            if resolved is not None and naive:
                resolved = resolved.replace(tzinfo=None)
            values = {"key": key, "category": category, "placed_at": placed}
            values["resolved_at"] = resolved
            row = {columns.get(k, k): v for k, v in values.items()}
            rows.append({"id": i + 1, **row})
        with engine.begin() as conn:
            conn.execute(t.insert(), rows)
    finally:
        engine.dispose()


@contextmanager
def source(url: str, **mapping: Any) -> Iterator[SqlTableSource]:
    mapping.setdefault("table", TABLE)
    mapping.setdefault("key", "key")
    mapping.setdefault("source", "shop")
    src = SqlTableSource(url, TableMapping(**mapping))
    try:
        yield src
    finally:
        src.close()


class Collect(ReportWriter):
    """Keeps every row and the report, for tests; ``aggregates=False`` skips the counts."""

    lists_held = True

    def __init__(self, aggregates: bool = True) -> None:
        self.wants_aggregates = aggregates
        self.rows: list[DueRow] = []
        self.bad: list[UnreadableRow] = []
        self.held_rows: list[HeldRow] = []
        self.report: Report | None = None

    def row(self, row: DueRow) -> None:
        self.rows.append(row)

    def unreadable(self, row: UnreadableRow) -> None:
        self.bad.append(row)

    def held(self, row: HeldRow) -> None:
        self.held_rows.append(row)

    def finish(self, report: Report) -> None:
        self.report = report
