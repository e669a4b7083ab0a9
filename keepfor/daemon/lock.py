"""One sweeper per source, across processes and machines: a lock in the source's own
database, taken without waiting (a second daemon skips the run and logs why).

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a 64-bit key derived
  from the source's name; it is the database's, and ends with the session.
- MariaDB and MySQL: ``GET_LOCK(name, 0)``; its names are server-wide, so the name is
  derived from the database's name and the source's.
- SQLite: a lease row in ``keepfor_lease`` with an expiry, renewed by a thread while the
  run goes on: a crashed holder's lease runs out (at once when the holder was a process
  of this machine that is gone: a daemon restarted after a crash runs its catch-up); a
  live one keeps it.

The locks of the servers live on a connection of their own, held for the run: a
server that goes away ends the session and so the lock.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from keepfor.abc import Clock
from keepfor.database import create_missing, making_tables

__all__ = ["LEASE", "LEASES", "SourceLock", "create_quietly", "holder_id", "lock_for"]

LEASE = timedelta(seconds=30)
"""How long a SQLite lease lasts unless renewed (every third of it)."""

_META = sa.MetaData()
LEASES = sa.Table(
    "keepfor_lease",
    _META,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires", sa.DateTime, nullable=False),
)


def holder_id() -> str:
    """This process, as a lock holder names it: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def create_quietly(engine: sa.Engine, table: sa.Table) -> None:
    """``table`` and its indexes, where missing: one process at a time, so that another
    making them at the same instant is no error (:func:`keepfor.database.making_tables`)."""
    with engine.begin() as conn, making_tables(conn):
        create_missing(conn, table.metadata, [table])


class SourceLock(ABC):
    """The right to sweep one source now."""

    def __init__(self, engine: sa.Engine, source: str) -> None:
        self.engine = engine
        self.source = source

    @abstractmethod
    def acquire(self) -> bool:
        """Take the lock without waiting; False when another holds it."""

    @abstractmethod
    def release(self) -> None:
        """Give it back (nothing happens if it is not held)."""


class _SessionLock(SourceLock):
    """A lock held by a database session: PostgreSQL's advisory lock, MariaDB's GET_LOCK."""

    take: str
    give: str

    def __init__(self, engine: sa.Engine, source: str) -> None:
        super().__init__(engine, source)
        self._conn: sa.Connection | None = None

    @abstractmethod
    def key(self) -> object: ...

    def acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            got = conn.execute(sa.text(self.take), {"k": self.key()}).scalar()
            conn.commit()  # the lock is the session's: no transaction is kept open
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(sa.text(self.give), {"k": self.key()})
            conn.commit()
        except sa.exc.DBAPIError:
            conn.invalidate()  # a session that is gone holds no lock
        finally:
            conn.close()


class PostgresLock(_SessionLock):
    take = "SELECT pg_try_advisory_lock(:k)"
    give = "SELECT pg_advisory_unlock(:k)"

    def key(self) -> int:
        digest = hashlib.sha256(f"keepfor:source:{self.source}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


class MariaDbLock(_SessionLock):
    take = "SELECT GET_LOCK(:k, 0)"
    give = "SELECT RELEASE_LOCK(:k)"

    def key(self) -> str:
        where = f"{self.engine.url.database}\0{self.source}"
        return "keepfor:" + hashlib.sha256(where.encode()).hexdigest()[:48]


class SqliteLease(SourceLock):
    """A lease row: taken when missing, expired or this holder's; renewed by a thread."""

    def __init__(self, engine: sa.Engine, source: str, clock: Clock, lease: timedelta) -> None:
        super().__init__(engine, source)
        self.clock = clock
        self.lease = lease
        self.holder = holder_id()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = False
        """Set when a renewal found the lease taken by another (it had expired)."""

    def _expiry(self) -> object:
        return (self.clock.now() + self.lease).replace(tzinfo=None)

    def acquire(self) -> bool:
        create_quietly(self.engine, LEASES)
        now = self.clock.now().replace(tzinfo=None)
        insert = sqlite.insert(LEASES).values(
            name=self.source, holder=self.holder, expires=self._expiry()
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[LEASES.c.name],
            set_={"holder": insert.excluded.holder, "expires": insert.excluded.expires},
            where=(LEASES.c.expires < now) | (LEASES.c.holder == self.holder),
        )
        with self.engine.begin() as conn:
            conn.execute(upsert)
            holder = conn.execute(
                sa.select(LEASES.c.holder).where(LEASES.c.name == self.source)
            ).scalar()
            if holder != self.holder and _dead(holder):
                # a process of this machine that died holding it: no need to wait it out
                conn.execute(
                    LEASES.update()
                    .where(LEASES.c.name == self.source, LEASES.c.holder == holder)
                    .values(holder=self.holder, expires=self._expiry())
                )
                holder = self.holder
        if holder != self.holder:
            return False
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="keepfor-lease", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.lease.total_seconds() / 3):
            try:
                with self.engine.begin() as conn:
                    done = conn.execute(
                        LEASES.update()
                        .where(LEASES.c.name == self.source, LEASES.c.holder == self.holder)
                        .values(expires=self._expiry())
                    ).rowcount
                if not done:
                    self.lost = True
                    return
            except sa.exc.DBAPIError:
                continue  # busy or gone: the next tick tries again, the lease has margin

    def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is None:
            return
        self._stop.set()
        renewer.join()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    LEASES.delete().where(
                        LEASES.c.name == self.source, LEASES.c.holder == self.holder
                    )
                )
        except sa.exc.DBAPIError:
            pass  # it expires by itself


def _dead(holder: object) -> bool:
    """Whether a lease's holder is a process of this machine that no longer runs."""
    host, _, rest = str(holder).partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


def lock_for(engine: sa.Engine, source: str, clock: Clock, lease: timedelta = LEASE) -> SourceLock:
    """The lock of ``source`` in the database ``engine`` reaches."""
    backend = engine.dialect.name
    if backend == "postgresql":
        return PostgresLock(engine, source)
    if backend in ("mysql", "mariadb"):
        return MariaDbLock(engine, source)
    if backend == "sqlite":
        return SqliteLease(engine, source, clock, lease)
    raise NotImplementedError(f"no lock for a {backend} database")
