"""Connecting to databases: URLs, engines and one-line errors, for the store and sources.

Light on purpose (SQLAlchemy only): every command that touches a database imports it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from keepfor.errors import KeepforError, SourceError, quoted

__all__ = [
    "CONNECT_TIMEOUT",
    "absent_sqlite_file",
    "create_engine",
    "create_missing",
    "expand_url",
    "first_line",
    "making_tables",
    "parse_url",
    "require_sqlite_file",
    "safe_url",
    "sqlite_path",
]

CONNECT_TIMEOUT = 10
"""Seconds to wait for a database server before giving up (unless the URL says)."""

TABLES_LOCK_WAIT: float = 60
"""Seconds a process waits for another that is making keepfor's tables (PostgreSQL,
MariaDB; SQLite waits as for any write)."""


_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.IGNORECASE)
"""Query parameters whose values messages never show (password=, sslpassword=, api_key=...)."""

_DEFAULT_DRIVERS = {"mysql": "MySQLdb", "mariadb": "MySQLdb"}
"""The DBAPI module SQLAlchemy picks for a scheme without ``+driver`` (not shipped with keepfor)."""


def safe_url(url: str | URL) -> str:
    """The URL with its password and secret-looking query parameters hidden, for messages."""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = make_url(url)
        except Exception:
            # a password may hold '@' or '/': hide all up to the last '@'
            return _hide_query(re.sub(r"(://[^:/@]*:).*@", r"\1***@", url))
    text = parsed.render_as_string(hide_password=True)
    if parsed.host and "@" in parsed.host:  # an unquoted '@' in the password
        text = text.replace(parsed.host, "***@" + parsed.host.rpartition("@")[2], 1)
    return _hide_query(text)


def _hide_query(text: str) -> str:
    """``text`` with the values of secret-looking query parameters replaced by ``***``."""
    base, mark, query = text.partition("?")
    if not mark:
        return text
    return base + mark + re.sub(r"(^|[&;])([^=&;]+)=([^&;]*)", _hidden, query)


def _hidden(match: re.Match[str]) -> str:
    """One ``name=value`` of a query, the value hidden if the name looks secret."""
    start, name, value = match.groups()
    return f"{start}{name}={'***' if _SECRET_PARAMETER.search(name) else value}"


def parse_url(url: str | URL, *, error: type[KeepforError] = SourceError) -> URL:
    """A parsed URL, or ``error`` with a one-line message.

    ``postgres://`` (which SQLAlchemy does not know) and ``mysql://`` or ``mariadb://``
    without their default driver get a hint with the scheme to write.
    """
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except Exception:
        raise error(
            f"{quoted(safe_url(url))} is not a database URL "
            "(e.g. sqlite:///keepfor.db or postgresql+psycopg://user@host/keepfor)"
        ) from None
    hint = _scheme_hint(parsed)
    if hint is not None:
        raise error(f"{safe_url(parsed)}: {hint}")
    if parsed.host and "@" in parsed.host:
        raise error(
            f"{safe_url(parsed)}: '@' in the user name or password must be written %40 "
            "(the host would be read from what follows it)"
        )
    return parsed


def _scheme_hint(parsed: URL) -> str | None:
    """Why keepfor cannot use the URL's scheme and what to write instead; None if it can."""
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        better = parsed.set(drivername=f"postgresql+{driver or 'psycopg'}")
        return f"SQLAlchemy does not know '{parsed.drivername}://'; write {safe_url(better)}"
    module = _DEFAULT_DRIVERS.get(backend)
    if module is None or driver or _installed(module):
        return None
    better = parsed.set(drivername="mysql+pymysql")
    return (
        f"'{backend}://' means the {module} driver, which is not installed; "
        f"write {safe_url(better)} (keepfor ships PyMySQL)"
    )


