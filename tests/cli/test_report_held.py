"""``keepfor report`` lists each held record with its holds' reasons, in every format, on
SQLite, PostgreSQL and MariaDB: a hold on a record and one on a customer are listed; a
released hold and one whose ``--until`` has passed are not; an unreadable held record
stays unreadable; the held count is the number listed; the table and html formats list
the first 100 and say how many more; a source without holds lists none and a report
creates nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cli.conftest import invoke

PACK = """\
pack: shop
version: "1"
timezone: Europe/London
rules:
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P1Y}
    then: purge
"""

ROWS = [  # id, customer, placed_at (text): at 2026-12-15, 4 retained, 5 unreadable
    (1, "C1", "2020-01-01"),  # held: its own hold
    (2, "C1", "2020-02-01"),  # due
    (3, "C2", "2020-03-01"),  # held: the customer's hold and its own
    (4, "C2", "2026-06-01"),  # held: the customer's hold (retained otherwise)
    (5, "C3", "31/12/2015"),  # unreadable, though held
    (6, "C4", "2020-01-01"),  # due: its hold was released
    (7, "C5", "2020-01-01"),  # due: its hold's --until has passed
    (8, None, "2020-01-01"),  # due
]
AT = "2026-12-15T09:00:00Z"
TABLE = "kf_report_held"


def _table(db_url: str, name: str, rows: list[tuple[int, str | None, str]]) -> None:
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    orders = sa.Table(
        name,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer", sa.String(20)),
        sa.Column("category", sa.String(20)),
        sa.Column("placed_at", sa.String(20)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        values = [{"id": i, "customer": c, "category": "order", "placed_at": d} for i, c, d in rows]
        conn.execute(orders.insert(), values)
    engine.dispose()


def _source(
    db_url: str, tmp_path: Path, table: str, rows: list[tuple[int, str | None, str]]
) -> list[str]:
    """The table as source ``shop`` of a config (its dates kept as text), and the pack."""
    _table(db_url, table, rows)
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.shop]\nurl = "{db_url}"\ntable = "{table}"\nkey = "id"\n'
        '[sources.shop.kinds]\nplaced_at = "date"\n',
        encoding="utf-8",
    )
    return ["--config", str(config), "--source", "shop"]


def _hold(where: list[str], *args: str) -> None:
    run = invoke("hold", *args, *where)
    assert run.exit_code == 0, run.stderr


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> list[str]:
    """The table with its holds (made on 2026-11-22), as options naming its source."""
    where = _source(db_url, tmp_path, TABLE, ROWS)
    _hold(where, "add", "--id", "1", "--reason", "legal claim", "--by", "alice")
    _hold(where, "add", "--customer", "C2", "--reason", "asked us to keep", "--until",
          "2027-01-31", "--by", "bob")  # fmt: skip
    _hold(where, "add", "--id", "3", "--reason", "court order", "--by", "carol")
    _hold(where, "add", "--id", "5", "--reason", "dispute")
    _hold(where, "add", "--id", "6", "--reason", "mistaken")
    _hold(where, "release", "5", "--reason", "made in error")
    _hold(where, "add", "--id", "7", "--reason", "short", "--until", "2026-11-30")
    return where


def _report(where: list[str], pack: Path, fmt: str) -> str:
    run = invoke("report", "--rules", pack, *where, "--at", AT, "--format", fmt)
    assert run.exit_code == 0, run.stderr
    return run.stdout


HELD = {
    "1": ["legal claim"],
    "3": ["asked us to keep", "court order"],
    "4": ["asked us to keep"],
}


def test_json_lists_each_held_record_with_its_reasons(shop: list[str], tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(_report(shop, tmp_path / "pack.yaml", "json"))
    listed = data["held_records"]
    assert [row["record"] for row in listed]
    assert all(row["source"] == "shop" for row in listed)
    got = {row["record"]: [r.rsplit(": ", 1)[1] for r in row["reasons"]] for row in listed}
    assert got == HELD
    (one,) = [row for row in listed if row["record"] == "1"]
    assert one["reasons"] == ["hold 1 (record 1) by alice since 2026-11-22: legal claim"]
    (three,) = [row for row in listed if row["record"] == "3"]
    assert three["reasons"][0] == (
        "hold 2 (customer C2) by bob since 2026-11-22 until 2027-01-31: asked us to keep"
    )
    assert data["counts"]["held"] == len(listed) == 3
    assert [row["key"] for row in data["unreadable"]] == ["5"]
    assert {row["key"] for row in data["due"]} == {"2", "6", "7", "8"}


def test_csv_lists_held_rows_after_the_unreadable_ones(shop: list[str], tmp_path: Path) -> None:
    text = _report(shop, tmp_path / "pack.yaml", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    statuses = [row["status"] for row in rows]
    assert statuses == ["due"] * 4 + ["unreadable"] + ["held"] * 3
    held = {row["key"]: row for row in rows if row["status"] == "held"}
    assert set(held) == set(HELD)
    for key, row in held.items():
        assert (row["rule"], row["disposal_date"], row["action"], row["pack"]) == ("", "", "", "")
        assert (row["source"], row["anchor_date"], row["field"]) == ("shop", "", "")
        reasons = row["value"].split("; ")
        assert [r.rsplit(": ", 1)[1] for r in reasons] == HELD[key]


def test_table_and_html_have_a_held_section(shop: list[str], tmp_path: Path) -> None:
    text = _report(shop, tmp_path / "pack.yaml", "table")
    _, _, section = text.partition("Held records (nothing is done to them while held):\n")
    lines = section.split("\n\n")[0].splitlines()
    assert lines[0].split() == ["source", "key", "held", "by"]
    by_key = {line.split()[1]: line for line in lines[1:]}
    assert set(by_key) == set(HELD)
    assert "legal claim" in by_key["1"]
    assert "asked us to keep; hold 3 (record 3) by carol" in by_key["3"]
    assert "more held" not in text
    page = _report(shop, tmp_path / "pack.yaml", "html")
    _, _, held = page.partition("<h2>Held records (3): nothing is done to them while held</h2>")
    assert "<td>shop</td><td>4</td><td>hold 2 (customer C2) by bob" in held
    assert "court order" in held
    assert "dispute" not in page  # the unreadable record's hold is not listed


def test_table_and_html_list_the_first_100(db_url: str, tmp_path: Path) -> None:
    rows = [(i, "BIG", "2020-01-01") for i in range(1, 131)]
    where = _source(db_url, tmp_path, "kf_report_held_many", rows)
    pack = tmp_path / "pack.yaml"
    _hold(where, "add", "--customer", "BIG", "--reason", "legal hold on the account")
    table = _report(where, pack, "table")
    assert table.count("legal hold on the account") == 100
    assert "... and 30 more held records (the json and csv formats list every one)" in table
    page = _report(where, pack, "html")
    assert page.count("legal hold on the account") == 100
    assert "and 30 more held records" in page
    data = json.loads(_report(where, pack, "json"))
    assert len(data["held_records"]) == data["counts"]["held"] == 130
    text = _report(where, pack, "csv")
    assert [row["status"] for row in csv.DictReader(io.StringIO(text))] == ["held"] * 130


def test_no_holds_lists_none_and_creates_nothing(db_url: str, tmp_path: Path) -> None:
    where = _source(db_url, tmp_path, TABLE, ROWS)
    pack = tmp_path / "pack.yaml"
    data = json.loads(_report(where, pack, "json"))
    assert data["held_records"] == []
    assert data["counts"]["held"] == 0
    assert "Held records" not in _report(where, pack, "table")
    assert "held" not in {row["status"] for row in csv.DictReader(io.StringIO(
        _report(where, pack, "csv")))}  # fmt: skip
    engine = sa.create_engine(db_url)
    try:
        assert not sa.inspect(engine).has_table("keepfor_holds")
    finally:
        engine.dispose()


FILE_PACK = """\
pack: crm
version: "1"
timezone: Europe/London
rules:
  - id: contacts
    applies_to: {category: contact}
    retain: {from: last_activity_at, for: P1Y}
    then: purge
