"""``keepfor db init`` and ``keepfor db import``: exit codes, one line per problem."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor.store import safe_url
from keepfor.store.db import init_hint
from tests.cli.conftest import KEEPFOR, assert_bad_input, invoke, run_keepfor

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
    assert first.stdout == f"created the keepfor store in {safe_url(db_url)} at revision 0002\n"
    again = invoke("db", "init", "--db", db_url)
    assert again.exit_code == 0
    assert again.stdout == f"{safe_url(db_url)} is up to date at revision 0002\n"
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
    assert run.stdout == "created the keepfor store in sqlite:///keepfor.db at revision 0002\n"
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
        f"keepfor: error: {path}: line 3, field 'placed_at': '2019-13-01' is not a calendar date",
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


# -- dates written another way ------------------------------------------------------------

ISSUE_CSV = "key,category,placed_at\nold-uk,order,31/12/2015\nold-iso,order,2015-12-31\n"


def placed_at(url: str) -> dict[str, object]:
    """(value_date, value_text) of each record's ``placed_at``, typed by the store's tables."""
    from keepfor.store import Record, RecordField

    records = Record.__table__  # type: ignore[attr-defined]
    fields = RecordField.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(records.c.key, fields.c.value_date, fields.c.value_text)
        .join(fields, fields.c.record_id == records.c.id)
        .where(fields.c.name == "placed_at")
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {key: (day, text) for key, day, text in conn.execute(query)}
    finally:
        engine.dispose()


def test_a_day_first_date_is_a_bad_row_without_options(db_url: str, tmp_path: Path) -> None:
    assert invoke("db", "init", "--db", db_url).exit_code == 0
    path = tmp_path / "f.csv"
    path.write_text(ISSUE_CSV, encoding="utf-8")
    run = invoke("db", "import", path, "--db", db_url)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"keepfor: error: {path}: line 2, field 'placed_at': '31/12/2015' is not an ISO 8601 "
        "date (YYYY-MM-DD); for dates written another way give --date-format or --dayfirst",
        f"keepfor: error: {path}: 1 bad row; nothing was imported",
    ]
    assert record_count(db_url) == 0


@pytest.mark.parametrize(
    "options",
    [
        ["--dayfirst"],
        ["--date-format", "%d/%m/%Y"],
        ["--date-format", "%m/%d/%Y", "--date-format", "%d/%m/%Y"],
        ["--date-format", "%Y%m%d", "--dayfirst"],
    ],
)
def test_dates_written_another_way_are_imported_as_dates(
    db_url: str, tmp_path: Path, options: list[str]
) -> None:
    from datetime import date

    assert invoke("db", "init", "--db", db_url).exit_code == 0
    path = tmp_path / "f.csv"
    path.write_text(ISSUE_CSV, encoding="utf-8")
    run = invoke("db", "import", path, "--db", db_url, *options)
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == f"imported 2 records into {safe_url(db_url)}\n"
    assert placed_at(db_url) == {
        "old-uk": (date(2015, 12, 31), None),
        "old-iso": (date(2015, 12, 31), None),
    }


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [
        ("%d/%m", "'%d/%m' does not name a day, a month and a year (e.g. %d/%m/%Y)"),
        ("%d/%q/%Y", "cannot be used: 'q' is a bad directive in format '%d/%q/%Y'"),
        ("", "'' does not name a day, a month and a year"),
    ],
)
def test_a_bad_date_format_is_one_line_before_the_store_is_opened(
    tmp_path: Path, fmt: str, fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'never-created.db'}"
    run = invoke("db", "import", tmp_path / "f.csv", "--db", url, "--date-format", fmt)
    line = assert_bad_input(run, "Invalid value for '--date-format': date format", fragment)
    assert "no keepfor store" not in line
    assert not (tmp_path / "never-created.db").exists()


# -- --replace --------------------------------------------------------------------------------


def test_replace_says_how_many_were_inserted_and_replaced(db_url: str, tmp_path: Path) -> None:
    assert invoke("db", "init", "--db", db_url).exit_code == 0
    first = tmp_path / "first.csv"
    first.write_text("key,category,note\nr1,order,a\nr2,order,b\n", encoding="utf-8")
    assert invoke("db", "import", first, "--db", db_url).exit_code == 0
    again = tmp_path / "again.csv"
    again.write_text("key,category\nr2,enquiry\nr3,order\nr1,order\n", encoding="utf-8")

    refused = invoke("db", "import", again, "--db", db_url)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[0] == (
        f"keepfor: error: {again}: line 2, field 'key': 'r2' is already in the store at "
        f"{safe_url(db_url)} (give --replace to update it)"
    )
    assert refused.stderr.splitlines()[-1] == (
        f"keepfor: error: {again}: 2 bad rows; nothing was imported"
    )

    run = invoke("db", "import", again, "--db", db_url, "--replace")
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == f"imported 3 records into {safe_url(db_url)}: 1 inserted, 2 replaced\n"
    assert record_count(db_url) == 3
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            fields = conn.execute(sa.text("SELECT COUNT(*) FROM keepfor_record_fields"))
            assert fields.scalar_one() == 0  # the notes are gone with the rows that had them
    finally:
        engine.dispose()


def test_replace_with_a_bad_row_changes_nothing(db_url: str, tmp_path: Path) -> None:
    assert invoke("db", "init", "--db", db_url).exit_code == 0
    first = tmp_path / "first.csv"
    first.write_text("key,category\nr1,order\n", encoding="utf-8")
    assert invoke("db", "import", first, "--db", db_url).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("key,category,at\nr1,enquiry,\nr2,order,05/01/2015\n", encoding="utf-8")
    run = invoke("db", "import", bad, "--db", db_url, "--replace")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 2
    assert "line 3, field 'at': '05/01/2015' is not an ISO 8601 date" in run.stderr
    assert record_count(db_url) == 1


# -- values that used to crash the importer ---------------------------------------------------

HOSTILE = [
    (
        "overflow.csv",
        b"key,category,at\nr1,order,9999-12-31T23:59:59-14:00\n",
        "line 2, field 'at': '9999-12-31T23:59:59-14:00' is outside the instants the store "
        "can keep",
    ),
    (
        "deep.jsonl",
        b'{"key": "r1", "category": "o", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        "line 1: not a record: the JSON is nested too deeply",
    ),
    (
        "surrogate.jsonl",
        b'{"key": "r1", "category": "o", "x": "\\ud800"}\n',
        "line 1, field 'x': '\ufffd' is not UTF-8 text (U+D800 at character 1)",
    ),
    (
        "latin1.csv",
        b"key,category,name\nr1,order,Ren\xe9\n",
        "line 2, field 'name': 'Ren\ufffd' is not UTF-8 text (byte 0xE9 at character 4)",
    ),
    (
        "nul.csv",
        b"key,category,name\nr1,order,a\x00b\n",
        "line 2, field 'name': 'a\\x00b' contains a NUL character, which the store cannot keep",
    ),
    (
        "huge.jsonl",
        b'{"key": "r1", "category": "o", "n": ' + b"9" * 5000 + b"}\n",
        "line 1, field 'n': a number of 5000 digits is too large to keep exactly",
    ),
    (
        "longkey.csv",
        b"key,category\n" + b"k" * 300 + b",order\n",
        "line 2, field 'key': key '" + "k" * 80 + "'... (300 characters) is longer than 255",
    ),
]


@pytest.mark.parametrize(("name", "content", "fragment"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_installed_script_refuses_hostile_values_in_one_line_each(
    tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert run_keepfor("db", "init", "--db", url).exit_code == 0
    path = tmp_path / name
    path.write_bytes(content)
    run = run_keepfor("db", "import", path, "--db", url)
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    first, last = run.stderr.splitlines()
    assert first.startswith(f"keepfor: error: {path}: {fragment}")
    assert len(first) < 300 + len(str(path))
    assert last == f"keepfor: error: {path}: 1 bad row; nothing was imported"
    assert record_count(url) == 0


# -- the hint to run `keepfor db init` ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("sqlite:///keepfor.db", "run `keepfor db init --db sqlite:///keepfor.db`"),
        ("sqlite:////tmp/a b/k.db", "run `keepfor db init --db 'sqlite:////tmp/a b/k.db'`"),
        (
            "postgresql+psycopg://keepfor@db.example:5432/shop?sslmode=require",
            "run `keepfor db init --db "
            "'postgresql+psycopg://keepfor@db.example:5432/shop?sslmode=require'`",
        ),
        (
            "mysql+pymysql://root@127.0.0.1/test",
            "run `keepfor db init --db mysql+pymysql://root@127.0.0.1/test`",
        ),
        (
            "postgresql+psycopg://keepfor:s3cret@db.example/shop",
            "run `keepfor db init` with this database's URL (its password is not shown here)",
        ),
        (
            "postgresql+psycopg://keepfor:@db.example/shop",
            "run `keepfor db init` with this database's URL (its password is not shown here)",
        ),
    ],
)
def test_the_init_hint_can_be_run_as_written(url: str, hint: str) -> None:
    assert init_hint(make_url(url)) == hint
    assert "***" not in hint
    assert "s3cret" not in hint


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://keepfor@db.example/shop?sslpassword=s3cret",
        "postgresql+psycopg://keepfor@db.example/shop?sslmode=require&api_key=s3cret",
        "mysql+pymysql://root@127.0.0.1/test?password=s3cret",
    ],
)
def test_the_init_hint_never_shows_what_messages_hide(url: str) -> None:
    """Whatever :func:`safe_url` hides (a password, a secret query parameter) the hint
    does not show either; a URL it shows whole is shown whole."""
    hint = init_hint(make_url(url))
    if "s3cret" in safe_url(url):
        assert hint == f"run `keepfor db init --db '{url}'`"
    else:
        assert hint == (
            "run `keepfor db init` with this database's URL (its secrets are not shown here)"
        )


def test_the_init_hint_runs_in_a_shell(tmp_path: Path) -> None:
    folder = tmp_path / "my store"
    folder.mkdir()
    url = f"sqlite:///{folder / 'k.db'}"
    records = tmp_path / "one.jsonl"
    records.write_text('{"key": "r1", "category": "order"}\n', encoding="utf-8")
    line = assert_bad_input(run_keepfor("db", "import", records, "--db", url), "no keepfor store")
    command = re.search(r"run `([^`]+)`", line)
    assert command is not None
    env = {**os.environ, "PATH": f"{KEEPFOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["sh", "-c", command.group(1)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert run_keepfor("db", "import", records, "--db", url).exit_code == 0


def test_the_init_hint_for_a_url_with_a_password(db_url: str, tmp_path: Path) -> None:
    """On a server that trusts local connections the password is not checked."""
    if not db_url.startswith("postgresql"):
        pytest.skip("needs a PostgreSQL server that trusts local connections")
    url = make_url(db_url).set(password="s3cret").render_as_string(hide_password=False)
    records = tmp_path / "one.jsonl"
    records.write_text('{"key": "r1", "category": "order"}\n', encoding="utf-8")
    line = assert_bad_input(invoke("db", "import", records, "--db", url), "is not a keepfor store")
    assert line.endswith(
        "run `keepfor db init` with this database's URL (its password is not shown here)"
    )
    assert "s3cret" not in line


# -- keepfor's tables for acting and auditing ----------------------------------------------

ACTING = {
    "keepfor_audit",
    "keepfor_audit_batch",
    "keepfor_audit_head",
    "keepfor_acted",
    "keepfor_review",
    "keepfor_holds",
}
"""What a sweep, a review and a hold need, besides the store's own tables."""

