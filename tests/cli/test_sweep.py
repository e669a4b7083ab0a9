"""``keepfor sweep`` as a user runs it: the JSON of the contract, a dry run by default,
and the exit codes: 0 done, 2 bad input (nothing done), 3 refused by the safety valve
(nothing done), 4 partly done."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from keepfor.actions.tally import SourceTally, SweepResult
from keepfor.cli import sweep as sweep_cli
from keepfor.report.model import HeldRow
from tests.actions.test_sweep import LINES as SWEEP_LINES
from tests.actions.test_sweep import SHOP_PACK, make_tables
from tests.actions.test_sweep import TABLE as SWEEP_TABLE
from tests.cli.conftest import assert_bad_input, invoke, run_keepfor

PACK = """\
pack: shop
version: "2"
timezone: Europe/London
rules:
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P6Y}
    then: purge
  - id: quotes
    applies_to: {category: quote}
    retain: {from: placed_at, for: P1Y}
    then: flag
"""
AUDIT_KEY = "0123456789abcdef-cli"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite shop of 10 orders (4 due) and 10 quotes (5 due), with order lines."""
    db = sqlite3.connect(tmp_path / "shop.db")
    db.executescript(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, category TEXT, placed_at DATE);"
        "CREATE TABLE lines (id INTEGER PRIMARY KEY, record_id INTEGER REFERENCES records(id));"
    )
    for i in range(1, 11):
        db.execute("INSERT INTO records VALUES (?, 'order', ?)", (i, f"{2016 + i}-06-01"))
        db.execute("INSERT INTO records VALUES (?, 'quote', ?)", (100 + i, f"{2020 + i}-06-01"))
        db.execute("INSERT INTO lines VALUES (?, ?)", (i, i))
    db.commit()
    db.close()
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", AUDIT_KEY)
    return tmp_path


def _config(shop: Path, extra: str = "") -> Path:
    path = shop / "keepfor.toml"
    path.write_text(
        '[sources.orders]\nurl = "sqlite:///shop.db"\ntable = "records"\n'
        "max_disposal_share = 0.5\n" + extra,
        encoding="utf-8",
    )
    return path


CHILDREN = '[sources.orders.purge]\nchildren = ["lines.record_id"]\n'


def _sweep(shop: Path, *args: object) -> tuple[int, str, str]:
    run = invoke("sweep", "--rules", shop / "pack.yaml", "--at", "2026-11-22", *args)
    return run.exit_code, run.stdout, run.stderr


def _count(shop: Path, sql: str) -> int:
    db = sqlite3.connect(shop / "shop.db")
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def _keepfor_tables(shop: Path) -> list[str]:
    """keepfor's own tables in the shop's database (none until a sweep may act)."""
    db = sqlite3.connect(shop / "shop.db")
    try:
        names = db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'keepfor%'")
        return sorted(name for (name,) in names)
    finally:
        db.close()


