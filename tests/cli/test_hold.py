"""``keepfor hold add|list|release`` on SQLite, PostgreSQL and MariaDB: a held record is
``held`` in the report's counts and absent from its due rows, ``explain`` says why; a
released hold, or one whose ``--until`` has passed, holds no more; a customer's hold
covers all of that customer's records; bad input is one line, exit 2."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cli.conftest import assert_bad_input, invoke

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

ROWS = [  # id, customer, placed_at: 1-5 due at 2026-11-22, 6 retained
    (1, "C1", date(2020, 1, 1)),
    (2, "C1", date(2020, 2, 1)),
    (3, "C2", date(2020, 3, 1)),
    (4, "C2", date(2021, 4, 1)),
    (5, None, date(2022, 5, 1)),
    (6, "C2", date(2026, 6, 1)),
]
AT = "2026-11-22T09:00:00Z"


def _orders(db_url: str, table: str, customer: sa.types.TypeEngine[Any], rows: list[Any]) -> None:
    """A table of orders (id, customer of the given type, category, placed_at)."""
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    orders = sa.Table(
        table,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer", customer),
        sa.Column("category", sa.String(20)),
        sa.Column("placed_at", sa.Date),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            orders.insert(),
            [{"id": i, "customer": c, "category": "order", "placed_at": d} for i, c, d in rows],
        )
    engine.dispose()


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> list[str]:
    """The options that name the table of orders, and the pack at ``--rules``."""
    _orders(db_url, "kf_hold_orders", sa.String(20), ROWS)
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    return ["--db", db_url, "--table", "kf_hold_orders"]


def _hold(shop: list[str], *args: str) -> str:
    run = invoke("hold", *args, *shop)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def _report(shop: list[str], pack: Path, at: str = AT) -> dict[str, Any]:
    run = invoke("report", "--rules", pack, *shop, "--at", at, "--format", "json")
    assert run.exit_code == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def _due(report: dict[str, Any]) -> set[str]:
    return {row["key"] for row in report["due"]}


def _counts(report: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = report["sources"][0]["counts"]
    return counts


def _has_holds_table(db_url: str) -> bool:
    engine = sa.create_engine(db_url)
    try:
        return sa.inspect(engine).has_table("keepfor_holds")
    finally:
        engine.dispose()


def test_held_records_are_counted_held_and_never_listed_due(
    shop: list[str], tmp_path: Path, db_url: str
) -> None:
    pack = tmp_path / "pack.yaml"
    before = _report(shop, pack)
    assert _due(before) == {"1", "2", "3", "4", "5"}
    assert _counts(before)["held"] == 0
    assert not _has_holds_table(db_url)  # a report creates nothing

    added = _hold(shop, "add", "--id", "1", "--reason", "legal claim", "--by", "alice")
    assert "hold 1 (record 1) by alice" in added
    _hold(shop, "add", "--customer", "C2", "--reason", "asked us to keep", "--until", "2027-01-31")
    assert _has_holds_table(db_url)

    report = _report(shop, pack)
    assert _due(report) == {"2", "5"}
    counts = _counts(report)
    assert counts["held"] == 4  # 1, and 3, 4, 6 of customer C2 (6 would be retained)
    assert (counts["due"], counts["retained"]) == (2, 0)
    assert sum(counts[b] for b in ("due", "retained", "waiting", "held", "unmatched",
                                   "unreadable")) == counts["total"] == len(ROWS)  # fmt: skip
    assert report["summary"]["due"] == 2

    # the until day passes: the customer's hold no longer holds
    later = _report(shop, pack, "2027-02-01T12:00:00Z")
    assert _due(later) == {"2", "3", "4", "5"}
    assert _counts(later)["held"] == 1


def test_add_list_release(shop: list[str]) -> None:
    _hold(shop, "add", "--id", "2", "--reason", "legal claim", "--by", "alice")
    _hold(shop, "add", "--customer", "C1", "--reason", "asked", "--until", "2027-01-31")
    listed = json.loads(_hold(shop, "list", "--format", "json"))
    assert isinstance(listed, list)
    assert len(listed) == 2
    first, second = listed
    assert first["record"] == "2"
    assert first["customer"] is None
    assert (first["reason"], first["by"], first["state"]) == ("legal claim", "alice", "active")
    assert second["customer"] == "C1"
    assert second["until"] == "2027-01-31"
    assert "alice" in _hold(shop, "list")

    released = _hold(shop, "release", str(first["id"]), "--reason", "settled", "--by", "bob")
    assert "released by bob" in released
    after = json.loads(_hold(shop, "list", "--format", "json"))
    assert after[0]["state"] == "released"
    assert (after[0]["released_by"], after[0]["release_reason"]) == ("bob", "settled")
    again = invoke("hold", "release", str(first["id"]), "--reason", "x", *shop)
    assert_bad_input(again, "released already")
    assert_bad_input(invoke("hold", "release", "99", "--reason", "x", *shop), "no hold 99")


def test_a_released_hold_holds_no_more(shop: list[str], tmp_path: Path) -> None:
    _hold(shop, "add", "--id", "3", "--reason", "legal claim")
    assert "3" not in _due(_report(shop, tmp_path / "pack.yaml"))
    _hold(shop, "release", "1", "--reason", "claim settled")
    report = _report(shop, tmp_path / "pack.yaml")
    assert "3" in _due(report)
    assert _counts(report)["held"] == 0


def test_explain_says_held_with_the_reason(shop: list[str], tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    _hold(shop, "add", "--customer", "C2", "--reason", "considering for a role",
          "--by", "carol", "--until", "2027-01-31")  # fmt: skip
    run = invoke("explain", "--rules", pack, *shop, "--id", "3", "--at", AT)
    assert run.exit_code == 0, run.stderr
    assert "Status: held" in run.stdout
    assert "considering for a role" in run.stdout
    assert "carol" in run.stdout
    assert "until 2027-01-31" in run.stdout
    as_json = invoke("explain", "--rules", pack, *shop, "--id", "4", "--at", AT, "--json")
    decided = json.loads(as_json.stdout)
    assert decided["status"] == "held"
    assert decided["holds"][0]["reason"] == "considering for a role"
    free = invoke("explain", "--rules", pack, *shop, "--id", "1", "--at", AT, "--json")
    assert json.loads(free.stdout)["status"] == "due"


def test_a_customer_kept_as_bytes_is_held_and_explained_by_its_hex(
    db_url: str, tmp_path: Path
) -> None:
    """A customer column of bytes: a hold names the customer in lowercase hex, as the
    push-down compares it; the report counts the record held and ``explain`` names it."""
    day = date(2020, 1, 1)
    _orders(db_url, "kf_hold_bytes", sa.LargeBinary(16), [(1, b"\x01\xab", day), (2, b"\x02", day)])
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    where = ["--db", db_url, "--table", "kf_hold_bytes"]
    _hold(where, "add", "--customer", "01ab", "--reason", "a claim", "--by", "dora")
    report = _report(where, pack)
    assert _due(report) == {"2"}
    assert _counts(report)["held"] == 1
    run = invoke("explain", "--rules", pack, *where, "--id", "1", "--at", AT, "--json")
    assert run.exit_code == 0, run.stderr
    decided = json.loads(run.stdout)
    assert decided["status"] == "held"
    assert [h["reason"] for h in decided["holds"]] == ["a claim"]


def test_bad_input_is_one_line(shop: list[str], db_url: str) -> None:
    not_a_key = invoke("hold", "add", "--id", "abc", "--reason", "r", *shop)
    assert_bad_input(not_a_key, "'abc' is not a key of 'id'")
    both = invoke("hold", "add", "--id", "1", "--customer", "C1", "--reason", "r", *shop)
    assert_bad_input(both, "--id VALUE or --customer C")
    neither = invoke("hold", "add", "--reason", "r", *shop)
    assert_bad_input(neither, "--id VALUE or --customer C")
    bad_day = invoke("hold", "add", "--id", "1", "--reason", "r", "--until", "31/01/2027", *shop)
    assert_bad_input(bad_day, "--until '31/01/2027' is not a date (YYYY-MM-DD)")
    no_day = invoke("hold", "add", "--id", "1", "--reason", "r", "--until", "2027-02-29", *shop)
    assert_bad_input(no_day, "--until '2027-02-29' is not a calendar date")
    gone = invoke("hold", "add", "--id", "1", "--reason", "r", "--until", "2020-01-31", *shop)
    assert_bad_input(gone, "--until 2020-01-31 has passed")
    empty = invoke("hold", "add", "--id", "1", "--reason", " ", *shop)
    assert_bad_input(empty, "reason")
    assert not _has_holds_table(db_url)  # nothing was written


def test_a_hold_on_a_missing_record_is_kept_with_a_warning(shop: list[str]) -> None:
    run = invoke("hold", "add", "--id", "77", "--reason", "r", *shop)
    assert run.exit_code == 0
    assert "no record with key '77'" in run.stderr


def test_customer_holds_need_a_customer_field(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    sa.Table("kf_hold_plain", meta, sa.Column("id", sa.Integer, primary_key=True))
    meta.create_all(engine)
    engine.dispose()
    run = invoke("hold", "add", "--customer", "C1", "--reason", "r",
                 "--db", db_url, "--table", "kf_hold_plain")  # fmt: skip
    assert_bad_input(run, "maps no customer field")


def test_holds_are_audited_where_a_key_is_set(
    shop: list[str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-holds")
    _hold(shop, "add", "--id", "1", "--reason", "legal claim (Smith v Shop)")
    _hold(shop, "release", "1", "--reason", "settled")
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT action, rule_id, record FROM keepfor_audit ORDER BY sequence")
            ).all()
    finally:
        engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [("hold", "hold-1"), ("release", "hold-1")]
    assert rows[0][2] == rows[1][2]
    assert rows[0][2] != "1"
    run = invoke("audit", "verify", "--db", db_url)
    assert run.exit_code == 0, run.stderr


def test_a_sweep_never_acts_on_a_held_record(
    shop: list[str], tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-holds")
    _hold(shop, "add", "--id", "1", "--reason", "legal claim")
    _hold(shop, "add", "--customer", "C2", "--reason", "asked us to keep")
    run = invoke("sweep", "--rules", tmp_path / "pack.yaml", *shop, "--at", AT, "--apply",
                 "--allow-mass-disposal", "--format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    tally = json.loads(run.stdout)["sources"]["kf_hold_orders"]
    assert (tally["purge"], tally["held"]) == (2, 4)
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT id FROM kf_hold_orders ORDER BY id")).scalars()
            assert list(left) == [1, 3, 4, 6]
    finally:
        engine.dispose()
