"""``keepfor_runs`` on every backend: a run recorded when it begins, completed when it
ends, the last one read back exactly (to the microsecond, in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from keepfor.daemon import runs
from keepfor.daemon.lock import create_quietly
from keepfor.daemon.runs import Run, RunOutcome

T0 = datetime(2026, 11, 22, 2, 0, 0, 123456, tzinfo=UTC)


def test_round_trip(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert runs.last_run(conn, "orders") is None  # no table yet
        create_quietly(engine, runs.RUNS)
        create_quietly(engine, runs.RUNS)  # a second time changes nothing
        begun = Run("orders", T0, None, RunOutcome.RUNNING, True, packs={"shop": "2026.1"})
        with engine.begin() as conn:
            first = runs.begin(conn, begun)
            runs.begin(conn, Run("quotes", T0 + timedelta(hours=1), None, RunOutcome.OK, False))
        with engine.connect() as conn:
            assert runs.last_run(conn, "orders") == begun
        ended = Run(
            "orders", T0, T0 + timedelta(seconds=3), RunOutcome.PARTLY, True,
            counts={"purge": 3, "failed": 2}, packs={"shop": "2026.1"}, detail="a batch failed",
        )  # fmt: skip
        later = Run("orders", T0 + timedelta(days=1), None, RunOutcome.RUNNING, False)
        with engine.begin() as conn:
            runs.finish(conn, first, ended)
        with engine.connect() as conn:
            assert runs.last_run(conn, "orders") == ended
        with engine.begin() as conn:
            runs.begin(conn, later)
        with engine.connect() as conn:
            assert runs.last_run(conn, "orders") == later
            assert runs.last_run(conn, "nothing") is None
    finally:
        engine.dispose()


def test_to_dict() -> None:
    run = Run("orders", T0, None, RunOutcome.STOPPED, True, {"purge": 1}, {"p": "1"})
    assert run.to_dict() == {
        "source": "orders", "started": T0.isoformat(), "finished": None,
        "outcome": "stopped", "applied": True, "counts": {"purge": 1},
        "packs": {"p": "1"}, "detail": None,
    }  # fmt: skip


def test_an_instant_is_the_same_in_any_session_zone(db_url: str) -> None:
    """PostgreSQL: written and read in a session west of UTC, the same instants."""
    if not db_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL's sessions have a zone keepfor does not set")
    west = sa.create_engine(db_url, connect_args={"options": "-c timezone=America/New_York"})
    try:
        create_quietly(west, runs.RUNS)
        run = Run("orders", T0, T0 + timedelta(seconds=1), RunOutcome.OK, False)
        with west.begin() as conn:
            runs.begin(conn, run)
        with west.connect() as conn:
            assert runs.last_run(conn, "orders") == run
            text = conn.execute(sa.text("SELECT started::text FROM keepfor_runs")).scalar()
        assert str(text).startswith("2026-11-21 21:00:00.123456")  # 02:00 UTC, in New York
    finally:
        west.dispose()