"""


def _file_source(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["id,type,owner,seen", "1,contact,A,2020-01-01", "2,contact,A,2020-01-01",
             "3,contact,B,2020-01-01", "4,contact,B,2026-11-01"]  # fmt: skip
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "crm.yaml").write_text(FILE_PACK, encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        '[sources.export]\nkind = "csv"\npath = "export.csv"\nkey = "id"\n'
        'category_column = "type"\n[sources.export.fields]\nlast_activity_at = "seen"\n'
        'customer = "owner"\n',
        encoding="utf-8",
    )
    return tmp_path / "crm.yaml", config


def test_a_file_source_lists_its_held_records_and_without_a_state_db_writes_nothing(
    tmp_path: Path,
) -> None:
    pack, config = _file_source(tmp_path)
    where = ["--config", str(config), "--source", "export"]
    before = sorted(p.name for p in tmp_path.iterdir())
    data = json.loads(_report(where, pack, "json"))
    assert data["held_records"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no state db made

    _hold(where, "add", "--customer", "B", "--reason", "considering for a role")
    _hold(where, "add", "--id", "1", "--reason", "legal claim")
    data = json.loads(_report(where, pack, "json"))
    got = {row["record"]: [r.rsplit(": ", 1)[1] for r in row["reasons"]]
           for row in data["held_records"]}  # fmt: skip
    assert got == {"1": ["legal claim"], "3": ["considering for a role"],
                   "4": ["considering for a role"]}  # fmt: skip
    assert data["counts"]["held"] == 3
    assert [row["key"] for row in data["due"]] == ["2"]