def _installed(module: str) -> bool:
    """True when a DBAPI module can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_url(template: str, environ: Mapping[str, str] | None = None) -> str:
    """``template`` with each ``${NAME}`` replaced by that environment variable.

    A value is percent-encoded for the part of the URL it stands in, so that it means
    itself: a password ``se@cret`` stays a password. A variable that is the whole URL,
    or its scheme, is put in as it is (it is a URL itself). Raises :class:`SourceError`
    (without the value) for an unset variable or a value that cannot stand where it is.
    """
    env = os.environ if environ is None else environ
    parts: list[str] = []
    done = 0
    for match in _VARIABLE.finditer(template):
        name = match.group(1)
        if not _NAME.fullmatch(name):
            raise SourceError(
                f"{quoted(match.group())} is not a variable; write ${{NAME}} "
                "(letters, digits, '_'), or %24 for a literal '$'"
            )
        if name not in env:
            raise SourceError(f"the environment variable {name} (in ${{{name}}}) is not set")
        part = _url_part(template, match.start())
        parts += [template[done : match.start()], _encode(name, env[name], part)]
        done = match.end()
    return "".join(parts) + template[done:]


def _url_part(template: str, index: int) -> str:
    """Where in the URL ``index`` stands: scheme, user, password, host, database or query."""
    scheme_end = template.find("://")
    if scheme_end == -1 or index < scheme_end:
        return "scheme"
    start = scheme_end + 3
    end = min(
        (i for i in (template.find("/", start), template.find("?", start)) if i != -1),
        default=len(template),
    )
    if index >= end:
        query = template.find("?", end)
        return "query" if query != -1 and index > query else "database"
    at = template.rfind("@", start, end)
    if at == -1 or index > at:
        return "host"
    colon = template.find(":", start, at)
    return "password" if colon != -1 and index > colon else "user"


def _encode(name: str, value: str, part: str) -> str:
    """``value`` percent-encoded for ``part`` of a URL (SQLAlchemy decodes it again)."""
    if part == "scheme":
        return value
    if part == "host":
        bad = next((c for c in value if c in "/?@#" or c.isspace()), None)
        if bad is not None:
            raise SourceError(
                f"the environment variable {name} stands in the host part of the URL "
                f"and holds {bad!r}, which cannot stand there"
            )
        return value
    return urllib.parse.quote(value, safe="/" if part == "database" else "")


def sqlite_path(parsed: URL) -> Path | None:
    """The file of a file-based SQLite URL; None for memory databases and other backends."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def absent_sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite URL names, where it does not exist; None for a file that is
    there, a memory database or another backend. Connecting would make it, empty."""
    path = sqlite_path(parse_url(url))
    return path if path is not None and not path.exists() else None


def require_sqlite_file(url: str | URL, where: str) -> None:
    """Refuse a SQLite URL whose file does not exist: one line naming ``where``.

    Connecting would make an empty database: a dry run must leave nothing behind, and a
    later command would say "no such table" and hide the mistake (a misspelt path).
    Every command checks a source's own database with this before it connects.
    """
    path = absent_sqlite_file(url)
    if path is not None:
        raise SourceError(f"{where}: no such SQLite database file: {path}")


def first_line(error: BaseException) -> str:
    """The first line of a database error, for a one-line message."""
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip() or type(orig).__name__
    return " ".join(text.splitlines()[0].split())


def create_engine(url: str | URL, *, error: type[KeepforError] = SourceError) -> sa.Engine:
    """An engine for ``url``: SQLite enforces foreign keys, servers time out after 10 s,
    PostgreSQL and MySQL/MariaDB sessions run in UTC.

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
        sa.event.listen(engine, "connect", _sqlite_connect)
    if backend == "postgresql":
        # timestamptz values read back in UTC, whatever the server's, the database's,
        # the role's or the client's (PGTZ) default zone: in a zone west of UTC, an
        # instant of year 1 is a date of 1 BC there, which the driver cannot read
        sa.event.listen(engine, "connect", _postgresql_utc, insert=True)
    return engine


