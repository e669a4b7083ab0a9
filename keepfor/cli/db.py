"""``keepfor db init`` and ``keepfor db import``: create the store (and keepfor's tables for
acting and auditing), load records into it."""

from __future__ import annotations

import click
import sqlalchemy as sa

from keepfor.actions import review, state
from keepfor.actions.trail import Trail
from keepfor.audit import table as audit_table
from keepfor.cli.app import EXIT_BAD_INPUT
from keepfor.daemon import runs
from keepfor.errors import UsageError
from keepfor.holds import table as holds_table
from keepfor.store import (
    DEFAULT_URL,
    ImportFailed,
    current_revision,
    import_records,
    open_store,
    safe_url,
    upgrade,
)
from keepfor.store.datelike import check_date_format

db_option = click.option(
    "--db",
    "url",
    envvar="KEEPFOR_DB",
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    help="The store's SQLAlchemy URL (or set KEEPFOR_DB).",
)


@click.group()
def db() -> None:
    """keepfor's own record store: create it, import records into it."""


ACTING_TABLES = (*audit_table.TABLES, state.acted.name, review.review.name, holds_table.TABLE)
"""keepfor's tables for acting on records and auditing it, which ``db init`` also makes,
with the daemon's log of runs."""


def ensure_acting_tables(conn: sa.Connection) -> list[str]:
    """Make the tables a sweep, a review, a hold and the daemon need (as ``sweep --apply``
    and the daemon do), where missing; return the names of those made.

    Made by ``db init`` so that they exist before the first sweep: ``audit verify`` and
    ``hold list`` then work on a fresh database, the first sweep creates nothing, and
    keepfor may run as a user who may not create tables (the owner runs ``db init``).
    """
    had = set(sa.inspect(conn).get_table_names())
    Trail.ensure(conn)
    holds_table.ensure(conn)
    runs.ensure(conn)  # the daemon's leases are SQLite's, which has no privileges
    return [name for name in (*ACTING_TABLES, runs.RUNS.name) if name not in had]


@db.command("init")
@db_option
def init(url: str) -> None:
    """Create the store's tables and those for acting and auditing (the audit trail,
    sweep state, review queue, holds), or migrate them to this keepfor's revision."""
    before = current_revision(url)
    made: list[str] = []
    reached = upgrade(url, also=lambda conn: made.extend(ensure_acting_tables(conn)))
    where = safe_url(url)
    if before is None:
        click.echo(f"created the keepfor store in {where} at revision {reached}")
        return
    if before == reached:
        click.echo(f"{where} is up to date at revision {reached}")
    else:
        click.echo(f"migrated {where} from revision {before} to {reached}")
    if made:
        click.echo(f"created {', '.join(made)}")


def _date_formats(
    _ctx: click.Context, _param: click.Parameter, formats: tuple[str, ...]
) -> tuple[str, ...]:
    """Every --date-format names a day, a month and a year; checked before the store opens."""
    for fmt in formats:
        try:
            check_date_format(fmt)
        except UsageError as error:
            raise click.BadParameter(str(error)) from None
    return formats


@db.command("import")
@click.argument("file", metavar="FILE.csv|FILE.jsonl")
@db_option
@click.option(
    "--replace",
    is_flag=True,
    help="Update the records whose keys are already in the store (category, customer "
    "and fields become the file's) instead of refusing the file.",
)
@click.option(
    "--date-format",
    "date_formats",
    multiple=True,
    metavar="FORMAT",
    callback=_date_formats,
    help="Read dates written this way (a strptime format such as %d/%m/%Y); repeat for "
    "more. ISO 8601 dates are always read.",
)
@click.option(
    "--dayfirst",
    is_flag=True,
    help="Read other dates that look like dates with python-dateutil, day first "
    "(05/01/2015 is 5 January 2015).",
)
def import_(
    file: str, url: str, replace: bool, date_formats: tuple[str, ...], dayfirst: bool
) -> None:
    """Import records from a CSV or JSON Lines file, all or nothing.

    Every bad row is reported on stderr (line, field, reason), and then nothing is
    imported and the exit code is 2. A text that looks like a date but is not ISO 8601
    (31/12/2015) is a bad row unless --date-format or --dayfirst says how to read it.
    """
    engine = open_store(url)
    try:
        result = import_records(
            engine, file, replace=replace, date_formats=date_formats, dayfirst=dayfirst
        )
    except ImportFailed as failed:
        for line in failed.lines():
            click.echo(f"keepfor: error: {line}", err=True)
        rows = "bad row" if failed.count == 1 else "bad rows"
        click.echo(f"keepfor: error: {file}: {failed.count} {rows}; nothing was imported", err=True)
        click.get_current_context().exit(EXIT_BAD_INPUT)
    finally:
        engine.dispose()
    records = "record" if result.count == 1 else "records"
    done = f"imported {result.count} {records} into {safe_url(url)}"
    if replace:
        done += f": {result.inserted} inserted, {result.replaced} replaced"
    click.echo(done)
