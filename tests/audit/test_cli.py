"""``keepfor audit verify`` and ``keepfor audit export`` on every backend."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.audit import append, ensure
from keepfor.audit.entry import FIELD_NAMES, AuditEntry
from keepfor.audit.table import audit
from keepfor.cli import audit_export
from keepfor.database import create_engine
from tests.audit.conftest import AT, appended, pending
from tests.cli.conftest import assert_bad_input, invoke, run_keepfor


@pytest.fixture
def trail(engine: sa.Engine) -> list[AuditEntry]:
    return appended(engine, 4, 3)


def _config(tmp_path: Path, **urls: str) -> Path:
    path = tmp_path / "keepfor.toml"
    path.write_text("".join(f'[sources.{n}]\nurl = "{u}"\n' for n, u in urls.items()))
    return path


def test_verify_an_intact_trail(db_url: str, trail: list[AuditEntry]) -> None:
    run = invoke("audit", "verify", "--db", db_url)
    assert run.exit_code == 0
    assert run.stdout.startswith("7 entries, intact (head ")
    assert run.stderr == (  # appended without the key: see test_seal.py
        "keepfor: note: the head is unsealed (written before keepfor sealed heads, or "
        "without the audit key): its seal was not checked\n"
    )


def test_verify_names_the_first_bad_entry(
    db_url: str, engine: sa.Engine, trail: list[AuditEntry]
) -> None:
    with engine.begin() as conn:
        conn.execute(audit.update().where(audit.c.sequence == 3).values(outcome="skipped"))
        conn.execute(audit.delete().where(audit.c.sequence == 6))
    run = invoke("audit", "verify", "--db", db_url)
    assert run.exit_code == 1
    assert run.stdout == "NOT INTACT: entry 3 was changed (it does not match its hash)\n"


def test_verify_through_a_config(tmp_path: Path, db_url: str, trail: list[AuditEntry]) -> None:
    config = _config(tmp_path, orders=db_url, customers=db_url)
    run = invoke("audit", "verify", "--config", config, "--source", "orders")
    assert run.exit_code == 0, run
    assert run.stdout.startswith("source 'orders': 7 entries, intact")
    both = invoke("audit", "verify", "--config", config)
    assert both.stdout.startswith("sources 'orders', 'customers': 7 entries, intact")


def test_export_csv_and_json(db_url: str, trail: list[AuditEntry]) -> None:
    run = invoke("audit", "export", "--db", db_url, "--from", "2026-11-22", "--to", "2026-11-22")
    assert run.exit_code == 0, run
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [int(r["sequence"]) for r in rows] == list(range(1, 8))
    assert list(rows[0]) == [*FIELD_NAMES, "restorable_until"]
    assert rows[2] == {**{k: str(v) for k, v in trail[2].as_dict().items()}, "restorable_until": ""}
    run = invoke(
        "audit",
        "export",
        "--db",
        db_url,
        "--format",
        "json",
        "--from",
        "2026-11-22T09:00:01Z",
        "--to",
        "2026-11-22T09:00:02Z",
    )
    assert run.exit_code == 0, run
    data = run.json()
    assert data["count"] == 2
    assert [e["sequence"] for e in data["entries"]] == [2, 6]
    assert data["entries"][0] == trail[1].as_dict()
    assert data["from"] == "2026-11-22T09:00:01.000000Z"
    assert len(data["head"]) == 64


def test_export_of_an_empty_period(db_url: str, trail: list[AuditEntry]) -> None:
    run = invoke("audit", "export", "--db", db_url, "--from", "2027-01-01", "--format", "json")
    assert run.exit_code == 0, run
    assert run.json()["entries"] == []
    assert run.json()["count"] == 0


def test_export_to_a_file(tmp_path: Path, db_url: str, trail: list[AuditEntry]) -> None:
    out = tmp_path / "certificate.csv"
    run = invoke("audit", "export", "--db", db_url, "--output", out)
    assert (run.exit_code, run.stdout) == (0, "")
    assert len(out.read_text().splitlines()) == 8


def test_a_database_without_a_trail(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # a database with a table, but no trail
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    assert_bad_input(invoke("audit", "verify", "--db", db_url), "no audit trail")
    for fmt in ("csv", "json"):
        run = invoke("audit", "export", "--db", db_url, "--format", fmt)
        assert_bad_input(run, "no audit trail")  # and nothing on stdout: not even a header


def test_a_failed_export_writes_nothing_to_standard_output(tmp_path: Path) -> None:
    """The installed script, whose standard output is a real pipe: empty on an error."""
    url = f"sqlite:///{tmp_path / 's0.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    for fmt in ("csv", "json"):
        assert_bad_input(
            run_keepfor("audit", "export", "--db", url, "--format", fmt), "no audit trail"
        )


def test_an_entry_that_cannot_be_read_part_way_writes_nothing(
    tmp_path: Path, db_url: str, engine: sa.Engine, trail: list[AuditEntry]
) -> None:
    with engine.begin() as conn:  # entries 1..4 read fine, then entry 5 does not
        conn.execute(audit.update().where(audit.c.sequence == 5).values(record="not-a-name"))
    folder = tmp_path / "out"
    folder.mkdir()
    for fmt in ("csv", "json"):
        run = invoke("audit", "export", "--db", db_url, "--format", fmt)
        assert_bad_input(run, "audit entry 5 is not a valid entry")
        out = folder / f"certificate.{fmt}"
        run = invoke("audit", "export", "--db", db_url, "--format", fmt, "--output", out)
        assert_bad_input(run, "audit entry 5")
        assert list(folder.iterdir()) == [], "no file, not even a temporary one"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((), ("--db URL", "--config F")),
        (("--source", "x"), ("--source NAME needs --config F",)),
        (("--db", "sqlite:///nowhere/none.db"), ("no such database file",)),
        (("--db", "nonsense"), ("is not a database URL",)),
        (("--db", "postgresql+psycopg://u@127.0.0.1:1/x"), ("127.0.0.1",)),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_bad_input(invoke("audit", "verify", *args), *fragments)


def test_bad_export_options(tmp_path: Path, write_db: Callable[[], str]) -> None:
    url = write_db()
    assert_bad_input(invoke("audit", "export", "--db", url, "--from", "22/11/2026"), "--from")
    no_day = invoke("audit", "export", "--db", url, "--from", "2026-02-30")
    assert_bad_input(no_day, "--from '2026-02-30' is not a calendar date")
    assert_bad_input(invoke("audit", "export", "--db", url, "--to", "9999-12-31"), "no day follows")
    assert_bad_input(
        invoke("audit", "export", "--db", url, "--from", "2026-11-23", "--to", "2026-11-22"),
        "is not before",
    )
    assert_bad_input(invoke("audit", "export", "--db", url, "--to", "2026-11-22T10:00"), "offset")
    config = _config(tmp_path, orders=url)
    assert_bad_input(
        invoke("audit", "export", "--config", config, "--source", "order"),
        "no source 'order'",
        "did you mean 'orders'",
    )


@pytest.fixture
def write_db(tmp_path: Path) -> Callable[[], str]:
    """A SQLite database with an empty trail."""

    def make() -> str:
        from keepfor.audit import ensure
        from keepfor.database import create_engine

        url = f"sqlite:///{tmp_path / 'audit.db'}"
        engine = create_engine(url)
        with engine.begin() as conn:
            ensure(conn)
        engine.dispose()
        return url

    return make


def test_the_installed_script_exits_1_on_a_tampered_trail(
    tmp_path: Path, write_db: Callable[[], str]
) -> None:
    url = write_db()
    engine = sa.create_engine(url)
    appended(engine, 2)
    with engine.begin() as conn:
        conn.execute(audit.update().where(audit.c.sequence == 2).values(hash="0" * 64))
    engine.dispose()
    run = run_keepfor("audit", "verify", "--db", url)
    assert run.exit_code == 1, run
    assert "entry 2 was changed" in run.stdout
    assert "Traceback" not in run.stderr


def _other_trail(tmp_path: Path) -> tuple[str, list[AuditEntry]]:
    """A second SQLite database whose trail holds two archives of the source ``shop``, a
    day after the first database's entries."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        ensure(conn)
    with engine.begin() as conn:
        done = append(conn, pending(2, source="shop", action="archive", at=AT + timedelta(1)))
    engine.dispose()
    return url, done