def _postgresql_utc(dbapi_connection: Any, _record: Any) -> None:
    """Set the new connection's session time zone to UTC, outside any transaction (a
    rolled-back transaction would undo it), and turn JIT compilation off for it:
    keepfor's predicates are long expressions that PostgreSQL's JIT takes seconds to
    compile, for queries that then run in milliseconds (measured: 10.7 s against 0.25 s
    on two rows with derived fields)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET TIME ZONE 'UTC'; SET jit = off")
        finally:
            cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit


SORTER_THREADS = max(0, min(4, (os.cpu_count() or 1) - 1))
"""Helper threads SQLite's sorter may use (``PRAGMA threads``): the grouped reads of a
report sort every record they group, and one helper on two cores takes the counts of
1M rows from 5.7 to 3.9 s (docs/benchmarks.md). It changes no result, only who sorts."""


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys enforced; the sorter allowed its helper threads."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA threads={SORTER_THREADS:d}")
    cursor.close()


def create_missing(
    conn: sa.Connection, metadata: sa.MetaData, tables: Sequence[sa.Table] | None = None
) -> None:
    """Create ``metadata``'s tables (or only ``tables`` of it) where missing, and the
    indexes of those already there.

    ``create_all`` makes a table's indexes only with the table; where each ``CREATE`` is
    committed on its own (MariaDB; SQLite outside a transaction), a process that died
    between a table and its index left the table without it for good.
    """
    chosen = metadata.sorted_tables if tables is None else list(tables)
    metadata.create_all(conn, tables=chosen, checkfirst=True)
    for table in chosen:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


@contextlib.contextmanager
def making_tables(conn: sa.Connection) -> Iterator[None]:
    """One process at a time checks and makes keepfor's tables in a database.

    Two processes starting on a fresh database (two daemons, a sweep and a daemon) would
    both find a table missing and both create it: the second fails ("already exists";
    SQLite's "database is locked", as its read of the schema cannot become a write while
    the other writes). SQLite: the transaction takes the write lock first (``BEGIN
    IMMEDIATE``; it also keeps each ``CREATE`` in the transaction, which pysqlite would
    commit alone). PostgreSQL: an advisory lock that ends with the transaction. MariaDB,
    whose ``CREATE TABLE`` commits: a named lock of the session, released on leaving.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        driver = conn.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        return
    if dialect == "postgresql":
        take, key = sa.text("SELECT pg_try_advisory_xact_lock(:k)"), _tables_key(conn)
        deadline = time.monotonic() + TABLES_LOCK_WAIT
        while not conn.execute(take, {"k": key}).scalar():
            if time.monotonic() >= deadline:
                raise _still_making()
            time.sleep(0.05)
        yield
        return
    if dialect not in ("mysql", "mariadb"):
        yield
        return
    name = f"keepfor:tables:{_tables_key(conn):x}"[:64]
    got = conn.execute(sa.text("SELECT GET_LOCK(:k, :t)"), {"k": name, "t": TABLES_LOCK_WAIT})
    if got.scalar() != 1:
        raise _still_making()
    try:
        yield
    finally:
        with contextlib.suppress(sa.exc.DBAPIError):  # a session gone holds no lock
            conn.execute(sa.text("SELECT RELEASE_LOCK(:k)"), {"k": name})


def _still_making() -> SourceError:
    return SourceError(
        f"another process has been making keepfor's tables in this database for "
        f"{TABLES_LOCK_WAIT:g} seconds; nothing was done"
    )


def _tables_key(conn: sa.Connection) -> int:
    """A 63-bit key for the lock of keepfor's tables in this database (MariaDB's named
    locks are the server's: the database's name is in it)."""
    import hashlib  # OpenSSL's, loaded where keepfor's tables are made, not for a report

    where = f"keepfor:tables:{conn.engine.url.database or ''}".encode()
    return int.from_bytes(hashlib.sha256(where).digest()[:8], "big") >> 1
