"""URLs in messages never show a secret; URLs keepfor cannot use get a hint; ``${VAR}``
values are encoded for the part of the URL they stand in; two processes making keepfor's
tables at once both succeed."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor import database
from keepfor.database import expand_url, parse_url, safe_url
from keepfor.errors import SourceError, UsageError


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql+psycopg://u@h/db?password=secret", "postgresql+psycopg://u@h/db?password=***"),
        (
            "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=s1&application_name=kf",
            "postgresql+psycopg://u@h/db?application_name=kf&sslmode=require&sslpassword=***",
        ),
        ("mysql+pymysql://u@h/db?passwd=s1&charset=utf8mb4", "mysql+pymysql://u@h/db?charset=utf8mb4&passwd=***"),
        ("postgresql+psycopg://h/db?PWD=s1&api_key=s2&token=s3", "postgresql+psycopg://h/db?PWD=***&api_key=***&token=***"),
        ("postgresql+psycopg://h/db?client_secret=s1&password=s2&password=s3", "postgresql+psycopg://h/db?client_secret=***&password=***&password=***"),
        # an unquoted '@' in the password: SQLAlchemy reads the rest as the host
        ("postgresql://u:se@cret@h/db", "postgresql://u:***@***@h/db"),
        # URLs that do not parse
        ("::bad://u:p@ss@h", "::bad://u:***@h"),
        ("::bad://u:p@s/s@h?x=1&password=s1", "::bad://u:***@h?x=1&password=***"),
        ("not a url password=s1", "not a url password=s1"),
        ("sqlite:///keepfor.db", "sqlite:///keepfor.db"),
    ],
)  # fmt: skip
def test_safe_url_hides_every_secret(url: str, shown: str) -> None:
    assert safe_url(url) == shown
    if "::bad" not in url and " " not in url:  # the same for a parsed URL
        assert safe_url(make_url(url)) == shown


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        (
            "postgres://u:pw@h/db?password=s1",
            [
                "postgres://u:***@h/db?password=***: SQLAlchemy does not know 'postgres://'",
                "write postgresql+psycopg://u:***@h/db?password=***",
            ],
        ),
        ("postgres+psycopg://u@h/db", ["write postgresql+psycopg://u@h/db"]),
        ("mysql://u:pw@h/db", ["'mysql://' means the MySQLdb driver", "write mysql+pymysql://u:***@h/db"]),
        ("mariadb://u@h/db", ["'mariadb://' means the MySQLdb driver", "write mysql+pymysql://u@h/db"]),
        ("postgresql://u:se@cret@h/db", ["'@' in the user name or password must be written %40"]),
        ("not a url?password=s1", ["'not a url?password=***' is not a database URL"]),
    ],
)  # fmt: skip
def test_urls_keepfor_cannot_use_get_a_hint(
    monkeypatch: pytest.MonkeyPatch, url: str, fragments: list[str]
) -> None:
    monkeypatch.setattr(database, "_installed", lambda module: False)
    with pytest.raises(UsageError) as caught:
        parse_url(url, error=UsageError)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "pw" not in message
    assert "s1" not in message
    assert "cret" not in message


def test_mysql_without_a_driver_is_fine_when_its_default_driver_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(database, "_installed", lambda module: module == "MySQLdb")
    assert parse_url("mysql://u@h/db").drivername == "mysql"
    assert parse_url("mysql+pymysql://u@h/db").drivername == "mysql+pymysql"
    assert parse_url("postgresql://u@h/db").drivername == "postgresql"


def test_create_engine_refuses_postgres_urls_too() -> None:
    with pytest.raises(SourceError, match="write postgresql\\+psycopg://u@h/db"):
        database.create_engine("postgres://u@h/db")


ENV = {
    "USER": "us:er@x",
    "PASS": "se@cret/?#%&=+ ",
    "HOST": "db.example:5432",
    "DB": "my db@2",
    "CERT": "/etc/ssl/my cert&x=1.pem",
    "URL": "postgresql+psycopg://a:b%40c@h/d",
    "DIR": "/var/lib/keep for",
    "EMPTY": "",
}


@pytest.mark.parametrize(
    ("template", "parts"),
    [
        (
            "postgresql+psycopg://${USER}:${PASS}@${HOST}/${DB}?sslrootcert=${CERT}",
            {
                "username": "us:er@x",
                "password": "se@cret/?#%&=+ ",
                "host": "db.example",
                "port": 5432,
                "database": "my db@2",
                "query": {"sslrootcert": "/etc/ssl/my cert&x=1.pem"},
            },
        ),
        (
            "postgresql+psycopg://app:${PASS}@h/db",
            {"username": "app", "password": "se@cret/?#%&=+ "},
        ),
        (
            "postgresql+psycopg://${USER}@h/db",
            {"username": "us:er@x", "password": None, "host": "h"},
        ),
        ("postgresql+psycopg://u:${EMPTY}@h/db", {"username": "u", "password": ""}),
        ("postgresql+psycopg://u:p${PASS}${EMPTY}x@h/db", {"password": "pse@cret/?#%&=+ x"}),
        ("${URL}", {"username": "a", "password": "b@c", "host": "h", "database": "d"}),
        ("${URL}?sslmode=require", {"password": "b@c", "query": {"sslmode": "require"}}),
        ("sqlite:///${DIR}/k.db", {"database": "/var/lib/keep for/k.db"}),
        ("sqlite:///k$HOME.db", {"database": "k$HOME.db"}),  # only ${NAME} is a variable
    ],
)
def test_a_variable_means_its_value_where_it_stands(
    template: str, parts: dict[str, object]
) -> None:
    url = make_url(expand_url(template, ENV))
    for name, value in parts.items():
        assert getattr(url, name) == value, name


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "postgresql+psycopg://u:${NOPE}@h/db",
            "the environment variable NOPE (in ${NOPE}) is not set",
        ),
        (
            "postgresql+psycopg://u@${PASS}/db",
            "the environment variable PASS stands in the host part",
        ),
        ("postgresql+psycopg://u@h/${1X}", "'${1X}' is not a variable; write ${NAME}"),
        ("postgresql+psycopg://u@h/${}", "'${}' is not a variable"),
    ],
)
def test_a_variable_that_cannot_be_used(template: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        expand_url(template, ENV)
    assert message in str(caught.value)
    assert "se@cret" not in str(caught.value)


def test_expand_url_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPFOR_TEST_PW", "p@ss")
    assert (
        expand_url("mysql+pymysql://u:${KEEPFOR_TEST_PW}@h/db") == "mysql+pymysql://u:p%40ss@h/db"
    )


def test_create_missing_makes_the_indexes_of_a_table_already_there(db_url: str) -> None:
    """A process that died between a table and its index (MariaDB commits each CREATE
    on its own) left the table without it; the next ensure makes it."""
    import sqlalchemy as sa

    from keepfor.audit.table import audit, metadata

    engine = database.create_engine(db_url)
    try:
        with engine.begin() as conn:
            audit.create(conn)
        with engine.begin() as conn:
            for index in audit.indexes:
                index.drop(conn)
        with engine.begin() as conn:
            database.create_missing(conn, metadata)
        with engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("keepfor_audit")}
            tables = set(sa.inspect(conn).get_table_names())
        assert "ix_keepfor_audit_time" in names
        assert tables >= {"keepfor_audit", "keepfor_audit_batch", "keepfor_audit_head"}
    finally:
        engine.dispose()


# -- two processes making keepfor's tables at once ---------------------------------------------

ROUNDS = 3


def _make_tables(url: str, barrier: Any, results: Any, first: bool) -> None:
    """In a process of its own: make the acting tables and the holds table at the same
    instant as another process, ``ROUNDS`` times on a database emptied between rounds."""
    from keepfor.actions.trail import Trail
    from keepfor.cli.db import ACTING_TABLES
    from keepfor.holds import table as holds_table

    engine = database.create_engine(url)
    for _ in range(ROUNDS):
        barrier.wait()
        try:
            with engine.begin() as conn:
                Trail.ensure(conn)
            with engine.begin() as conn:
                holds_table.ensure(conn)
            missing = set(ACTING_TABLES) - set(sa.inspect(engine).get_table_names())
            results.put(f"missing {sorted(missing)}" if missing else "made")
        except Exception as error:  # reported to the test, which shows it
            results.put(f"{type(error).__name__}: {database.first_line(error)}")
        barrier.wait()
        if first:
            meta = sa.MetaData()
            meta.reflect(engine)
            meta.drop_all(engine)
        barrier.wait()
    engine.dispose()


def test_two_processes_make_the_tables_at_once(db_url: str) -> None:
    """Two sweepers starting on a fresh database (two daemons of one source, or of two
    sources sharing it) both find the tables missing: the one that waits for the other
    then finds them made, and neither fails."""
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [
        spawn.Process(target=_make_tables, args=(db_url, barrier, results, i == 0))
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            worker.kill()
    assert outcomes == ["made"] * (2 * ROUNDS)


@pytest.mark.parametrize("db_url", ["postgresql", "mariadb"], indirect=True)
def test_a_process_stuck_making_the_tables_gives_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session holds the lock of keepfor's tables and does not let go: the wait
    has a bound, and its end is one line (SQLite's wait is its busy timeout: a database
    error, as for any write)."""
    from keepfor.actions.trail import Trail

    monkeypatch.setattr(database, "TABLES_LOCK_WAIT", 1)
    engine = database.create_engine(db_url)
    try:
        with (
            engine.connect() as holder,
            holder.begin(),
            database.making_tables(holder),
            pytest.raises(SourceError) as raised,
            engine.begin() as conn,
        ):
            Trail.ensure(conn)
        assert str(raised.value) == (
            "another process has been making keepfor's tables in this database for 1 "
            "seconds; nothing was done"
        )
        with engine.begin() as conn:  # let go: the next process makes them
            Trail.ensure(conn)
    finally:
        engine.dispose()
