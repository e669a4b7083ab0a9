"""``keepfor report``: a dry run over a real table, every bad input one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.cli.conftest import KEEPFOR, assert_bad_input, invoke, run_keepfor
from tests.conftest import SERVERS, _in_ci
from tests.report import DUE, PACK_YAML, TABLE, load

AT = "2026-01-15T12:00:00Z"
EXPECTED_CSV = ["key,rule,disposal_date,action", *sorted(",".join(row) for row in DUE)]


def csv_lines(text: str) -> list[str]:
    """The first four columns (key, rule, disposal date, action) of the header, then of
    the rows sorted (the database picks their order; the source's name is elsewhere)."""
    lines = [",".join(row[:4]) for row in csv.reader(io.StringIO(text))]
    return lines[:1] + sorted(lines[1:])


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(PACK_YAML, encoding="utf-8")
    return path


@pytest.fixture
def records(db_url: str) -> str:
    """``db_url`` with the hand-worked records of :mod:`tests.report` in it."""
    load(db_url)
    return db_url


@pytest.fixture
def sqlite_records(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    load(url)
    return url


@pytest.fixture
def config(tmp_path: Path) -> Callable[[str], Path]:
    def _config(text: str) -> Path:
        path = tmp_path / "keepfor.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return _config


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for --output files."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def report(*args: object) -> list[object]:
    return ["report", "--at", AT, *args]


# -- the same report, two ways ---------------------------------------------------------


def test_db_and_config_give_the_same_csv(
    records: str,
    pack: Path,
    config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    by_db = invoke(
        *report("--rules", pack, "--db", records, "--table", TABLE, "--key", "key"),
        "--format",
        "csv",
    )
    assert by_db.exit_code == 0, by_db.stderr
    assert by_db.stderr == ""
    assert csv_lines(by_db.stdout) == EXPECTED_CSV

    monkeypatch.setenv("KEEPFOR_TEST_REPORT_URL", records)
    path = config(
        f'[sources.shop]\nurl = "${{KEEPFOR_TEST_REPORT_URL}}"\ntable = "{TABLE}"\nkey = "key"\n'
    )
    by_config = invoke(*report("--rules", pack, "--config", path, "--format", "csv"))
    assert by_config.exit_code == 0, by_config.stderr
    assert by_config.stderr == ""
    assert csv_lines(by_config.stdout) == csv_lines(by_db.stdout)


def test_a_config_maps_renamed_columns(
    records: str, pack: Path, config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    load(records, "kf_report_renamed", category="kind", placed_at="ordered_on", key="ref")
    monkeypatch.setenv("KEEPFOR_TEST_REPORT_URL", records)
    path = config(
        '[sources.legacy]\nurl = "${KEEPFOR_TEST_REPORT_URL}"\ntable = "kf_report_renamed"\n'
        'key = "ref"\ncategory_column = "kind"\n'
        '[sources.legacy.fields]\nplaced_at = "ordered_on"\n'
    )
    run = invoke(*report("--rules", pack, "--config", path, "--format", "csv"))
    assert run.exit_code == 0, run.stderr
    assert csv_lines(run.stdout) == EXPECTED_CSV


def test_sources_of_a_config_and_source(
    sqlite_records: str, pack: Path, config: Callable[[str], Path], tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    load(f"sqlite:///{other}")
    # relative paths are read from the config file's folder
    path = config(
        f'[sources.a]\nurl = "sqlite:///records.db"\ntable = "{TABLE}"\nkey = "key"\n'
        f'[sources.b]\nurl = "sqlite:///other.db"\ntable = "{TABLE}"\nkey = "key"\n'
    )
    both = invoke(*report("--rules", pack, "--config", path, "--format", "json")).json()
    assert sorted(d["source"] for d in both["due"]) == ["a"] * 4 + ["b"] * 4
    assert [s["source"] for s in both["sources"]] == ["a", "b"]
    assert both["counts"]["total"] == sum(s["counts"]["total"] for s in both["sources"])
    only_b = invoke(*report("--rules", pack, "--config", path, "--source", "b", "--format", "json"))
    assert only_b.exit_code == 0, only_b.stderr
    assert {d["source"] for d in only_b.json()["due"]} == {"b"}


# -- formats and output ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_each_format(sqlite_records: str, pack: Path, fmt: str) -> None:
    run = invoke(
        *report("--rules", pack, "--db", sqlite_records, "--table", TABLE, "--key", "key"),
        "--format",
        fmt,
    )
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    text = run.stdout
    if fmt == "csv":
        assert csv_lines(text) == EXPECTED_CSV
    elif fmt == "json":
        data = json.loads(text)
        assert len(data["due"]) == len(DUE)
        assert len(data["by_month"]) == 24
    elif fmt == "html":
        assert text.startswith("<!doctype html>")
        assert text.count("<svg") == 1
        assert text.count("<rect") == 24
        assert "<script" not in text
    else:
        assert "Due by rule and action" in text
        assert "Forecast" in text
        for key, *_ in DUE:
            assert key in text


def test_the_default_format_is_the_table(sqlite_records: str, pack: Path) -> None:
    run = invoke(*report("--rules", pack, "--db", sqlite_records, "--table", TABLE))
    assert run.exit_code == 0, run.stderr
    assert "Due by rule and action" in run.stdout


@pytest.mark.parametrize("fmt", ["csv", "html"])
def test_output_writes_the_file(sqlite_records: str, pack: Path, out_dir: Path, fmt: str) -> None:
    target = out_dir / f"report.{fmt}"
    args = report("--rules", pack, "--db", sqlite_records, "--table", TABLE, "--key", "key")
    run = invoke(*args, "--format", fmt, "--output", target)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert list(out_dir.iterdir()) == [target]  # no temporary file left behind
    mode = stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode != 0o600
    assert mode == 0o666 & ~umask
    # the same as standard output
    printed = invoke(*args, "--format", fmt)
    assert target.read_text(encoding="utf-8") == printed.stdout


def test_output_replaces_an_old_file_whole(sqlite_records: str, pack: Path, out_dir: Path) -> None:
    target = out_dir / "report.csv"
    target.write_text("old\n" * 10_000, encoding="utf-8")
    run = invoke(
        *report("--rules", pack, "--db", sqlite_records, "--table", TABLE, "--key", "key"),
        "--format",
        "csv",
        "--output",
        target,
    )
    assert run.exit_code == 0, run.stderr
    assert csv_lines(target.read_text(encoding="utf-8")) == EXPECTED_CSV
    assert list(out_dir.iterdir()) == [target]


def test_output_into_a_missing_folder(sqlite_records: str, pack: Path, tmp_path: Path) -> None:
    run = invoke(
        *report("--rules", pack, "--db", sqlite_records, "--table", TABLE),
        "--output",
        tmp_path / "nope" / "r.csv",
    )
    assert_bad_input(run, "--output", "nope")
    assert not (tmp_path / "nope").exists()


def test_show_query(sqlite_records: str, pack: Path, out_dir: Path) -> None:
    run = invoke(
        *report("--rules", pack, "--db", sqlite_records, "--table", TABLE, "--key", "key"),
        "--show-query",
        "--output",
        out_dir / "r.csv",
    )
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"-- {TABLE}"
    query = " ".join(lines[1:])
    assert query.startswith("SELECT")
    assert query.endswith(";")
    assert f"FROM {TABLE}" in query
    assert "WHERE" in query
    # the cutoffs are literals: orders placed by 2025-01-14 are due on 2026-01-15
    assert "2025-01-14" in query
    assert list(out_dir.iterdir()) == []  # nothing written


def test_piped_there_is_no_progress_bar(sqlite_records: str, pack: Path) -> None:
    run = run_keepfor(
        *report("--rules", pack, "--db", sqlite_records, "--table", TABLE, "--key", "key"),
        "--format",
        "csv",
    )
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert csv_lines(run.stdout) == EXPECTED_CSV


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_stdout_stays_clean(sqlite_records: str, pack: Path) -> None:
    """A progress bar goes to stderr, when it is a terminal; stdout is only the report."""
    import pty

    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [
                str(KEEPFOR),
                *map(str, report("--rules", pack, "--db", sqlite_records, "--table", TABLE)),
                "--key",
                "key",
                "--format",
                "csv",
            ],
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=120,
            check=False,
        )
    finally:
        os.close(secondary)
        os.close(primary)
    assert done.returncode == 0
    assert csv_lines(done.stdout.decode()) == EXPECTED_CSV


# -- bad input: one line, exit 2, nothing written --------------------------------------


def test_bad_arguments(
    sqlite_records: str, pack: Path, config: Callable[[str], Path], out_dir: Path
) -> None:
    good = config(f'[sources.shop]\nurl = "{sqlite_records}"\ntable = "{TABLE}"\n')
    out = ["--format", "csv", "--output", out_dir / "r.csv"]
    cases: list[tuple[list[object], tuple[str, ...]]] = [
        (["--config", good, "--db", sqlite_records, "--table", TABLE], ("--config", "--db")),
        # --db alone is keepfor's own store, which a user's database is not
        (["--db", sqlite_records], (sqlite_records, "keepfor db init")),
        (["--db", sqlite_records, "--key", "key"], ("--key", "--table")),
        (["--table", TABLE], ("--table", "--db")),
        (["--key", "key", "--config", good], ("--key", "--db")),
        ([], ("--config", "--db")),
        (["--config", good, "--source", "nope"], (str(good), "nope", "shop")),
        (["--db", sqlite_records, "--table", "kf_report_record"], ("kf_report_record", TABLE)),
        (["--db", sqlite_records, "--table", TABLE, "--key", "ident"], ("ident",)),
        (["--db", "not a url", "--table", TABLE], ("not a url",)),
        (["--db", "nosuchdb://h/x", "--table", TABLE], ("nosuchdb",)),
        (["--db", "mysql+mysqldb://u:s3cret@h/x", "--table", TABLE], ("MySQLdb",)),
        (["--config", out_dir / "missing.toml"], ("missing.toml",)),
    ]
    for args, fragments in cases:
        run = invoke(*report("--rules", pack, *args, *out))
        line = assert_bad_input(run, *fragments)
        assert "s3cret" not in line
        assert list(out_dir.iterdir()) == [], args


def test_a_malformed_config(
    sqlite_records: str, pack: Path, config: Callable[[str], Path], out_dir: Path
) -> None:
    for text, fragments in [
        ("[sources.shop\n", ("not valid TOML",)),
        ('[sources.shop]\nurl = "sqlite:///x.db"\ntabel = "t"\n', ("'tabel'", "'table'")),
        (f'[sources.shop]\nurl = "{sqlite_records}"\ntable = "nope"\n', ("'nope'",)),
    ]:
        path = config(text)
        run = invoke(*report("--rules", pack, "--config", path, "--output", out_dir / "r.csv"))
        assert_bad_input(run, str(path), *fragments)
        assert list(out_dir.iterdir()) == []


def test_a_missing_column_names_the_rule_and_field(records: str, pack: Path, out_dir: Path) -> None:
    load(records, "kf_report_bad", placed_at="ordered_on")
    run = invoke(
        *report("--rules", pack, "--db", records, "--table", "kf_report_bad", "--key", "key"),
        "--output",
        out_dir / "r.html",
        "--format",
        "html",
    )
    assert_bad_input(run, "kf_report_bad", "rule 'orders'", "placed_at")
    assert list(out_dir.iterdir()) == []


def test_a_sqlite_file_that_does_not_exist(pack: Path, tmp_path: Path, out_dir: Path) -> None:
    missing = tmp_path / "nope.db"
    run = run_keepfor(
        *report("--rules", pack, "--db", f"sqlite:///{missing}", "--table", TABLE),
        "--output",
        out_dir / "r.csv",
    )
    assert_bad_input(run, str(missing))
    assert not missing.exists()
    assert list(out_dir.iterdir()) == []


def test_a_bad_url_in_a_subprocess(pack: Path, out_dir: Path) -> None:
    run = run_keepfor(
        *report("--rules", pack, "--db", "postgresql+psycopg://u:s3cret@h:port/x"),
        "--table",
        TABLE,
        "--output",
        out_dir / "r.csv",
    )
    line = assert_bad_input(run)
    assert "s3cret" not in line
    assert list(out_dir.iterdir()) == []


# -- a database that dies --------------------------------------------------------------


@pytest.fixture
def postgres_url() -> str:
    base = os.environ.get(SERVERS["postgresql"])
    if not base:
        message = f"set {SERVERS['postgresql']} to run the dead-database tests"
        if _in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return base


def _through(url: str, port: int, password: str | None = None) -> str:
    parsed = make_url(url).set(host="127.0.0.1", port=port)
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def test_a_dead_database(postgres_url: str, pack: Path, out_dir: Path) -> None:
    from tests.proxy import Proxy

    target = make_url(postgres_url)
    with Proxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        url = _through(postgres_url, proxy.port, password="s3cret")
        proxy.stop()  # the database is down before the report starts
        run = run_keepfor(
            *report("--rules", pack, "--db", url, "--table", TABLE, "--format", "csv"),
            "--output",
            out_dir / "r.csv",
        )
    line = assert_bad_input(run, f"127.0.0.1:{proxy.port}", "***")
    assert "s3cret" not in line
    assert proxy.connections == 0
    assert list(out_dir.iterdir()) == []


@pytest.fixture
def big_postgres_table(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """60,000 due orders in this session's PostgreSQL test database."""
    urls: dict[str, str] = request.getfixturevalue("server_databases")
    url = urls["postgresql"]
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    sa.Table(
        "kf_report_big",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(16)),
        sa.Column("placed_at", sa.Date),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO kf_report_big (id, category, placed_at) "
                    "SELECT i, 'order', DATE '2020-01-01' + (i % 1000) "
                    "FROM generate_series(1, 60000) AS i"
                )
            )
        yield url
    finally:
        meta.drop_all(engine)
        engine.dispose()


def test_a_database_that_dies_mid_stream(
    big_postgres_table: str, pack: Path, out_dir: Path
) -> None:
    from tests.proxy import Proxy

    target = make_url(big_postgres_table)
    address = (target.host or "127.0.0.1", target.port or 5432)
    args = ["--table", "kf_report_big", "--format", "csv", "--output", out_dir / "r.csv"]
    # how many bytes connecting, reflecting and checking take, before any row comes
    with Proxy(address) as proxy:
        url = _through(big_postgres_table, proxy.port)
        shown = run_keepfor(*report("--rules", pack, "--db", url, *args, "--show-query"))
        assert shown.exit_code == 0, shown.stderr
        before_rows = proxy.received
    with Proxy(address, cut_after=before_rows + 200_000) as proxy:
        url = _through(big_postgres_table, proxy.port)
        run = run_keepfor(*report("--rules", pack, "--db", url, *args))
        assert proxy.stopped.is_set()  # it died mid-way, by itself
    assert_bad_input(run, f"127.0.0.1:{proxy.port}")
    # the report was half-written to a temporary file, which is gone: no file at all
    assert list(out_dir.iterdir()) == []
    # and through a live database the same report is whole
    with Proxy(address) as proxy:
        url = _through(big_postgres_table, proxy.port)
        whole = run_keepfor(*report("--rules", pack, "--db", url, *args))
    assert whole.exit_code == 0, whole.stderr
    assert len((out_dir / "r.csv").read_text(encoding="utf-8").splitlines()) == 60_001
