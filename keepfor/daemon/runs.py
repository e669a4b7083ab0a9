"""``keepfor_runs``: the daemon's record of each run of each source, kept in the
database of the source (beside its audit trail), so that it survives restarts and is
the same for every daemon pointed at that database.

A run is written when it begins (outcome ``running``) and completed when it ends, so a
run cut short by a crash stays visible as ``running`` with no end. ``keepfor status``
reads the last run; the daemon reads it at start for the catch-up (:mod:`.schedule`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from keepfor.database import create_missing, making_tables

__all__ = ["RUNS", "Run", "RunOutcome", "begin", "ensure", "finish", "last_run"]

_META = sa.MetaData()
_INSTANT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
"""An instant, to the microsecond on every backend (MariaDB's DATETIME keeps seconds)."""

RUNS = sa.Table(
    "keepfor_runs",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("started", _INSTANT, nullable=False),
    sa.Column("finished", _INSTANT),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("counts", sa.Text, nullable=False),
    sa.Column("packs", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("keepfor_runs_source_started", "source", "started"),
)


class RunOutcome(StrEnum):
    """How a run ended."""

    RUNNING = "running"
    """Begun, not ended (or its process died)."""
    OK = "ok"
    PARTLY = "partly"
    """Some batches failed; what was done is audited, the next run finishes the rest."""
    REFUSED = "refused"
    """The safety valve: nothing done."""
    STOPPED = "stopped"
    """SIGTERM or SIGINT: the batches begun were finished, the rest left for later."""
    FAILED = "failed"
    """An error (a database gone, a bad setting): nothing more done."""


@dataclass(frozen=True)
class Run:
    """One run of one source."""

    source: str
    started: datetime
    finished: datetime | None
    outcome: RunOutcome
    applied: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    packs: Mapping[str, str] = field(default_factory=dict)
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "started": self.started.isoformat(),
            "finished": None if self.finished is None else self.finished.isoformat(),
            "outcome": self.outcome.value,
            "applied": self.applied,
            "counts": dict(self.counts),
            "packs": dict(self.packs),
            "detail": self.detail,
        }


def ensure(conn: sa.Connection) -> None:
    """The table (and its index), where missing, one process at a time (``db init``
    makes it ahead of the daemon, which makes it itself where it is missing)."""
    with making_tables(conn):
        create_missing(conn, _META, [RUNS])


def begin(conn: sa.Connection, run: Run) -> int:
    """Record a run that begins; its id."""
    values = _values(run, conn.dialect.name)
    key = conn.execute(RUNS.insert().values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def finish(conn: sa.Connection, run_id: int, run: Run) -> None:
    """Complete run ``run_id`` with its end, outcome and counts."""
    values = _values(run, conn.dialect.name)
    conn.execute(RUNS.update().where(RUNS.c.id == run_id).values(values))


def last_run(conn: sa.Connection, source: str) -> Run | None:
    """The latest run of a source (None: never run, or no table yet)."""
    if not sa.inspect(conn).has_table(RUNS.name):
        return None
    query = (
        sa.select(RUNS)
        .where(RUNS.c.source == source)
        .order_by(RUNS.c.started.desc(), RUNS.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return Run(
        source=row["source"],
        started=_aware(row["started"]),
        finished=None if row["finished"] is None else _aware(row["finished"]),
        outcome=RunOutcome(row["outcome"]),
        applied=bool(row["applied"]),
        counts=json.loads(row["counts"]),
        packs=json.loads(row["packs"]),
        detail=row["detail"],
    )


def _values(run: Run, dialect: str) -> dict[str, Any]:
    return {
        "source": run.source,
        "started": _stored(run.started, dialect),
        "finished": None if run.finished is None else _stored(run.finished, dialect),
        "outcome": run.outcome.value,
        "applied": run.applied,
        "counts": json.dumps(dict(run.counts), sort_keys=True),
        "packs": json.dumps(dict(run.packs), sort_keys=True),
        "detail": run.detail,
    }


def _stored(instant: datetime, dialect: str) -> datetime:
    """UTC: with its zone for PostgreSQL's timestamptz (whatever the session's zone),
    without it where the column keeps none (SQLite, MariaDB)."""
    utc = instant.astimezone(UTC)
    return utc if dialect == "postgresql" else utc.replace(tzinfo=None)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
