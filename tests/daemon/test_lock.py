"""One sweeper per source: PostgreSQL's advisory lock, MariaDB's GET_LOCK, SQLite's
lease row. The second taker is refused while the first holds it, gets it once it is
released, and (SQLite) once a crashed holder's lease has run out, but never while a
live holder renews it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from keepfor.clock import FixedClock, SystemClock
from keepfor.daemon.lock import LEASES, SqliteLease, create_quietly, lock_for
from keepfor.database import create_engine


def test_one_holder_at_a_time(db_url: str) -> None:
    first_engine, second_engine = create_engine(db_url), create_engine(db_url)
    first = lock_for(first_engine, "orders", SystemClock())
    second = lock_for(second_engine, "orders", SystemClock())
    other = lock_for(second_engine, "quotes", SystemClock())
    try:
        assert first.acquire()
        assert not second.acquire()
        assert other.acquire()  # another source: its own lock
        first.release()
        assert second.acquire()
        assert not first.acquire()
        second.release()
        second.release()  # releasing twice does nothing
        assert first.acquire()
    finally:
        for lock in (first, second, other):
            lock.release()
        first_engine.dispose()
        second_engine.dispose()


def test_a_session_that_dies_frees_its_lock(db_url: str) -> None:
    """A crashed daemon's connection (or a server session that ends) holds nothing."""
    holder_engine, engine = create_engine(db_url), create_engine(db_url)
    holder = lock_for(holder_engine, "orders", SystemClock(), lease=timedelta(seconds=2))
    other = lock_for(engine, "orders", SystemClock())
    try:
        assert holder.acquire()
        if isinstance(holder, SqliteLease):
            holder._stop.set()  # a crash: no more renewals, no release
            assert holder._renewer is not None
            holder._renewer.join()
            holder._renewer = None
            deadline = time.monotonic() + 30
            while not other.acquire():
                assert time.monotonic() < deadline, "the lease never ran out"
                time.sleep(0.2)
        else:
            conn = getattr(holder, "_conn", None)
            assert conn is not None
            conn.invalidate()  # the session ends, as a killed process's: the server frees it
            holder._conn = None  # type: ignore[attr-defined]
            deadline = time.monotonic() + 30
            while not other.acquire():
                assert time.monotonic() < deadline, "the lock outlived its session"
                time.sleep(0.2)
    finally:
        other.release()
        holder.release()
        engine.dispose()
        holder_engine.dispose()


def _expires(engine: sa.Engine) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(sa.select(LEASES.c.expires)).scalar_one()
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


def test_sqlite_lease_expiry_by_the_clock(tmp_path: object) -> None:
    """An expired lease is taken over; a live one is not (clocks injected)."""
    url = f"sqlite:///{tmp_path}/lease.db"
    engine = create_engine(url)
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    lease = timedelta(minutes=10)  # no renewal during the test
    crashed = SqliteLease(engine, "orders", FixedClock(now), lease)
    try:
        assert crashed.acquire()
        assert _expires(engine) == now + lease
        second = timedelta(seconds=1)
        before = SqliteLease(engine, "orders", FixedClock(now + lease - second), lease)
        assert not before.acquire()
        after = SqliteLease(engine, "orders", FixedClock(now + lease + second), lease)
        assert after.acquire()
        assert _expires(engine) == now + 2 * lease + timedelta(seconds=1)
        after.release()
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(LEASES)).scalar() == 0
    finally:
        crashed.release()
        engine.dispose()


def test_sqlite_lease_is_renewed_while_held(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/lease.db"
    engine = create_engine(url)
    lease = timedelta(seconds=0.6)
    holder = SqliteLease(engine, "orders", SystemClock(), lease)
    try:
        assert holder.acquire()
        first = _expires(engine)
        deadline = time.monotonic() + 30
        while _expires(engine) == first:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.05)
        assert not holder.lost
    finally:
        holder.release()
        engine.dispose()


def test_sqlite_lease_of_a_dead_process_of_this_machine_is_taken_at_once(tmp_path: object) -> None:
    """A daemon restarted after SIGKILL (systemd's Restart=on-failure) need not wait."""
    import socket
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    engine = create_engine(f"sqlite:///{tmp_path}/lease.db")
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    taker = SqliteLease(engine, "orders", FixedClock(now), timedelta(minutes=10))
    try:
        create_quietly(engine, LEASES)
        with engine.begin() as conn:
            for holder in (f"{socket.gethostname()}:{dead.pid}:0", "elsewhere:1:0"):
                name = "orders" if holder.startswith(socket.gethostname()) else "quotes"
                conn.execute(
                    LEASES.insert().values(name=name, holder=holder, expires=datetime(2027, 1, 1))
                )
        assert taker.acquire()  # its holder is gone
        other = SqliteLease(engine, "quotes", FixedClock(now), timedelta(minutes=10))
        assert not other.acquire()  # another machine's: only its expiry frees it
    finally:
        taker.release()
        engine.dispose()
