"""``keepfor db init`` and ``keepfor db import``: create the store, load records into it."""

from __future__ import annotations

import click

from keepfor.cli.app import EXIT_BAD_INPUT
from keepfor.store import (
    DEFAULT_URL,
    ImportFailed,
    current_revision,
    import_records,
    open_store,
    safe_url,
    upgrade,
)

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


@db.command("init")
@db_option
def init(url: str) -> None:
    """Create the store's tables, or migrate them to this keepfor's revision."""
    before = current_revision(url)
    reached = upgrade(url)
    where = safe_url(url)
    if before == reached:
        click.echo(f"{where} is up to date at revision {reached}")
    elif before is None:
        click.echo(f"created the keepfor store in {where} at revision {reached}")
    else:
        click.echo(f"migrated {where} from revision {before} to {reached}")


@db.command("import")
@click.argument("file", metavar="FILE.csv|FILE.jsonl")
@db_option
def import_(file: str, url: str) -> None:
    """Import records from a CSV or JSON Lines file, all or nothing.

    Every bad row is reported on stderr (line, field, reason), and then nothing is
    imported and the exit code is 2.
    """
    engine = open_store(url)
    try:
        result = import_records(engine, file)
    except ImportFailed as failed:
        for line in failed.lines():
            click.echo(f"keepfor: error: {line}", err=True)
        rows = "bad row" if failed.count == 1 else "bad rows"
        click.echo(f"keepfor: error: {file}: {failed.count} {rows}; nothing was imported", err=True)
        click.get_current_context().exit(EXIT_BAD_INPUT)
    finally:
        engine.dispose()
    records = "record" if result.count == 1 else "records"
    click.echo(f"imported {result.count} {records} into {safe_url(url)}")
