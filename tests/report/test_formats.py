"""The four formats: csv exactly, json parsed, table sections, html one self-contained page."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepfor.engine import evaluate
from keepfor.report import build_report, formats
from keepfor.report.formats import CSV_HEADER, FORMATS
from keepfor.report.model import RowLabel
from tests.report import (
    AT,
    BY_MONTH,
    DUE,
    FORECAST,
    SUMMARY,
    UNMATCHED,
    WAITING,
    load,
    rules,
    source,
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("formats") / "records.db"
    db = f"sqlite:///{path}"
    load(db)
    return db


def render(url: str, fmt: str) -> str:
    out = io.StringIO()
    with source(url) as src:
        build_report(rules(), [src], AT, FORMATS[fmt](out))
    return out.getvalue()


def test_the_formats() -> None:
    assert set(FORMATS) == {"table", "csv", "json", "html"}


def test_csv(url: str) -> None:
    text = render(url, "csv")
    lines = text.splitlines()
    assert lines[0] == "key,rule,disposal_date,action,pack,source,anchor_date,status,field,value"
    assert text.endswith("\n")
    assert "\r" not in text
    rows = list(csv.reader(lines[1:]))
    assert {tuple(r[:4]) for r in rows} == DUE
    assert len(rows) == len(DUE)
    assert {(r[4], r[5], r[7], r[8], r[9]) for r in rows} == {("shop", "shop", "due", "", "")}
    o01 = next(r for r in rows if r[0] == "o01")
    assert o01[6] == "2024-06-01"  # placed_at, the anchor of orders: P1Y


def test_csv_with_nothing_due_is_the_header(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    out = io.StringIO()
    with source(db) as src:
        build_report(rules(), [src], AT.replace(year=2020), FORMATS["csv"](out))
    assert out.getvalue().splitlines() == [",".join(CSV_HEADER)]


@pytest.mark.parametrize("key", ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_a_spreadsheet_would_run_are_escaped(tmp_path: Path, key: str) -> None:
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kf_report_records SET key = :k WHERE key = 'o01'"), {"k": key})
    engine.dispose()
    rows = list(csv.reader(io.StringIO(render(db, "csv"), newline="")))
    assert ["'" + key, "orders", "2025-06-02", "purge"] in [r[:4] for r in rows]


def test_csv_quotes_awkward_keys(tmp_path: Path) -> None:
    """A key with a comma or a quote stays one field."""
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kf_report_records SET key = 'a,\"b' WHERE key = 'o01'"))
    engine.dispose()
    rows = list(csv.reader(io.StringIO(render(db, "csv"))))
    assert ['a,"b', "orders", "2025-06-02", "purge"] in [r[:4] for r in rows]


def test_json(url: str) -> None:
    data = json.loads(render(url, "json"))
    for key in ("due", "unreadable", "counts", "summary", "forecast", "by_month", "waiting"):
        assert key in data, key
    assert data["unreadable"] == []
    counts = data["counts"]
    assert counts == data["sources"][0]["counts"]
    assert data["sources"][0]["source"] == "shop"
    assert counts["due"] == len(DUE)
    assert counts["waiting"] == 3
    assert counts["held"] == counts["unreadable"] == 0
    assert counts["unmatched"] == sum(UNMATCHED.values())
    buckets = ("due", "retained", "waiting", "held", "unmatched", "unreadable")
    assert sum(counts[b] for b in buckets) == counts["total"]
    due = {(d["key"], d["rule"], d["disposal_date"], d["action"]) for d in data["due"]}
    assert due == DUE
    assert all(d["source"] == "shop" and d["pack"] == "shop" for d in data["due"])
    o01 = next(d for d in data["due"] if d["key"] == "o01")
    assert o01["anchor_date"] == "2024-06-01"
    assert o01["why"] == "1 year after placed_at 2024-06-01"
    assert o01["matched"] == [
        {
            "rule": "orders",
            "retain_until": "2025-06-01",
            "disposal_date": "2025-06-02",
            "basis": "legitimate_interest",
        }
    ]
    assert data["at"] == "2026-01-15T12:00:00+00:00"
    assert data["packs"] == [{"pack": "shop", "version": "2026.1"}]
    assert data["summary"]["due"] == len(DUE)
    assert {
        (r["pack"], r["rule"], r["action"]): r["count"] for r in data["summary"]["by_rule"]
    } == SUMMARY
    assert data["forecast"] == {str(d): n for d, n in FORECAST.items()}
    assert len(data["by_month"]) == 24
    assert data["by_month"][0]["month"] == "2026-01"
    assert {m["month"]: m["count"] for m in data["by_month"] if m["count"]} == BY_MONTH
    assert data["waiting"]["records"] == 3
    assert {w["rule"]: w["count"] for w in data["waiting"]["by_rule"]} == WAITING
    assert {u["category"]: u["count"] for u in data["unmatched"]} == UNMATCHED


def test_json_with_nothing_due(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    out = io.StringIO()
    with source(db) as src:
        build_report(rules(), [src], AT.replace(year=2020), FORMATS["json"](out))
    data = json.loads(out.getvalue())
    assert data["due"] == []
    assert data["summary"]["due"] == 0


def test_table(url: str) -> None:
    text = render(url, "table")
    for section in (
        "Due by rule and action",
        "Forecast (not due yet)",
        "Waiting on an event: 3",
        "Unmatched (no rule applies)",
        "Dry run at 2026-01-15T12:00:00+00:00: 4 due",
    ):
        assert section in text, section
    for key, rule, disposal, action in DUE:
        assert re.search(rf"^{key}\s+{rule}\s+{disposal}\s+{action}\s+\d{{4}}-", text, re.M), key
    assert "Every record, in exactly one bucket" in text
    for days, n in FORECAST.items():
        assert re.search(rf"{days} days\W+{n}\b", text), days
    assert "invoice" in text
    assert "lead" in text


class Page(HTMLParser):
    """Checks tags are balanced and collects what the page refers to."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "line", "rect", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.rects_in_svg = 0
        self.refs: list[str] = []
        self.errors: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "rect" and "svg" in self.stack:
            self.rects_in_svg += 1
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset"} or (value and "url(" in value):
                self.refs.append(f"{name}={value}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "rect" and "svg" in self.stack:
            self.rects_in_svg += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID and (not self.stack or self.stack[-1] != tag):
            return  # <rect ...></rect> closes a rect that was pushed, or was void
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def test_html_is_one_self_contained_page(url: str) -> None:
    text = render(url, "html")
    page = Page()
    page.feed(text)
    page.close()
    assert page.doctype
    assert page.errors == []
    assert page.stack == []
    assert page.tags.count("html") == 1
    assert page.tags.count("body") == 1
    assert page.tags.count("svg") == 1
    assert page.rects_in_svg == 24  # one bar per month
    assert "script" not in page.tags
    assert "<script" not in text.lower()
    assert page.refs == []
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text, re.I)
    assert "@import" not in text
    assert "<style>" in text  # styles inline
    # the numbers are on the page
    for key, rule, disposal, _action in DUE:
        assert re.search(rf"<td>{key}</td><td>{rule}<br>.*?</td><td>{disposal}</td>", text)
    dates = re.findall(r"</td><td>(\d{4}-\d\d-\d\d)</td><td>(due today|\d+ \w+)", text)
    assert [d for d, _ in dates] == sorted(d for _, _, d, _ in DUE)  # most overdue first
    assert "1 year after placed_at 2024-06-01, then purge" in text
    assert "2026-01: 2" in text  # a bar's title
    assert "2027-12: 0" in text  # the 24th month
    assert "2028-01" not in text


def test_html_escapes_what_it_shows(tmp_path: Path) -> None:
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kf_report_records SET key = '<x-k>&' WHERE key = 'o01'"))
        conn.execute(sa.text("UPDATE kf_report_records SET category = '<x-c>' WHERE key = 'u03'"))
    engine.dispose()
    text = render(db, "html")
    assert "<x-k>" not in text
    assert "<x-c>" not in text
    assert "&lt;x-k&gt;&amp;" in text
    assert "&lt;x-c&gt;" in text
    page = Page()
    page.feed(text)
    assert page.errors == []


_KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
_KEYS = st.lists(st.one_of(st.integers(-50, 10**12), _KEY_TEXT, st.booleans()), max_size=8)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
@given(keys=_KEYS)
@settings(max_examples=150, deadline=None)
def test_a_group_written_in_one_string_equals_the_group_written_key_by_key(
    fmt: str, keys: list[Any]
) -> None:
    """Keys that need no escaping are written in one joined string; the bytes are the
    same as writing them one by one (which escapes what needs escaping)."""
    decision = evaluate(rules(), {"key": "k", "category": "order", "placed_at": "2020-01-01"}, AT)
    label = RowLabel.of(decision, rules())

    def written() -> str:
        out = io.StringIO()
        writer = FORMATS[fmt](out)
        writer.due_group("src", keys, decision, label)
        writer.due_group("src", keys[:1], decision, label)
        return out.getvalue()

    bulk = written()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formats, "plain_keys", lambda keys: None)
        assert written() == bulk


@pytest.mark.parametrize(
    ("keys", "plain"),
    [
        ([1, 22, 333], True),
        (["a-1", "b 2"], True),
        ([], False),
        ([-1], False),  # starts like a formula
        (["=1+1"], False),
        (["a,b"], False),
        (['say "hi"'], False),
        (["back\\slash"], False),
        (["caf\u00e9"], False),
        (["line\nbreak"], False),
        ([True], False),
    ],
)
def test_which_keys_are_written_in_one_string(keys: list[Any], plain: bool) -> None:
    assert (formats.plain_keys(keys) is not None) is plain