def test_export_every_database_of_a_config_as_csv(
    tmp_path: Path, db_url: str, trail: list[AuditEntry]
) -> None:
    shop, archived = _other_trail(tmp_path)
    config = _config(tmp_path, orders=db_url, shop=shop, customers=db_url)
    run = invoke("audit", "export", "--config", config)
    assert run.exit_code == 0, run
    assert run.stdout.count("sequence,") == 1, "one header"
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [(r["source"], int(r["sequence"])) for r in rows] == [
        *(("orders", n) for n in range(1, 8)),  # the database of orders and customers, once
        ("shop", 1),
        ("shop", 2),
    ]
    assert rows[7]["restorable_until"] == "2027-02-21"
    assert rows[8]["hash"] == archived[1].hash
    day = invoke("audit", "export", "--config", config, "--from", "2026-11-23")
    assert [r["source"] for r in csv.DictReader(io.StringIO(day.stdout))] == ["shop", "shop"]
    first = invoke("audit", "export", "--config", config, "--to", "2026-11-22")
    assert len(first.stdout.splitlines()) == 8, "the filter applies to every database"


def test_export_every_database_of_a_config_as_json(
    tmp_path: Path, db_url: str, trail: list[AuditEntry]
) -> None:
    shop, archived = _other_trail(tmp_path)
    config = _config(tmp_path, shop=shop, orders=db_url, customers=db_url)
    run = invoke("audit", "export", "--config", config, "--format", "json")
    assert run.exit_code == 0, run
    data = run.json()
    assert list(data) == ["from", "to", "head", "entries", "count", "disposed", "databases"]
    assert data["head"] is None, "each database has its own head"
    assert [e["source"] for e in data["entries"]] == ["shop"] * 2 + ["orders"] * 7
    assert data["entries"][0] == {**archived[0].as_dict(), "restorable_until": "2027-02-21"}
    assert data["count"] == 9
    assert data["disposed"]["purge"]["count"] == 7
    assert data["disposed"]["archive"]["count"] == 2
    heads = [d.pop("head") for d in data["databases"]]
    assert data["databases"] == [
        {"sources": ["shop"], "count": 2},
        {"sources": ["orders", "customers"], "count": 7},
    ]
    one = invoke("audit", "export", "--db", db_url, "--format", "json").json()
    assert heads[1] == one["head"]
    assert all(len(h) == 64 for h in heads)
    late = invoke("audit", "export", "--config", config, "--format", "json", "--from", "2026-11-23")
    assert [d["count"] for d in late.json()["databases"]] == [2, 0]


