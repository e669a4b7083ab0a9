"""Open keepfor's store, and migrate it with Alembic (configured here; no alembic.ini).

* :func:`upgrade` creates or migrates a database to the newest revision
  (``keepfor db init``);
* :func:`open_store` gives an engine on a store that is at that revision, and refuses
  anything else with a one-line :class:`StoreError` naming the URL (password hidden):
  a bad URL, a database that cannot be reached, one that was never initialised, one
  at an older or unknown revision.

Alembic keeps its revision in ``keepfor_alembic_version`` (not ``alembic_version``), so
the store may live in a database whose application uses Alembic itself.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlmodel import SQLModel

from keepfor.database import (
    create_engine,
    first_line,
    making_tables,
    parse_url,
    safe_url,
    sqlite_path,
)
from keepfor.errors import KeepforError
from keepfor.store import models as _models  # noqa: F401  (registers the tables)

__all__ = [
    "DEFAULT_URL",
    "MIGRATIONS",
    "VERSION_TABLE",
    "StoreError",
    "create_store_engine",
    "current_revision",
    "first_line",
    "head_revision",
    "init_hint",
    "open_store",
    "safe_url",
    "schema_differences",
    "sqlite_path",
    "upgrade",
]

DEFAULT_URL = "sqlite:///keepfor.db"
"""The store used when neither ``--db`` nor ``KEEPFOR_DB`` names one."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""Alembic's script directory, shipped inside the package."""

VERSION_TABLE = "keepfor_alembic_version"
"""Where Alembic records the store's revision."""


class StoreError(KeepforError):
    """The store cannot be used: bad URL, unreachable, not initialised, bad import."""


def create_store_engine(url: str | URL) -> sa.Engine:
    """An engine for ``url`` (see :func:`keepfor.database.create_engine`); StoreError if not."""
    return create_engine(url, error=StoreError)


@contextmanager
def _connect(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection, or a one-line StoreError for a database that cannot be reached."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as error:
        raise StoreError(f"cannot connect to {safe_url(engine.url)}: {first_line(error)}") from None
    with conn:
        yield conn


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this keepfor knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def _revision_of(conn: sa.Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(url: str | URL | sa.Engine) -> str | None:
    """The store's revision, or None for a database keepfor has not initialised."""
    engine = url if isinstance(url, sa.Engine) else create_store_engine(url)
    try:
        with _connect(engine) as conn:
            return _revision_of(conn)
    finally:
        if engine is not url:
            engine.dispose()


def upgrade(
    url: str | URL, revision: str = "head", *, also: Callable[[sa.Connection], None] | None = None
) -> str:
    """Create or migrate the store at ``url`` to ``revision``; return the revision reached.

    ``also(conn)`` makes further tables (``keepfor db init``: those for acting and
    auditing) in the same transaction, before the migration: all of it or none of it,
    where the database's DDL is transactional (PostgreSQL, and SQLite, where the
    transaction is opened explicitly). A SQLite file is created if missing (its folder
    must exist).
    """
    engine = create_store_engine(url)
    try:
        with _connect(engine) as conn:
            try:
                with making_tables(conn):
                    if also is not None:
                        also(conn)
                    command.upgrade(_config(conn), revision)
                    conn.commit()
            except sa.exc.DBAPIError as error:
                raise StoreError(
                    f"{safe_url(engine.url)}: migration failed: {first_line(error)}"
                ) from None
            reached = _revision_of(conn)
    finally:
        engine.dispose()
    assert reached is not None
    return reached


def init_hint(url: URL) -> str:
    """The command that initialises the store at ``url``, as a user can run it.

    A secret is never shown, and a command with ``***`` in its place would not run: for
    a URL with a password (or anything else :func:`safe_url` hides) the hint names the
    command, not the URL. Otherwise the URL is quoted for a POSIX shell where it needs
    to be (a space in a SQLite path, a ``?`` or ``&`` in the query).
    """
    full = url.render_as_string(hide_password=False)
    if url.password is not None:
        return "run `keepfor db init` with this database's URL (its password is not shown here)"
    if safe_url(url) != full:
        return "run `keepfor db init` with this database's URL (its secrets are not shown here)"
    return f"run `keepfor db init --db {shlex.quote(full)}`"


def open_store(url: str | URL) -> sa.Engine:
    """An engine on the store at ``url``, which must be at the head revision.

    Raises :class:`StoreError` (one line, password hidden) otherwise.
    """
    parsed = parse_url(url, error=StoreError)
    sqlite_file = sqlite_path(parsed)
    engine = create_store_engine(parsed)
    try:
        if sqlite_file is not None and not sqlite_file.is_file():
            raise StoreError(f"no keepfor store at {safe_url(parsed)}: {init_hint(parsed)}")
        with _connect(engine) as conn:
            try:
                current = _revision_of(conn)
            except sa.exc.DBAPIError as error:
                raise StoreError(f"cannot read {safe_url(parsed)}: {first_line(error)}") from None
    except BaseException:
        engine.dispose()
        raise
    head = head_revision()
    if current == head:
        return engine
    engine.dispose()
    if current is None:
        raise StoreError(
            f"{safe_url(parsed)} is not a keepfor store (no {VERSION_TABLE} table): "
            f"{init_hint(parsed)}"
        )
    if current not in _known_revisions():
        raise StoreError(
            f"{safe_url(parsed)} is at revision {current}, which this keepfor does not know "
            f"(its newest is {head}); upgrade keepfor"
        )
    raise StoreError(
        f"{safe_url(parsed)} is at revision {current}, not {head}: {init_hint(parsed)} "
        "to migrate it"
    )


def schema_differences(engine: sa.Engine) -> list[Any]:
    """What Alembic's autogenerate sees between the database and the store's tables.

    Empty when the migrations build exactly what :mod:`keepfor.store.models` declares.
    Only ``keepfor_*`` tables are compared (the database may hold others).
    """

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        if type_ == "table":
            return bool(name) and str(name).startswith("keepfor_") and name != VERSION_TABLE
        return True

    def include_object(
        obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any
    ) -> bool:
        if type_ == "table":
            return include_name(name, type_, None)
        return True

    with _connect(engine) as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": False,
                "include_name": include_name,
                "include_object": include_object,
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))
