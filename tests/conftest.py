"""Shared fixtures: real databases for every connector and store test.

``db_url`` is parametrised over SQLite (always), PostgreSQL and MariaDB. The server
tests run when ``KEEPFOR_TEST_POSTGRES_URL`` / ``KEEPFOR_TEST_MARIADB_URL`` name a
server (any database on it); each test session creates a database of its own there
and drops only that one. Without a URL they skip, except under ``CI=true``, where a
missing server fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

SERVERS = {
    "postgresql": "KEEPFOR_TEST_POSTGRES_URL",
    "mariadb": "KEEPFOR_TEST_MARIADB_URL",
}
BACKENDS = ("sqlite", *SERVERS)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, str]]:
    """One fresh database per server for this test session, dropped at the end."""
    created: dict[str, tuple[sa.Engine, str]] = {}
    urls: dict[str, str] = {}
    for backend, variable in SERVERS.items():
        base = os.environ.get(variable)
        if not base:
            continue
        name = f"keepfor_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        created[backend] = (admin, name)
        urls[backend] = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield urls
    finally:
        for admin, name in created.values():
            with admin.connect() as conn:
                if admin.dialect.name == "postgresql":
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                else:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database on each backend; tables are dropped after."""
    backend: str = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'keepfor.db'}"
        return
    urls: dict[str, str] = request.getfixturevalue("server_databases")
    if backend not in urls:
        message = f"{backend}: set {SERVERS[backend]} to a server URL to run this test"
        if _in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    url = urls[backend]
    yield url
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()