def test_one_database_of_a_config_is_exported_as_before(
    tmp_path: Path, db_url: str, trail: list[AuditEntry]
) -> None:
    config = _config(tmp_path, orders=db_url, customers=db_url)
    for fmt in ("csv", "json"):
        alone = invoke("audit", "export", "--db", db_url, "--format", fmt)
        assert invoke("audit", "export", "--config", config, "--format", fmt) == alone
    data = alone.json()
    assert list(data) == ["from", "to", "head", "entries", "count", "disposed"]
    assert alone.stdout.startswith(f'{{"from": null, "to": null, "head": "{data["head"]}", ')
    assert alone.stdout.endswith('"archive": {"count": 0, "permanent": false}}}\n')


def test_a_database_that_fails_writes_nothing_of_the_others(
    tmp_path: Path, db_url: str, trail: list[AuditEntry]
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = sa.create_engine(empty)
    with engine.begin() as conn:  # a database, but no trail in it
        conn.execute(sa.text("CREATE TABLE shop (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    config = _config(tmp_path, orders=db_url, shop=empty)
    for fmt in ("csv", "json"):
        run = invoke("audit", "export", "--config", config, "--format", fmt)
        assert_bad_input(run, "no audit trail")
    gone = _config(tmp_path, orders=db_url, shop=f"sqlite:///{tmp_path / 'gone.db'}")
    assert_bad_input(invoke("audit", "export", "--config", gone), "no such database file")


def test_a_large_export_spills_to_a_temporary_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, write_db: Callable[[], str]
) -> None:
    url = write_db()
    engine = sa.create_engine(url)
    appended(engine, 30)
    engine.dispose()
    whole = invoke("audit", "export", "--db", url, "--format", "json")
    monkeypatch.setattr(audit_export, "SPOOL_BYTES", 100)
    assert invoke("audit", "export", "--db", url, "--format", "json") == whole
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    assert_bad_input(
        invoke("audit", "export", "--db", url), "cannot hold the export until it is whole"
    )
