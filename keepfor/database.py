"""Connecting to databases: URLs, engines and one-line errors, for the store and sources.

Light on purpose (SQLAlchemy only): every command that touches a database imports it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from keepfor.errors import KeepforError, SourceError

__all__ = ["CONNECT_TIMEOUT", "create_engine", "first_line", "parse_url", "safe_url", "sqlite_path"]

CONNECT_TIMEOUT = 10
"""Seconds to wait for a database server before giving up (unless the URL says)."""


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", str(url))


def parse_url(url: str | URL, *, error: type[KeepforError] = SourceError) -> URL:
    """A parsed URL, or ``error`` with a one-line message."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except Exception:
        raise error(
            f"{safe_url(url)!r} is not a database URL "
            "(e.g. sqlite:///keepfor.db or postgresql+psycopg://user@host/keepfor)"
        ) from None


def sqlite_path(parsed: URL) -> Path | None:
    """The file of a file-based SQLite URL; None for memory databases and other backends."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def first_line(error: BaseException) -> str:
    """The first line of a database error, for a one-line message."""
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip() or type(orig).__name__
    return " ".join(text.splitlines()[0].split())


def create_engine(url: str | URL, *, error: type[KeepforError] = SourceError) -> sa.Engine:
    """An engine for ``url``: SQLite enforces foreign keys, servers time out after 10 s,
    MySQL/MariaDB sessions run in UTC.

    Raises ``error`` (one line) for a URL that does not parse or names no installed driver.
    """
    parsed = parse_url(url, error=error)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    if backend in ("mysql", "mariadb"):
        # TIMESTAMP columns read back in UTC, whatever the server's own zone
        connect_args["init_command"] = "SET time_zone = '+00:00'"
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except ModuleNotFoundError as missing:
        raise error(
            f"{safe_url(parsed)}: the database driver {missing.name!r} is not installed "
            "(keepfor ships psycopg and PyMySQL: use postgresql+psycopg:// or mysql+pymysql://)"
        ) from None
    except Exception as failure:
        raise error(f"{safe_url(parsed)}: cannot use this URL: {first_line(failure)}") from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
