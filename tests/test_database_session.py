"""Sessions of :func:`keepfor.database.create_engine` run in UTC on every server.

A PostgreSQL session reads ``timestamptz`` values in its time zone. West of UTC, the
instant 0001-01-01T01:00Z is a time of 1 BC, which psycopg cannot read ("timestamp too
small"), so a report over such a record failed. keepfor sets the session zone to UTC
whatever the default is: the server's, the database's (``ALTER DATABASE ... SET
timezone``), or the client's (``PGTZ``).

The PostgreSQL tests make a database of their own on the server named by
``KEEPFOR_TEST_POSTGRES_URL``, give it a default zone west of UTC, and drop it after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.database import create_engine
from keepfor.engine import RuleSet, parse_pack
from keepfor.report import build_report
from tests.conftest import SERVERS, _in_ci
from tests.report import Collect

WEST = "America/New_York"
"""A default zone west of UTC: at year 1 its offset is -04:56:02 (local mean time)."""

YEAR_ONE = datetime(1, 1, 1, 1, 0, tzinfo=UTC)
LATER = datetime(2020, 1, 1, tzinfo=UTC)


def _server(backend: str) -> str:
    base = os.environ.get(SERVERS[backend])
    if not base:
        message = f"set {SERVERS[backend]} to run the {backend} session tests"
        if _in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return base


@pytest.fixture(scope="module")
def west_database() -> Iterator[str]:
    """A PostgreSQL database of this module's own whose default time zone is :data:`WEST`."""
    base = _server("postgresql")
    name = f"keepfor_test_tz_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
            conn.execute(sa.text(f"ALTER DATABASE {name} SET timezone = '{WEST}'"))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _zone(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SHOW timezone")).scalar_one())


def test_the_database_really_defaults_to_a_zone_west_of_utc(west_database: str) -> None:
    """The premise of the tests below: a plain engine's session is not in UTC there."""
    plain = sa.create_engine(west_database)
    try:
        assert _zone(plain) == WEST
    finally:
        plain.dispose()


@pytest.mark.parametrize(
    ("query", "pgtz"),
    [
        ("", None),  # the database's default zone
        ("", WEST),  # the client's PGTZ, which libpq sets after the startup options
        ("?options=-c%20search_path%3Dpublic", None),  # the URL's own startup options
        ("?options=-c%20timezone%3DAsia/Kolkata", None),  # even a zone the URL asks for
        ("?application_name=keepfor", "Pacific/Honolulu"),
    ],
)
def test_every_session_runs_in_utc(
    west_database: str, monkeypatch: pytest.MonkeyPatch, query: str, pgtz: str | None
) -> None:
    if pgtz is not None:
        monkeypatch.setenv("PGTZ", pgtz)
    engine = create_engine(west_database + query)
    try:
        for _ in range(2):  # a new connection, then one from the pool
            assert _zone(engine) == "UTC"
        with engine.begin() as conn:  # in a transaction, and after a rollback
            assert conn.execute(sa.text("SHOW timezone")).scalar_one() == "UTC"
            conn.rollback()
        assert _zone(engine) == "UTC"
    finally:
        engine.dispose()


def test_sessions_compile_no_jit(west_database: str) -> None:
    """keepfor's long predicates would take seconds to JIT-compile for millisecond queries."""
    engine = create_engine(west_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW jit")).scalar_one() == "off"
    finally:
        engine.dispose()


def test_a_timestamptz_of_year_one_reads_back(west_database: str) -> None:
    engine = create_engine(west_database)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                sa.text("SELECT CAST(:t AS timestamptz)"), {"t": "0001-01-01T01:00:00Z"}
            ).scalar_one()
        assert value == YEAR_ONE
        assert value.utcoffset() is not None
    finally:
        engine.dispose()


PACK = {
    "pack": "p",
    "version": "1",
    "timezone": "UTC",
    "rules": [
        {
            "id": "complaints",
            "applies_to": {"category": "complaint"},
            "retain": {"from": "resolved_at", "for": "P2Y"},
            "then": "purge",
        }
    ],
}


@pytest.fixture
def year_one_table(west_database: str) -> Iterator[str]:
    """A table in the west database with a complaint resolved at :data:`YEAR_ONE`."""
    engine = sa.create_engine(west_database)
    meta = sa.MetaData()
    table = sa.Table(
        "kf_year_one",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(16)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL timezone = 'UTC'"))  # so that the insert can be read
            conn.execute(
                table.insert(),
                [
                    {"id": 1, "category": "complaint", "resolved_at": YEAR_ONE},
                    {"id": 2, "category": "complaint", "resolved_at": LATER},
                ],
            )
        yield west_database
    finally:
        meta.drop_all(engine)
        engine.dispose()


def test_a_report_reads_a_record_of_year_one(year_one_table: str) -> None:
    source = SqlTableSource(year_one_table, TableMapping(table="kf_year_one", source="t"))
    writer = Collect()
    try:
        build_report(RuleSet((parse_pack(PACK),)), [source], date(2026, 1, 15), writer)
    finally:
        source.close()
    assert sorted((row.key, row.label.disposal_date) for row in writer.rows) == [
        ("1", "0003-01-02"),
        ("2", "2022-01-02"),
    ]


def test_mariadb_sessions_run_in_utc() -> None:
    """The same for MySQL and MariaDB (set by init_command since before this test)."""
    engine = create_engine(_server("mariadb"))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT @@session.time_zone")).scalar_one() == "+00:00"
    finally:
        engine.dispose()
