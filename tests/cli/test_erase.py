"""``keepfor erase --customer C``: every record of the customer is disposed of now, but
what a legal obligation keeps (until its date) and what cannot be read; each kept record
is listed with its rule, basis and date; other customers' records are untouched."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import assert_bad_input, invoke

PACK = """\
pack: shop
version: "4"
timezone: Europe/London
rules:
  - id: orders-tax
    applies_to: {category: order}
    retain: {from: placed_at, for: P6Y}
    basis: legal_obligation
    then: purge
  - id: orders-service
    applies_to: {category: order}
    retain: {from: placed_at, for: P1Y}
    then: purge
  - id: newsletter
    applies_to: {category: newsletter}
    retain: {from: placed_at, for: P2Y}
    basis: consent
    then: anonymise
  - id: claims
    applies_to: {category: claim}
    retain: {from: settled_at, for: P6Y}
    basis: legal_obligation
    then: purge
"""
ROWS = [
    # id, category, customer, placed_at, settled_at, email
    (1, "order", "c1", "2024-03-01", None, "a@x"),  # tax: kept until 2030-03-01
    (2, "order", "c1", "2018-03-01", None, "a@x"),  # tax due: purged
    (3, "newsletter", "c1", "2026-10-01", None, "a@x"),  # consent: anonymised now
    (4, "enquiry", "c1", "2026-10-01", None, "a@x"),  # no rule: purged
    (5, "claim", "c1", None, None, "a@x"),  # legal, waits for settled_at: kept
    (6, "order", "c1", "31/12/2024", None, "a@x"),  # unreadable: kept, said so
    (7, "order", "c2", "2018-03-01", None, "b@x"),  # another customer: untouched
]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, category TEXT, customer TEXT, "
        "placed_at DATE, settled_at DATE, email VARCHAR(80))"
    )
    db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    db.commit()
    db.close()
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    (tmp_path / "keepfor.toml").write_text(
        '[sources.shop]\nurl = "sqlite:///shop.db"\ntable = "records"\n'
        '[sources.shop.anonymise]\nemail = "null"\ncustomer = "fixed:erased"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-erase")
    return tmp_path


def _erase(shop: Path, *args: str) -> dict[str, object]:
    run = invoke(
        "erase", "--customer", "c1", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--at", "2026-11-22", "--format", "json", *args,
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    answer: dict[str, object] = json.loads(run.stdout)
    return answer


def _rows(shop: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(shop / "shop.db")
    try:
        return db.execute("SELECT id, customer, email FROM records ORDER BY id").fetchall()
    finally:
        db.close()


def _tables(shop: Path) -> set[str]:
    db = sqlite3.connect(shop / "shop.db")
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


KEPT = [
    {
        "record": "1",
        "rule": "orders-tax",
        "basis": "legal_obligation",
        "until": "2030-03-02",
        "reason": "a legal obligation keeps it until its disposal date",
    },
    {
        "record": "5",
        "rule": "claims",
        "basis": "legal_obligation",
        "until": None,
        "reason": "a legal obligation keeps it until settled_at has happened and its period passed",
    },
]


def test_a_dry_run_answers_what_is_kept_and_why(shop: Path) -> None:
    answer = _erase(shop)
    assert answer["applied"] is False
    assert answer["customer"] == "c1"
    source = answer["sources"]["shop"]  # type: ignore[index]
    assert (source["purge"], source["anonymise"], source["failed"]) == (2, 1, 0)
    kept = sorted(source["kept"], key=lambda k: k["record"])
    assert kept[:2] == KEPT
    assert kept[2]["record"] == "6"
    assert kept[2]["reason"].startswith("unreadable: ")
    assert len(_rows(shop)) == len(ROWS)


def test_apply_disposes_of_the_rest_audited_and_asking_again_only_keeps(shop: Path) -> None:
    answer = _erase(shop, "--apply")
    source = answer["sources"]["shop"]  # type: ignore[index]
    assert (source["purge"], source["anonymise"]) == (2, 1)
    assert _rows(shop) == [
        (1, "c1", "a@x"),
        (3, "erased", None),
        (5, "c1", "a@x"),
        (6, "c1", "a@x"),
        (7, "c2", "b@x"),
    ]
    db = sqlite3.connect(shop / "shop.db")
    audit = db.execute("SELECT action, rule_id FROM keepfor_audit ORDER BY action").fetchall()
    db.close()
    assert sorted(audit) == [
        ("anonymise", "newsletter"), ("purge", "(no rule)"), ("purge", "orders-tax"),
    ]  # fmt: skip
    again = _erase(shop, "--apply")["sources"]["shop"]  # type: ignore[index]
    assert (again["purge"], again["anonymise"]) == (0, 0)
    assert sorted(k["record"] for k in again["kept"]) == ["1", "5", "6"]


def test_the_table_lists_the_kept_records(shop: Path) -> None:
    run = invoke(
        "erase", "--customer", "c1", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--at", "2026-11-22",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert "2 would be purged, 1 would be anonymised; 3 kept" in run.stdout
    assert "2030-03-02" in run.stdout
    assert "Dry run" in run.stdout


@pytest.mark.parametrize("apply", [False, True], ids=["dry-run", "apply"])
def test_a_source_without_a_customer_field_is_bad_input(shop: Path, apply: bool) -> None:
    (shop / "keepfor.toml").write_text(
        '[sources.shop]\nurl = "sqlite:///shop.db"\ntable = "records"\n'
        '[sources.shop.fields]\ncustomer = "client"\n',
        encoding="utf-8",
    )
    run = invoke(
        "erase", "--customer", "c1", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", *(["--apply"] if apply else []),
    )  # fmt: skip
    assert_bad_input(run, "source 'shop'", "'client'")
    db = sqlite3.connect(shop / "shop.db")
    made = db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'keepfor%'").fetchall()
    assert db.execute("SELECT count(*) FROM records").fetchone() == (len(ROWS),)
    db.close()
    assert made == []  # refused before keepfor made its tables


def test_a_held_record_is_kept_and_said_so(shop: Path) -> None:
    held = invoke(
        "hold", "add", "--config", shop / "keepfor.toml", "--source", "shop", "--id", "3",
        "--reason", "claim or defence in court", "--by", "legal",
    )  # fmt: skip
    assert held.exit_code == 0, held.stderr
    answer = _erase(shop, "--apply")
    source = answer["sources"]["shop"]  # type: ignore[index]
    assert (source["purge"], source["anonymise"]) == (2, 0)
    kept = {k["record"]: k for k in source["kept"]}
    assert kept["3"] == {
        "record": "3",
        "rule": "newsletter",  # what decides it once released
        "basis": "consent",
        "until": None,  # the hold has no end
        "reason": "held: hold 1 (record 3) by legal since 2026-11-22: claim or defence in court",
    }
    assert (3, "c1", "a@x") in _rows(shop)


def test_a_held_record_is_kept_until_its_last_hold_ends(shop: Path) -> None:
    for until in ("2027-01-31", "2027-03-01"):
        held = invoke(
            "hold", "add", "--config", shop / "keepfor.toml", "--source", "shop",
            "--customer", "c1", "--reason", f"until {until}", "--until", until,
        )  # fmt: skip
        assert held.exit_code == 0, held.stderr
    answer = _erase(shop)
    source = answer["sources"]["shop"]  # type: ignore[index]
    assert (source["purge"], source["anonymise"]) == (0, 0)
    kept = {k["record"]: k for k in source["kept"]}
    assert sorted(kept) == ["1", "2", "3", "4", "5", "6"]
    assert {kept[r]["until"] for r in "12345"} == {"2027-03-01"}
    assert kept["6"]["reason"].startswith("unreadable: ")  # held or not: correct it first
    assert (kept["1"]["rule"], kept["1"]["basis"]) == ("orders-tax", "legal_obligation")
    assert "until 2027-01-31" in kept["1"]["reason"]
    assert "until 2027-03-01" in kept["1"]["reason"]


def test_an_empty_customer_is_bad_input(shop: Path) -> None:
    run = invoke(
        "erase", "--customer", " ", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--apply",
    )  # fmt: skip
    assert_bad_input(run, "--customer")
    assert len(_rows(shop)) == len(ROWS)


def test_an_anonymise_with_no_field_to_rewrite_is_refused(shop: Path) -> None:
    """A record whose rule says anonymise, where the config names no field (or only
    ``keep``): nothing would change, yet it would be audited as done. --apply refuses in
    one line; a dry run answers and warns."""
    (shop / "keepfor.toml").write_text(
        '[sources.shop]\nurl = "sqlite:///shop.db"\ntable = "records"\n'
        '[sources.shop.anonymise]\nemail = "keep"\n',
        encoding="utf-8",
    )
    args = (
        "erase", "--customer", "c1", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--at", "2026-11-22",
    )  # fmt: skip
    run = invoke(*args, "--apply")
    assert_bad_input(run, "source 'shop'", "1 of the customer's records", "no field to anonymise")
    assert _rows(shop) == [(r[0], r[2], r[5]) for r in ROWS]
    dry = invoke(*args, "--format", "json")
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["sources"]["shop"]["anonymise"] == 1
    assert dry.stderr.startswith("keepfor: warning: source 'shop'"), dry.stderr
    assert "erase --apply refuses it" in dry.stderr


def test_text_in_the_table_is_shown_as_given_never_as_markup(shop: Path) -> None:
    """A hold's reason and a customer that look like rich markup (``[/b]`` would close a
    tag no one opened) are printed as they are, not styled, not an internal error."""
    reason = "see [/x] and [bold]this[/bold]"
    held = invoke(
        "hold", "add", "--config", shop / "keepfor.toml", "--source", "shop", "--id", "3",
        "--reason", reason, "--by", "legal",
    )  # fmt: skip
    assert held.exit_code == 0, held.stderr
    run = invoke(
        "erase", "--customer", "c1", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--at", "2026-11-22",
    )  # fmt: skip
    assert (run.exit_code, run.stderr) == (0, ""), run
    assert reason in run.stdout
    odd = invoke(
        "erase", "--customer", "[/b]", "--rules", shop / "pack.yaml",
        "--config", shop / "keepfor.toml", "--at", "2026-11-22",
    )  # fmt: skip
    assert (odd.exit_code, odd.stderr) == (0, ""), odd
    assert "customer [/b]: 0 would be purged" in odd.stdout
    listed = invoke("hold", "list", "--config", shop / "keepfor.toml", "--source", "shop")
    assert (listed.exit_code, listed.stderr) == (0, ""), listed
    assert reason in listed.stdout
