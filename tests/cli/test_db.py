"""``keepfor db init`` and ``keepfor db import``: exit codes, one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.store import safe_url
from tests.cli.conftest import assert_bad_input, invoke, run_keepfor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "customers.csv"


def record_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM keepfor_records")).scalar_one())
    finally:
        engine.dispose()


def test_init_then_import(db_url: str) -> None:
    first = invoke("db", "init", "--db", db_url)
    assert first.exit_code == 0, first.stderr
    assert first.stdout == f"created the keepfor store in {safe_url(db_url)} at revision 0001\n"
    again = invoke("db", "init", "--db", db_url)
    assert again.exit_code == 0
    assert again.stdout == f"{safe_url(db_url)} is up to date at revision 0001\n"
    run = invoke("db", "import", EXAMPLE, "--db", db_url)
    assert run.exit_code == 0, run.stderr
    count = record_count(db_url)
    assert run.stdout == f"imported {count} records into {safe_url(db_url)}\n"
    assert run.stderr == ""


def test_the_url_comes_from_keepfor_db(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_DB", db_url)
    assert invoke("db", "init").exit_code == 0
    path = tmp_path / "one.jsonl"
    path.write_text('{"key": "r1", "category": "order"}\n', encoding="utf-8")
    run = invoke("db", "import", path)
    assert run.stdout == f"imported 1 record into {safe_url(db_url)}\n"


def test_the_default_store_is_keepfor_db_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPFOR_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    run = invoke("db", "init")
    assert run.stdout == "created the keepfor store in sqlite:///keepfor.db at revision 0001\n"
    assert (tmp_path / "keepfor.db").is_file()


def test_every_bad_row_on_its_own_line_and_nothing_imported(db_url: str, tmp_path: Path) -> None:
    assert invoke("db", "init", "--db", db_url).exit_code == 0
    path = tmp_path / "bad.csv"
    path.write_text(
        "key,category,placed_at\n"
        "r1,order,2019-01-01\n"
        "r2,order,2019-13-01\n"
        "r1,order,2019-01-01\n"
        "r3,,2019-03-31T23:30:00\n",
        encoding="utf-8",
    )
    run = invoke("db", "import", path, "--db", db_url)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"keepfor: error: {path}: line 3, field 'placed_at': '2019-13-01' is not a date",
        f"keepfor: error: {path}: line 4, field 'key': 'r1' is already used on line 2",
        f"keepfor: error: {path}: line 5, field 'category': the record has no category",
        f"keepfor: error: {path}: 3 bad rows; nothing was imported",
    ]
    assert record_count(db_url) == 0


def test_import_into_a_store_that_was_never_initialised(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text('{"key": "r1", "category": "order"}\n', encoding="utf-8")
    run = invoke("db", "import", path, "--db", db_url)
    assert_bad_input(run, "keepfor db init --db", safe_url(db_url))


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("missing.csv", "missing.csv: no such file"), ("notes.txt", "cannot import a .txt file")],
)
def test_a_file_that_cannot_be_imported(
    tmp_path: Path, name: str, fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert invoke("db", "init", "--db", url).exit_code == 0
    if name.endswith(".txt"):
        (tmp_path / name).write_text("key,category\n", encoding="utf-8")
    assert_bad_input(invoke("db", "import", name, "--db", url), fragment)


@pytest.mark.parametrize("command", [["init"], ["import", "records.csv"]])
def test_a_dead_database_is_one_line(command: list[str]) -> None:
    run = invoke("db", *command, "--db", "postgresql+psycopg://postgres:pw@127.0.0.1:1/x")
    line = assert_bad_input(
        run, "cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:1/x"
    )
    assert ":pw@" not in line


def test_a_bad_url_is_one_line() -> None:
    assert_bad_input(invoke("db", "init", "--db", "not-a-url"), "is not a database URL")


def test_the_installed_script_prints_no_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert run_keepfor("db", "init", "--db", url).exit_code == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "r1", "category": "order"}\n[1, 2]\n', encoding="utf-8")
    run = run_keepfor("db", "import", bad, "--db", url)
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"keepfor: error: {bad}: line 2: a line holds one JSON object, not a list",
        f"keepfor: error: {bad}: 1 bad row; nothing was imported",
    ]
    dead = run_keepfor("db", "init", "--db", "mysql+pymysql://root@127.0.0.1:1/x")
    assert_bad_input(dead, "cannot connect to mysql+pymysql://root@127.0.0.1:1/x")
