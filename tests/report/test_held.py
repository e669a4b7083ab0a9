"""Held records in a report: what each format writes of them, and what is not read: a
writer that lists none is not asked, and a source without an active hold costs the one
look at its holds (the held records are not selected)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor import holds
from keepfor.abc import Keyed
from keepfor.engine.cutoffs import Predicate
from keepfor.report import DueRow, HeldRow, Report, ReportWriter, UnreadableRow, build_report
from keepfor.report import held as held_module
from keepfor.report.formats import CSV_HEADER, FORMATS
from keepfor.report.held import HELD_SHOWN
from tests.report import AT, Collect, load, rules, source


@pytest.fixture
def url(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'records.db'}"
    load(db)
    return db


def _hold(url: str, **target: str) -> holds.Hold:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            holds.ensure(conn)
        with engine.begin() as conn:
            return holds.add(conn, "shop", reason="claim", by="alice", at=AT, **target)
    finally:
        engine.dispose()


def test_a_held_record_is_listed_with_its_reason(url: str) -> None:
    _hold(url, record_key="o01")
    writer = Collect()
    with source(url) as src:
        report = build_report(rules(), [src], AT, writer)
    assert writer.held_rows == [
        HeldRow("shop", "o01", ("hold 1 (record o01) by alice since 2026-01-15: claim",))
    ]
    assert report.counts["shop"].held == report.held_seen["shop"] == 1
    assert "o01" not in {row.key for row in writer.rows}


def test_without_an_active_hold_the_held_records_are_not_selected(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = _hold(url, record_key="o01")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        holds.release(conn, "shop", hold.id, reason="settled", by="bob", at=AT)
    engine.dispose()
    writer = Collect()
    with source(url) as src:

        def select(predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
            raise AssertionError("selected held records where no hold is active")

        monkeypatch.setattr(src, "select", select)
        report = build_report(rules(), [src], AT, writer)
    assert writer.held_rows == []
    assert report.counts["shop"].held == 0


def test_a_writer_that_lists_no_held_records_is_not_asked(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hold(url, record_key="o01")

    def holds_of_source(*args: Any) -> None:
        raise AssertionError("read the holds for a writer that lists none")

    monkeypatch.setattr(held_module, "holds_of_source", holds_of_source)

    class Plain(ReportWriter):  # rows and counts only, as keepfor.sync's counting one
        def row(self, row: DueRow) -> None: ...

        def unreadable(self, row: UnreadableRow) -> None: ...

        def finish(self, report: Report) -> None: ...

    writer = Plain()
    with source(url) as src:
        report = build_report(rules(), [src], AT, writer)
    assert report.counts["shop"].held == 1


def _render(fmt: str, rows: list[HeldRow]) -> str:
    out = io.StringIO()
    writer = FORMATS[fmt](out)
    assert writer.lists_held  # every built-in format lists them
    for row in rows:
        writer.held(row)
    writer.finish(Report(at=AT, rules=rules(), sources=["shop"]))
    return out.getvalue()


ODD = [
    HeldRow("shop", "=cmd()", ("hold 1 (record =cmd()) by a since 2026-01-15: claim",)),
    HeldRow("shop", "a\rb", ("hold 2 (customer C) by a since 2026-01-15: -asked", "hold 3: x")),
]


def test_csv_escapes_held_rows_like_unreadable_ones() -> None:
    text = _render("csv", ODD)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_HEADER)
    assert rows[1] == ["'=cmd()", "", "", "", "", "shop", "", "held", "", ODD[0].reasons[0]]
    assert rows[2][0] == "a\rb"  # quoted whole, so the carriage return stays in its cell
    assert rows[2][7:] == ["held", "", "; ".join(ODD[1].reasons)]


def test_json_lists_held_records_after_the_unreadable_ones() -> None:
    data = json.loads(_render("json", ODD))
    assert list(data)[:3] == ["due", "unreadable", "held_records"]
    assert data["held_records"][1] == {
        "source": "shop",
        "record": "a\rb",
        "reasons": list(ODD[1].reasons),
    }
    assert json.loads(_render("json", []))["held_records"] == []


def test_table_and_html_escape_and_bound_the_held_records() -> None:
    many = [HeldRow("shop", f"k{i}", ("hold 1 (customer C) by a: <b>x</b>",)) for i in range(103)]
    table = _render("table", [HeldRow("shop", "\x1b[2J", ("r",)), *many])
    assert "\x1b" not in table
    assert "\\x1b[2J" in table
    assert table.count("<b>x</b>") == HELD_SHOWN - 1
    assert "... and 4 more held records" in table
    page = _render("html", many)
    assert "<b>x</b>" not in page
    assert page.count("&lt;b&gt;x&lt;/b&gt;") == HELD_SHOWN
    assert "Held records (103)" in page
    assert "and 3 more held records" in page
    assert "Held records" not in _render("table", [])