CRASHING = Path(__file__).resolve().parents[1] / "actions" / "crashing.py"


def schema(url: str) -> dict[str, object]:
    """keepfor's tables, their columns and indexes, and what the trail's tables hold."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            names = sorted(n for n in inspector.get_table_names() if n.startswith("keepfor_"))
            out: dict[str, object] = {
                name: (
                    [c["name"] for c in inspector.get_columns(name)],
                    sorted(str(i["name"]) for i in inspector.get_indexes(name)),
                )
                for name in names
            }
            for name in sorted(ACTING & set(names)):
                rows = conn.execute(sa.text(f"SELECT * FROM {name}")).all()
                out[f"{name} rows"] = sorted(tuple(map(str, row)) for row in rows)
            return out
    finally:
        engine.dispose()


def test_init_makes_the_tables_for_acting_and_auditing_once(db_url: str) -> None:
    """All of them, so a fresh database has a trail that verifies; a second run changes
    nothing and says so."""
    assert invoke("db", "init", "--db", db_url).exit_code == 0
    made = schema(db_url)
    assert set(made) >= ACTING
    assert "keepfor_runs" in made  # the daemon's: it may run as a user who may not create tables
    assert made["keepfor_audit_head rows"] == [("1", "0", "0" * 64, "None")]  # no seal yet
    again = invoke("db", "init", "--db", db_url)
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == f"{safe_url(db_url)} is up to date at revision 0002\n"
    assert schema(db_url) == made
    verify = invoke("audit", "verify", "--db", db_url)
    assert (verify.exit_code, verify.stderr) == (0, "")
    assert verify.stdout == f"0 entries, intact (head {'0' * 64})\n"


def test_init_makes_what_an_older_store_lacks_and_keeps_the_trail(db_url: str) -> None:
    """A store made before these tables were, with a trail a sweep has written: init
    makes the missing tables, names them, and leaves the trail as it was."""
    from keepfor.audit import ensure
    from tests.audit.conftest import appended

    assert invoke("db", "init", "--db", db_url).exit_code == 0
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            for name in sorted(ACTING):
                conn.execute(sa.text(f"DROP TABLE {name}"))
        with engine.begin() as conn:
            ensure(conn)
        appended(engine, 4, 3)
    finally:
        engine.dispose()
    run = invoke("db", "init", "--db", db_url)
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == (
        f"{safe_url(db_url)} is up to date at revision 0002\n"
        "created keepfor_acted, keepfor_review, keepfor_holds\n"
    )
    assert set(schema(db_url)) >= ACTING
    verify = invoke("audit", "verify", "--db", db_url)
    assert (verify.exit_code, verify.stdout[:20]) == (0, "7 entries, intact (h")


@pytest.mark.parametrize(("what", "n"), [("CREATE", 4), ("CREATE", 14), ("COMMIT", 1)])
def test_an_init_that_dies_leaves_nothing_where_ddl_is_transactional(
    db_url: str, tmp_path: Path, what: str, n: int
) -> None:
    """Killed in the trail's tables, in the store's, or just before its commit: no table
    at all (no trail that ``audit verify`` would call broken, no store that ``db init``
    could not finish), and the next init makes everything."""
    if db_url.startswith("mysql"):
        pytest.skip("MariaDB commits each CREATE TABLE on its own")
    done = subprocess.run(
        [sys.executable, str(CRASHING), what, str(n), "db", "init", "--db", db_url],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 9, (done.returncode, done.stderr)
    assert schema(db_url) == {}
    assert invoke("db", "init", "--db", db_url).stdout.startswith("created the keepfor store")
    assert set(schema(db_url)) >= ACTING
