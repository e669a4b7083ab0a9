"""``keepfor explain --id``: a stored record decided exactly as ``keepfor report`` decides
it, with what makes a record wait (a field missing, null or empty) or unreadable said;
``keepfor validate --db`` warns of rule fields no record has."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cli.conftest import AT, assert_bad_input, invoke

RECORDS = """\
key,category,placed_at,resolved_at
o-due,order,2019-05-01,
o-uk,order,31/12/2015,
o-new,order,2026-01-01,
c-open,complaint,,
c-done,complaint,,2020-01-01T10:00:00Z
"""


@pytest.fixture
def store(tmp_path: Path, write: Callable[[str, str], Path]) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert invoke("db", "init", "--db", url).exit_code == 0
    # o-uk's day-first date goes in as text, as it did before import refused such dates
    csv_file = write("records.csv", RECORDS.replace("31/12/2015", "x"))
    assert invoke("db", "import", csv_file, "--db", url).exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE keepfor_record_fields SET value_text = '31/12/2015' WHERE value_text = 'x'"
            )
        )
    engine.dispose()
    return url


def explain_id(pack: Path, url: str, key: str, *more: object) -> dict[str, object]:
    run = invoke("explain", "--rules", pack, "--db", url, "--id", key, "--at", AT, "--json", *more)
    assert run.exit_code == 0, run.stderr
    return run.json()  # type: ignore[no-any-return]


def test_a_stored_record_is_decided_as_the_report_decides_it(shop_pack: Path, store: str) -> None:
    report = invoke("report", "--rules", shop_pack, "--db", store, "--at", AT, "--format", "csv")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(report.stdout))}
    decision = explain_id(shop_pack, store, "o-due")
    assert decision["status"] == "due"
    assert (decision["rule"], decision["disposal_date"], decision["action"]) == (
        rows["o-due"]["rule"],
        rows["o-due"]["disposal_date"],
        rows["o-due"]["action"],
    )
    assert explain_id(shop_pack, store, "o-new")["status"] == "retained"
    assert explain_id(shop_pack, store, "c-open")["status"] == "waiting"


def test_an_unreadable_stored_record_says_which_field_and_value(
    shop_pack: Path, store: str
) -> None:
    decision = explain_id(shop_pack, store, "o-uk")
    assert decision["status"] == "unreadable"
    assert decision["unreadable"]["field"] == "placed_at"
    assert decision["unreadable"]["value"] == "31/12/2015"
    run = invoke("explain", "--rules", shop_pack, "--db", store, "--id", "o-uk", "--at", AT)
    assert "Unreadable: field 'placed_at' holds '31/12/2015'" in run.stdout


def test_waiting_says_whether_the_field_is_missing_null_or_empty(
    shop_pack: Path, store: str
) -> None:
    run = invoke("explain", "--rules", shop_pack, "--db", store, "--id", "c-open", "--at", AT)
    assert run.exit_code == 0
    assert "resolved_at: the record has no such field" in run.stdout


def test_a_field_no_record_has_is_a_warning(write: Callable[[str, str], Path], store: str) -> None:
    pack = write(
        "typo.yaml",
        """\
pack: typo
version: "1"
timezone: UTC
rules:
  - id: complaints
    applies_to: {category: complaint}
    retain: {from: resloved_at, for: P1Y}
    then: purge
""",
    )
    run = invoke("explain", "--rules", pack, "--db", store, "--id", "c-open", "--at", AT)
    assert run.exit_code == 0
    assert "reads field 'resloved_at', which no record has (did you mean 'resolved_at'?)" in (
        run.stderr
    )
    checked = invoke("validate", pack, "--db", store)
    assert checked.exit_code == 0
    assert "which no record has" in checked.stderr
    assert "ok source 'store', but see the 1 warning(s) above" in checked.stdout


def test_validate_with_a_table_refuses_a_missing_column(shop_pack: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, placed DATE)"))
    engine.dispose()
    run = invoke("validate", shop_pack, "--db", url, "--table", "orders", "--category", "order")
    assert_bad_input_after_ok(
        run, "rule 'orders-tax' uses field 'placed_at'", "no column 'placed_at'", "'placed'"
    )


def assert_bad_input_after_ok(run: object, *fragments: str) -> None:
    assert run.exit_code == 2  # type: ignore[attr-defined]
    line = run.stderr.strip()  # type: ignore[attr-defined]
    assert line.count("\n") == 0
    for fragment in fragments:
        assert fragment in line


def test_a_table_record_by_its_key_with_a_category_for_every_row(
    shop_pack: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, placed_at DATE)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (7, '2019-05-01'), (8, '2026-01-01')"))
    engine.dispose()
    table = ("--db", url, "--table", "orders", "--category", "order")
    run = invoke("explain", "--rules", shop_pack, *table, "--id", "7", "--at", AT, "--json")
    assert run.json()["status"] == "due"
    report = invoke("report", "--rules", shop_pack, *table, "--at", AT, "--format", "csv")
    assert report.exit_code == 0, report.stderr
    assert [r["key"] for r in csv.DictReader(io.StringIO(report.stdout))] == ["7"]
    missing = invoke("explain", "--rules", shop_pack, *table, "--id", "9", "--at", AT)
    assert_bad_input(missing, "source 'orders' has no record with key '9'")
    not_a_number = invoke("explain", "--rules", shop_pack, *table, "--id", "x", "--at", AT)
    assert_bad_input(not_a_number, "has no record with key 'x'")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--id", "o-due"), "say where the records are"),
        ((), "give --record FILE.json, or --id VALUE"),
        (("--record", "r.json", "--id", "x"), "give --record FILE.json, or --id"),
        (("--record", "r.json", "--db", "sqlite://"), "go with --id, not --record"),
    ],
)
def test_bad_combinations(shop_pack: Path, args: tuple[str, ...], fragment: str) -> None:
    run = invoke("explain", "--rules", shop_pack, *args, "--at", AT)
    assert_bad_input(run, fragment)
