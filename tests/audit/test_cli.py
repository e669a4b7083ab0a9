"""``keepfor audit verify`` and ``keepfor audit export`` on every backend."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.audit.entry import FIELD_NAMES, AuditEntry
from keepfor.audit.table import audit
from tests.audit.conftest import appended
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
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout.startswith("7 entries, intact (head ")


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
    other = _config(tmp_path, orders=url, shop=f"sqlite:///{tmp_path / 'other.db'}")
    assert_bad_input(invoke("audit", "export", "--config", other), "export one at a time")


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
