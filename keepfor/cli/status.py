"""``keepfor status``: each source's last run (start, end, outcome, counts), read from
``keepfor_runs`` in the source's database, and its next run time by its schedule.

The next run is counted from the last run's start (a source never run: from now), as
the daemon counts it when it starts; ``overdue`` says it has passed (no daemon is
running, or a run is due this instant).

Status reads only. A source whose own database is a SQLite file that is not there is
refused (one line, exit 2), as every command refuses it; a ``state_db`` not made yet
(a file's or a CRM's source never swept) is a source never run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from keepfor.clock import Clock
from keepfor.connectors.config import SourceConfig, load_settings

if TYPE_CHECKING:
    from keepfor.daemon.runs import Run

__all__ = ["status"]


@click.command()
@click.option("--config", required=True, metavar="keepfor.toml", help="Sources and schedules.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def status(ctx: click.Context, /, config: str, fmt: str) -> None:
    """Each source's last run (start, end, outcome, counts) and its next run time."""
    from keepfor.daemon.databases import require_database

    clock: Clock = ctx.obj["clock"]
    now = clock.now()
    sources = load_settings(config).sources
    for source in sources:  # before anything is printed, or any database made
        require_database(source, config)
    rows = {source.name: _status(source, now) for source in sources}
    if fmt == "json":
        click.echo(json.dumps({"at": now.isoformat(), "sources": rows}, indent=2))
    else:
        _table(rows)


def _status(source: SourceConfig, now: datetime) -> dict[str, Any]:
    from keepfor.daemon import schedule

    settings = source.schedule
    out: dict[str, Any] = {
        "schedule": settings.describe(),
        "apply": settings.apply,
        "last_run": None,
        "next_run": None,
    }
    last, error = _last_run(source)
    if error is not None:
        out["error"] = error
    if last is not None:
        out["last_run"] = {k: v for k, v in last.to_dict().items() if k != "source"}
    if settings.scheduled:
        nxt = schedule.next_after(settings, now if last is None else last.started)
        out["next_run"] = None if nxt is None else nxt.isoformat()
        out["overdue"] = nxt is not None and nxt < now
    return out


def _last_run(source: SourceConfig) -> tuple[Run | None, str | None]:
    """The source's last run, or the database's error as one line; (None, None) where
    its ``state_db`` is a SQLite file not made yet (status reads only: it makes none)."""
    from sqlalchemy.exc import SQLAlchemyError

    from keepfor.daemon import runs
    from keepfor.daemon.databases import has_state
    from keepfor.database import create_engine, first_line

    if not has_state(source):
        return None, None
    engine = create_engine(source.url)
    try:
        with engine.connect() as conn:
            return runs.last_run(conn, source.name), None
    except SQLAlchemyError as error:
        return None, f"database error: {first_line(error)}"
    finally:
        engine.dispose()


def _table(rows: dict[str, dict[str, Any]]) -> None:
    """A few lines per source (a table of six columns would wrap in 80)."""
    for name, row in rows.items():
        mode = "applies" if row["apply"] else "dry runs"
        click.echo(f"{name}: {row['schedule']}, {mode}")
        last = row["last_run"]
        if last is None:
            click.echo(f"  last run  {row.get('error', 'never')}")
        else:
            end = _short(last["finished"]) or "(running)"
            click.echo(f"  last run  {_short(last['started'])} .. {end}  {last['outcome']}")
            if last["counts"] or last["outcome"] != "failed":  # a failed run counted nothing
                click.echo(f"  counts    {_counts(last['counts'])}")
            if last["detail"]:
                click.echo(f"  detail    {last['detail']}")
        if row["next_run"] is not None:
            late = " (overdue: is a daemon running?)" if row.get("overdue") else ""
            click.echo(f"  next run  {_short(row['next_run'])}{late}")


def _counts(counts: dict[str, int]) -> str:
    shown: Sequence[str] = [f"{k} {v}" for k, v in counts.items() if v and k != "total"]
    return ", ".join(shown) or "nothing to do"


def _short(iso: str | None) -> str | None:
    """An instant for a table: to the second, UTC."""
    if iso is None:
        return None
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")