def test_a_dry_run_prints_the_contracts_json_and_changes_nothing(shop: Path) -> None:
    code, out, err = _sweep(shop, "--config", _config(shop, CHILDREN), "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["applied"] is False
    assert data["at"] == "2026-11-22"
    counts = data["sources"]["orders"]
    assert {k: counts[k] for k in ("purge", "anonymise", "flag", "review", "held", "failed")} == {
        "purge": 4,
        "anonymise": 0,
        "flag": 5,
        "review": 0,
        "held": 0,
        "failed": 0,
    }
    assert counts["rules"] == [
        {"pack": "shop", "rule": "orders", "action": "purge", "records": 4},
        {"pack": "shop", "rule": "quotes", "action": "flag", "records": 5},
    ]
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _count(shop, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'keepfor_%'") == 0


def test_apply_acts_audits_and_a_rerun_does_nothing(shop: Path) -> None:
    config = _config(shop, CHILDREN)
    code, out, err = _sweep(shop, "--config", config, "--apply", "--format", "json")
    assert (code, err) == (0, "")
    done = json.loads(out)["sources"]["orders"]
    assert done["purge"] == 4
    assert {(r["rule"], r["action"]): r["records"] for r in done["rules"]} == {
        ("orders", "purge"): 4,
        ("quotes", "flag"): 5,
    }
    assert _count(shop, "SELECT count(*) FROM records") == 16
    assert _count(shop, "SELECT count(*) FROM lines") == 6
    assert _count(shop, "SELECT count(*) FROM keepfor_audit") == 9
    code, out, _ = _sweep(shop, "--config", config, "--apply", "--format", "json")
    assert code == 0
    again = json.loads(out)["sources"]["orders"]
    assert (again["purge"], again["flag"], again["rules"]) == (0, 0, [])
    assert _count(shop, "SELECT count(*) FROM keepfor_audit") == 9
    verified = invoke("audit", "verify", "--config", config)
    assert verified.exit_code == 0, verified.stderr
    assert "9 entries, intact" in verified.stdout


def test_the_table_says_it_is_a_dry_run(shop: Path) -> None:
    code, out, _ = _sweep(shop, "--config", _config(shop, CHILDREN))
    assert code == 0
    assert "dry run" in out
    lines = [line for line in out.splitlines() if "would be" in line]
    assert len(lines) == 2, out  # one per rule and action, with the rule's pack and id
    for line, words in zip(
        lines,
        (("orders", " 4 ", "would be purged"), ("quotes", " 5 ", "would be flagged")),
        strict=True,
    ):
        assert all(w in line for w in ("shop", *words)), line


def test_the_safety_valve_exits_3_and_does_nothing(shop: Path) -> None:
    config = _config(shop, CHILDREN).read_text(encoding="utf-8")
    (shop / "keepfor.toml").write_text(
        config.replace("max_disposal_share = 0.5", "max_disposal_share = 0.1"), encoding="utf-8"
    )
    code, out, err = _sweep(shop, "--config", shop / "keepfor.toml", "--apply")
    assert code == 3
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "4 of 20 records" in err
    assert "--allow-mass-disposal" in err
    assert _count(shop, "SELECT count(*) FROM records") == 20
    code, _, _ = _sweep(shop, "--config", shop / "keepfor.toml", "--apply", "--allow-mass-disposal")
    assert code == 0
    assert _count(shop, "SELECT count(*) FROM records") == 16


def test_a_foreign_key_that_would_block_a_purge_is_bad_input(shop: Path) -> None:
    run = invoke("sweep", "--rules", shop / "pack.yaml", "--config", _config(shop), "--apply")
    assert_bad_input(run, "source 'orders'", "table 'lines' (record_id)", "lines.record_id")
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _count(shop, "SELECT count(*) FROM keepfor_audit") == 0


def test_a_batch_refused_by_the_database_exits_4_after_doing_the_rest(shop: Path) -> None:
    db = sqlite3.connect(shop / "shop.db")
    db.executescript(  # a trigger, not a foreign key: keepfor cannot see it coming
        "CREATE TRIGGER keep_order_3 BEFORE DELETE ON records WHEN old.id = 3 "
        "BEGIN SELECT RAISE(ABORT, 'order 3 is under audit'); END;"
    )
    db.close()
    code, out, err = _sweep(
        shop, "--config", _config(shop, CHILDREN), "--apply", "--format", "json",
        "--batch-size", "2",
    )  # fmt: skip
    assert code == 4
    counts = json.loads(out)["sources"]["orders"]
    assert (counts["purge"], counts["failed"], counts["flag"]) == (2, 2, 5)
    assert "order 3 is under audit" in err
    assert "run the sweep again" in err
    assert _count(shop, "SELECT count(*) FROM records") == 18
    assert _count(shop, "SELECT count(*) FROM keepfor_audit") == 7


def test_a_rule_field_with_no_column_is_bad_input_and_makes_nothing(shop: Path) -> None:
    """Checked against the table before keepfor makes its own tables in the database."""
    (shop / "pack.yaml").write_text(
        PACK.replace("from: placed_at, for: P1Y", "from: sent_at, for: P1Y"), encoding="utf-8"
    )
    run = invoke("sweep", "--rules", shop / "pack.yaml", "--config", _config(shop), "--apply")
    assert_bad_input(run, "source 'orders'", "sent_at")
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _keepfor_tables(shop) == []


def test_apply_without_an_audit_key_is_bad_input(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPFOR_AUDIT_KEY")
    run = invoke("sweep", "--rules", shop / "pack.yaml", "--config", _config(shop), "--apply")
    assert_bad_input(run, "KEEPFOR_AUDIT_KEY")
    assert _count(shop, "SELECT count(*) FROM records") == 20


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ('[sources.orders.anonymise]\nemail = "hash"\n', ["anonymise.email", "no column 'email'"]),
        ('[sources.orders.purge]\nchildren = ["lines.nope"]\n', ["purge.children", "'nope'"]),
    ],
)
def test_settings_that_cannot_work_are_bad_input(
    shop: Path, extra: str, fragments: list[str]
) -> None:
    run = invoke(
        "sweep", "--rules", shop / "pack.yaml", "--config", _config(shop, extra), "--apply"
    )
    assert_bad_input(run, "source 'orders'", *fragments)
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _keepfor_tables(shop) == []  # refused before keepfor made anything


def test_the_installed_script_sweeps(shop: Path) -> None:
    run = run_keepfor(
        "sweep", "--rules", shop / "pack.yaml", "--db", f"sqlite:///{shop / 'shop.db'}",
        "--table", "records", "--at", "2026-11-22", "--format", "json",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["sources"]["records"]["purge"] == 4


def test_a_held_record_is_counted_and_never_acted_on(shop: Path) -> None:
    config = _config(shop, CHILDREN)
    held = invoke(
        "hold", "add", "--config", config, "--source", "orders", "--id", "1",
        "--reason", "asked us to keep it",
    )  # fmt: skip
    assert held.exit_code == 0, held.stderr
    code, out, _ = _sweep(shop, "--config", config, "--format", "table")
    assert code == 0
    assert "Held records" in out
    held_line = next(line for line in out.splitlines() if "hold 1 (record 1)" in line)
    assert held_line.split()[:4] == ["│", "orders", "│", "1"], held_line
    code, out, _ = _sweep(shop, "--config", config, "--apply", "--format", "json")
    assert code == 0
    counts = json.loads(out)["sources"]["orders"]
    assert (counts["purge"], counts["held"]) == (3, 1)
    (listed,) = counts["held_records"]
    assert (listed["source"], listed["record"]) == ("orders", "1")
    (reason,) = listed["reasons"]
    assert reason.endswith(": asked us to keep it")
    assert _count(shop, "SELECT count(*) FROM records WHERE id = 1") == 1


def test_json_writes_each_held_record_as_it_is_read() -> None:
    """A hold on a large customer must not cost memory: the JSON is written piece by
    piece, each held record as the source gives it (500,000 took 875 MB when the object
    was built whole, 79 MB now)."""
    read: list[int] = []

    def rows() -> Iterator[HeldRow]:
        for i in range(3):
            read.append(i)
            yield HeldRow("orders", str(i), (f"hold {i}: asked us to keep it",))

    tally = SourceTally(purge=2, held=3, total=6)
    tally.by_rule[("shop", "orders", "purge")] = 2
    result = SweepResult(applied=False, at=date(2026, 11, 22))
    result.sources = {"orders": tally, "other": SourceTally(total=1)}
    text = ""
    for piece in sweep_cli._json(result, date(2027, 2, 20), {"orders": rows()}):
        if '"record": "1"' in piece:
            assert read == [0, 1]  # the third not yet read
        text += piece
    data = json.loads(text)
    assert list(data) == ["applied", "at", "sources"]
    orders, other = data["sources"]["orders"], data["sources"]["other"]
    assert [row["record"] for row in orders["held_records"]] == ["0", "1", "2"]
    assert orders["rules"] == [{"pack": "shop", "rule": "orders", "action": "purge", "records": 2}]
    assert (orders["purge"], orders["held"], other["total"], other["held_records"]) == (2, 3, 1, [])


def test_without_holds_no_record_is_listed_held(shop: Path) -> None:
    code, out, _ = _sweep(shop, "--config", _config(shop, CHILDREN), "--format", "json")
    assert code == 0
    assert json.loads(out)["sources"]["orders"]["held_records"] == []
    assert _count(shop, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'keepfor_%'") == 0


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop.db"
RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def test_the_example_store_is_swept_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keepfor's own store (the README's example): a dry run, the safety valve, an
    applied sweep, a re-run that does nothing, a trail that verifies."""
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "example-store-audit-key-0123456789")
    copy = tmp_path / "shop.db"
    copy.write_bytes(EXAMPLE.read_bytes())
    db = f"sqlite:///{copy}"
    base = ("sweep", "--rules", RULES_DIR, "--db", db, "--at", "2026-11-22", "--format", "json")
    dry = invoke(*base)
    assert dry.exit_code == 0, dry.stderr
    counts = json.loads(dry.stdout)["sources"]["store"]
    assert counts["total"] == 35
    assert counts["purge"] > 0
    refused = invoke(*base, "--apply")
    assert refused.exit_code == 3, refused.stderr
    done = invoke(*base, "--apply", "--allow-mass-disposal")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["sources"]["store"] == counts
    left = _count(tmp_path, "SELECT count(*) FROM keepfor_records")
    assert left == 35 - counts["purge"]
    again = json.loads(invoke(*base, "--apply").stdout)["sources"]["store"]
    assert [again[a] for a in ("purge", "anonymise", "flag", "review")] == [0, 0, 0, 0]
    verified = invoke("audit", "verify", "--db", db)
    assert verified.exit_code == 0, verified.stderr
    queued = invoke("review", "list", "--db", db, "--format", "json")
    assert len(json.loads(queued.stdout)) == counts["review"]


def test_a_source_another_sweeper_is_acting_on_is_left_alone(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon's run holds the source's lock (an advisory lock, GET_LOCK, a lease row):
    a manual sweep --apply refuses in one line and does nothing; a dry run still reads."""
    from keepfor.clock import SystemClock
    from keepfor.daemon.lock import lock_for
    from keepfor.database import create_engine

    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", AUDIT_KEY)
    url = make_tables(db_url)
    pack = tmp_path / "pack.yaml"
    # no anonymise: a table given by --db alone names no field to rewrite
    rules = [
        {**r, "then": "purge" if r["then"] == "anonymise" else r["then"]}
        for r in SHOP_PACK["rules"]
    ]
    pack.write_text(yaml.safe_dump({**SHOP_PACK, "rules": rules}))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {SWEEP_LINES}"))  # no child rows to declare
    args = ("sweep", "--rules", pack, "--db", url, "--table", SWEEP_TABLE, "--at", "2026-11-22")
    lock = lock_for(engine, SWEEP_TABLE, SystemClock())
    assert lock.acquire()
    try:
        refused = invoke(*args, "--apply", "--allow-mass-disposal")
        assert_bad_input(refused, f"source '{SWEEP_TABLE}'", "another keepfor")
        assert invoke(*args).exit_code == 0
    finally:
        lock.release()
    with engine.connect() as conn:
        audited = conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar()
        assert audited == 0
    done = invoke(*args, "--apply", "--allow-mass-disposal", "--format", "json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["sources"][SWEEP_TABLE]["purge"] > 0
    engine.dispose()


@pytest.mark.parametrize("apply", [False, True], ids=["dry-run", "apply"])
def test_a_table_refuses_archive_rules_in_one_line_before_anything_is_read(
    shop: Path, apply: bool
) -> None:
    (shop / "pack.yaml").write_text(PACK.replace("then: flag", "then: archive"), encoding="utf-8")
    args = ("--config", _config(shop), "--format", "json", *(["--apply"] if apply else []))
    code, out, err = _sweep(shop, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert err.startswith("keepfor: ")
    assert "source 'orders': rule 'quotes' says 'then: archive'" in err
    assert "cannot archive" in err
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _keepfor_tables(shop) == []


def test_a_rule_of_another_category_than_a_sources_constant_one_is_not_its_concern(
    shop: Path,
) -> None:
    """An archive rule for quotes does not stop a table of orders only (``category`` a
    constant): no record of it can fall under that rule."""
    db = sqlite3.connect(shop / "shop.db")
    db.executescript(
        "CREATE TABLE orders_only (id INTEGER PRIMARY KEY, placed_at DATE);"
        "INSERT INTO orders_only SELECT id, placed_at FROM records WHERE category = 'order';"
    )
    db.commit()
    db.close()
    (shop / "pack.yaml").write_text(PACK.replace("then: flag", "then: archive"), encoding="utf-8")
    config = shop / "keepfor.toml"
    config.write_text(
        '[sources.orders]\nurl = "sqlite:///shop.db"\ntable = "orders_only"\n'
        'category = "order"\nmax_disposal_share = 0.5\n',
        encoding="utf-8",
    )
    code, out, err = _sweep(shop, "--config", config, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["sources"]["orders"]["purge"] == 4
    assert invoke("validate", shop / "pack.yaml", "--config", config).exit_code == 0


def test_validate_with_a_config_refuses_an_action_the_source_cannot_take(shop: Path) -> None:
    config = _config(shop)
    assert invoke("validate", shop / "pack.yaml", "--config", config).exit_code == 0
    (shop / "pack.yaml").write_text(PACK.replace("then: flag", "then: archive"), encoding="utf-8")
    run = invoke("validate", shop / "pack.yaml", "--config", config)
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert "source 'orders': rule 'quotes' says 'then: archive'" in run.stderr


ANONYMISING = PACK.replace("then: flag", "then: anonymise")


@pytest.mark.parametrize(
    "fields", ["", '[sources.orders.anonymise]\nplaced_at = "keep"\n'], ids=["none", "keep"]
)
def test_an_anonymise_that_would_change_nothing_is_refused(shop: Path, fields: str) -> None:
    """Rules that anonymise, where the source's config names no field to rewrite: the
    records would be audited as anonymised and stay as they are. --apply refuses in one
    line; a dry run shows what is due and warns; validate refuses."""
    (shop / "pack.yaml").write_text(ANONYMISING, encoding="utf-8")
    config = _config(shop, CHILDREN + fields)
    code, out, err = _sweep(shop, "--config", config, "--format", "json", "--apply")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert "source 'orders': rule 'quotes' says 'then: anonymise'" in err
    assert "no field to anonymise" in err
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _keepfor_tables(shop) == []
    code, out, err = _sweep(shop, "--config", config, "--format", "json")
    assert code == 0
    assert json.loads(out)["sources"]["orders"]["anonymise"] == 5
    assert err.startswith("keepfor: warning: source 'orders': rule 'quotes'"), err
    assert "sweep --apply refuses it" in err
    run = invoke("validate", shop / "pack.yaml", "--config", config)
    assert run.exit_code == 2
    assert "no field to anonymise" in run.stderr


def test_an_anonymise_without_a_config_is_refused(shop: Path) -> None:
    (shop / "pack.yaml").write_text(ANONYMISING, encoding="utf-8")
    db = f"sqlite:///{shop / 'shop.db'}"
    code, out, err = _sweep(shop, "--db", db, "--table", "records", "--apply")
    assert (code, out) == (2, "")
    assert "source 'records': rule 'quotes' says 'then: anonymise'" in err
    assert _count(shop, "SELECT count(*) FROM records") == 20
    assert _keepfor_tables(shop) == []


def test_an_anonymise_that_rewrites_a_field_is_taken(shop: Path) -> None:
    (shop / "pack.yaml").write_text(ANONYMISING, encoding="utf-8")
    config = _config(shop, CHILDREN + '[sources.orders.anonymise]\nplaced_at = "null"\n')
    code, out, err = _sweep(shop, "--config", config, "--format", "json", "--apply")
    assert (code, err) == (0, "")
    assert json.loads(out)["sources"]["orders"]["anonymise"] == 5
    assert _count(shop, "SELECT count(*) FROM records WHERE placed_at IS NULL") == 5


def test_in_a_file_or_pipe_the_table_folds_no_id(shop: Path) -> None:
    """Standard output that is not a terminal gets the table as wide as its cells: a
    long rule id is whole on its row (a terminal's width folds it instead)."""
    long_id = "orders-kept-six-years-after-the-end-of-the-financial-year"
    pack = shop / "pack.yaml"
    pack.write_text(PACK.replace("id: orders", f"id: {long_id}"), encoding="utf-8")
    code, out, _ = _sweep(shop, "--config", _config(shop, CHILDREN))
    assert code == 0
    (row,) = [line for line in out.splitlines() if "would be purged" in line]
    assert long_id in row
    assert len(row) > 80


def test_the_same_failure_of_several_batches_is_one_line(shop: Path) -> None:
    """Every purge batch fails alike (a trigger refuses deletes, as a missing privilege
    would): the error is said once, with how many batches it stopped; exit 4."""
    db = sqlite3.connect(shop / "shop.db")
    db.execute(
        "CREATE TRIGGER no_deletes BEFORE DELETE ON records "
        "BEGIN SELECT RAISE(ABORT, 'deletes are not allowed here'); END"
    )
    db.commit()
    db.close()
    code, _, err = _sweep(shop, "--config", _config(shop, CHILDREN), "--apply",
                          "--batch-size", "2", "--allow-mass-disposal")  # fmt: skip
    assert code == 4
    errors = [line for line in err.splitlines() if line.startswith("keepfor: error:")]
    assert len(errors) == 1, err
    assert "deletes are not allowed here" in errors[0]
    assert errors[0].endswith(" (2 batches)")
    assert _count(shop, "SELECT count(*) FROM records") == 20  # nothing purged
