"""build_report: exact due rows and aggregates over a table worked out by hand."""

from __future__ import annotations

import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.engine import Status
from keepfor.report import DueRow, Report, ReportWriter, UnreadableRow, build_report
from keepfor.report.model import CHART_MONTHS
from tests.report import (
    AT,
    BY_MONTH,
    DUE,
    FORECAST,
    SUMMARY,
    UNMATCHED,
    WAITING,
    Collect,
    load,
    rules,
    source,
)


def _months(start: date, n: int) -> list[str]:
    out = []
    year, month = start.year, start.month
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def test_the_report_over_a_known_table(db_url: str) -> None:
    load(db_url)
    writer = Collect()
    with source(db_url) as src:
        report = build_report(rules(), [src], AT, writer)
    assert writer.report is report

    rows = {
        (
            r.key,
            r.decision.rule.id if r.decision.rule else None,
            str(r.decision.disposal_date),
            r.decision.action.value if r.decision.action else None,
        )
        for r in writer.rows
    }
    assert rows == DUE
    assert len(writer.rows) == len(DUE)
    assert all(r.source == "shop" and r.decision.status is Status.DUE for r in writer.rows)

    assert dict(report.due) == SUMMARY
    assert report.due_total == len(DUE)
    assert report.forecast == FORECAST

    months = _months(AT.date(), CHART_MONTHS)
    assert [m for m, _ in report.by_month] == months
    assert len(report.by_month) == 24
    assert report.by_month[0][0] == "2026-01"
    assert {m: n for m, n in report.by_month if n} == BY_MONTH
    # consistent with the forecast: what falls due within 365 days (by 2027-01-15) is the
    # first twelve months plus the part of 2027-01 up to the 15th (o07, o08)
    assert sum(n for _, n in report.by_month[:12]) + 2 == report.forecast[365]
    # and with the 30 days (by 2026-02-14): 2026-01 plus o04 on 2026-02-11
    assert report.by_month[0][1] + 1 == report.forecast[30]

    assert dict(report.waiting) == WAITING
    assert report.waiting_total == 3
    assert dict(report.unmatched) == UNMATCHED
    assert report.sources == ["shop"]


def test_the_report_at_a_plain_date_and_a_day_later(db_url: str) -> None:
    """``--at 2026-01-16``: o03 and c03 fall due; the forecast moves on with them."""
    load(db_url)
    writer = Collect()
    with source(db_url) as src:
        report = build_report(rules(), [src], date(2026, 1, 16), writer)
    assert {r.key for r in writer.rows} == {k for k, *_ in DUE} | {"o03", "c03"}
    assert report.forecast[30] == 1  # o04; by 2026-02-15
    assert report.by_month[0] == ("2026-01", 0)


def test_a_category_constant_and_renamed_columns(db_url: str) -> None:
    """A table of orders only, its date in another column: complaints are never looked for."""
    load(db_url, "kf_report_orders", placed_at="ordered_on", category="kind")
    writer = Collect()
    with source(
        db_url,
        table="kf_report_orders",
        fields={"placed_at": "ordered_on"},
        constants={"category": "order"},
    ) as src:
        report = build_report(rules(), [src], AT, writer)
    # every row is now an order: o01, o02, u01 and u04 (placed 2020-01-01) are due
    assert {r.key for r in writer.rows} == {"o01", "o02", "u01", "u04"}
    assert dict(report.due) == {("shop", "orders", "purge"): 4}
    # waiting: every row with no placed_at (o09, o10, c01..c08, u02, u03)
    assert dict(report.waiting) == {"orders": 12}
    assert report.waiting_total == 12
    assert dict(report.unmatched) == {}


def test_csv_writers_skip_the_aggregates(db_url: str) -> None:
    load(db_url)

    writer = Collect(aggregates=False)
    with source(db_url) as src:
        report = build_report(rules(), [src], AT, writer)
    assert len(writer.rows) == len(DUE)
    assert report.forecast == {}
    assert report.waiting_total == 0
    assert dict(report.due) == SUMMARY  # counted from the rows themselves


def test_progress_is_told_of_every_row(db_url: str) -> None:
    load(db_url)
    ticks: list[int] = []
    with source(db_url) as src:
        build_report(rules(), [src], AT, Collect(), progress=ticks.append)
    assert sum(ticks) == len(DUE)


def test_two_sources_add_up(tmp_path: Path) -> None:
    urls = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        load(url)
        urls.append(url)
    writer = Collect()
    with source(urls[0], source="a") as a, source(urls[1], source="b") as b:
        report = build_report(rules(), [a, b], AT, writer)
    assert sorted(r.source for r in writer.rows) == ["a"] * 4 + ["b"] * 4
    assert {k: v // 2 for k, v in report.due.items()} == SUMMARY
    assert report.forecast == {d: 2 * n for d, n in FORECAST.items()}
    assert {m: n for m, n in report.by_month if n} == {m: 2 * n for m, n in BY_MONTH.items()}
    assert len(report.by_month) == 24
    assert report.waiting_total == 6
    assert dict(report.unmatched) == {c: 2 * n for c, n in UNMATCHED.items()}
    assert report.sources == ["a", "b"]


def test_a_check_failure_writes_nothing(tmp_path: Path) -> None:
    from keepfor.errors import SourceError

    url = f"sqlite:///{tmp_path / 'x.db'}"
    load(url, placed_at="ordered_on")
    writer = Collect()
    with source(url) as src, pytest.raises(SourceError, match="placed_at"):
        build_report(rules(), [src], AT, writer)
    assert writer.rows == []
    assert writer.report is None


# -- memory ----------------------------------------------------------------------------


class Count(ReportWriter):
    def __init__(self) -> None:
        self.n = 0

    def row(self, row: DueRow) -> None:
        self.n += 1

    def unreadable(self, row: UnreadableRow) -> None:
        pass

    def finish(self, report: Report) -> None:
        pass


def _peak_of_report(tmp_path: Path, rows: int) -> int:
    """Peak traced memory of a report over ``rows`` orders, every day of them distinct."""
    url = f"sqlite:///{tmp_path / f'big{rows}.db'}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    from tests.report import table

    t = table(meta)
    meta.create_all(engine)
    start = date(2010, 1, 1)
    # every order placed before 2025-01-15 is due at AT
    due_orders = (date(2025, 1, 15) - start).days
    cycle = due_orders + 400
    with engine.begin() as conn:
        conn.execute(
            t.insert(),
            [
                {
                    "id": i,
                    "key": f"k{i:07d}",
                    "category": "order",
                    "placed_at": start + timedelta(days=i % cycle),
                    "resolved_at": None,
                }
                for i in range(rows)
            ],
        )
    engine.dispose()
    expected = sum(1 for i in range(rows) if i % cycle < due_orders)
    writer = Count()
    tracemalloc.start()
    try:
        with source(url) as src:
            report = build_report(rules(), [src], AT, writer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert writer.n == expected == report.due_total
    return peak


def test_memory_does_not_grow_with_the_table(tmp_path: Path) -> None:
    """Four times the rows, about the same peak: nothing is kept per row."""
    small = _peak_of_report(tmp_path, 20_000)
    large = _peak_of_report(tmp_path, 80_000)
    print(f"peak {small / 2**20:.1f} MiB at 20k rows, {large / 2**20:.1f} MiB at 80k")
    assert large < small * 1.3 + 2**20, (small, large)
