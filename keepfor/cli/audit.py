"""``keepfor audit verify`` and ``keepfor audit export``: check the trail, hand it over.

Both read only. ``verify`` exits 0 printing the number of entries when the trail is
intact, 1 naming the first entry that was changed, removed, inserted or reordered, and
2 (one line) for bad input: no such database, no audit trail in it, a bad option. Each
database is read in one ``REPEATABLE READ`` transaction (PostgreSQL, MariaDB), so a
sweep appending meanwhile does not look like a fault. Neither needs the audit key: the
trail holds pseudonyms, and the hashes are not keyed.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

import click
import sqlalchemy as sa

from keepfor.audit.entry import FIELD_NAMES, AuditEntry, utc_text
from keepfor.audit.table import GENESIS, exists, head
from keepfor.audit.verify import export as export_entries
from keepfor.audit.verify import verify as verify_trail
from keepfor.cli.output import output_file
from keepfor.database import create_engine, first_line, parse_url, safe_url, sqlite_path
from keepfor.errors import SourceError, UsageError, did_you_mean, quoted

EXIT_TAMPERED = 1
"""``verify``: an entry was changed, removed, inserted or reordered."""


def _where(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --db, --config and --source."""
    for option in reversed(
        [
            click.option("--db", metavar="URL", help="The database whose trail to read."),
            click.option("--config", metavar="keepfor.toml", help="Sources of records."),
            click.option(
                "--source", "source_name", metavar="NAME", help="With --config: this source."
            ),
        ]
    ):
        command = option(command)
    return command


def _databases(db: str | None, config: str | None, source: str | None) -> list[tuple[str, str]]:
    """(label, url) of each distinct database the options name, in config order."""
    if db and config:
        raise UsageError("give --db URL or --config F, not both")
    if source and not config:
        raise UsageError("--source NAME needs --config F")
    if db:
        return [("", db)]
    if not config:
        raise UsageError("give --db URL, or --config F (with --source NAME)")
    from keepfor.connectors.config import load_config

    sources = load_config(config)
    if source is not None:
        names = [s.name for s in sources]
        if source not in names:
            raise UsageError(f"{config}: no source {quoted(source)}{did_you_mean(source, names)}")
        sources = [s for s in sources if s.name == source]
    by_url: dict[str, list[str]] = {}
    for each in sources:
        by_url.setdefault(each.url, []).append(each.name)
    return [
        (f"source{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}: ", url)
        for url, names in by_url.items()
    ]


@contextlib.contextmanager
def _reading(url: str) -> Iterator[sa.Connection]:
    """A read-only transaction on ``url``'s database; one-line errors for a database
    that is missing or does not answer."""
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    if path is not None and not path.is_file():
        raise SourceError(f"{safe_url(parsed)}: no such database file")
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
    except sa.exc.SQLAlchemyError as error:
        raise SourceError(f"{safe_url(parsed)}: {first_line(error)}") from None
    finally:
        engine.dispose()


@click.group()
def audit() -> None:
    """The audit trail: verify it is intact, export a period of it."""


@audit.command()
@_where
@click.pass_context
def verify(ctx: click.Context, db: str | None, config: str | None, source_name: str | None) -> None:
    """Check every entry: exit 0 when intact, 1 naming the first bad entry."""
    tampered = False
    for label, url in _databases(db, config, source_name):
        with _reading(url) as conn:
            result = verify_trail(conn)
        if result.ok:
            entries = "entry" if result.entries == 1 else "entries"
            click.echo(f"{label}{result.entries} {entries}, intact (head {result.digest})")
        else:
            tampered = True
            click.echo(f"{label}NOT INTACT: {result.problem}")
    if tampered:
        ctx.exit(EXIT_TAMPERED)


def _bound(text: str | None, option: str, *, end: bool) -> datetime | None:
    """``--from``/``--to``: a date (UTC; ``--to`` includes that day) or an ISO instant."""
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        instant = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise UsageError(
            f"{option} {quoted(text)} is not an ISO 8601 date or datetime "
            "(e.g. 2026-11-22 or 2026-11-22T09:00:00Z)"
        ) from None
    if instant.tzinfo is None:
        raise UsageError(f"{option} {quoted(text)} has no UTC offset; add one, or give a date")
    return instant.astimezone(UTC)


@audit.command()
@_where
@click.option("--from", "from_text", metavar="DATE", help="First day (UTC) or instant.")
@click.option("--to", "to_text", metavar="DATE", help="Last day (UTC, included) or instant.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option("--output", metavar="FILE", help="Write to FILE (default: standard output).")
def export(
    db: str | None,
    config: str | None,
    source_name: str | None,
    from_text: str | None,
    to_text: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Write the entries of a period: the certificate of disposal."""
    start = _bound(from_text, "--from", end=False)
    end = _bound(to_text, "--to", end=True)
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--from {from_text} is not before --to {to_text}")
    databases = _databases(db, config, source_name)
    if len(databases) > 1:
        raise UsageError(
            f"{config}: the sources are in {len(databases)} databases; "
            "export one at a time with --source NAME"
        )
    with _reading(databases[0][1]) as conn, output_file(output) as out:
        entries = export_entries(conn, start, end, source=source_name)
        if fmt == "csv":
            _csv(out, entries)
        else:
            _json(out, entries, start, end, _head_digest(conn))


def _head_digest(conn: sa.Connection) -> str:
    """The trail's last digest, to record outside the database (an anchor)."""
    if not exists(conn)[head.name]:
        return GENESIS
    found = conn.execute(sa.select(head.c.digest).where(head.c.id == 1)).scalar()
    return GENESIS if found is None else str(found)


RESTORABLE = timedelta(days=90)
"""How long HubSpot can restore what it archived: an archive is never a permanent disposal."""


def _restorable_until(entry: AuditEntry) -> str | None:
    """The last day an archived record can be restored; None for any other entry."""
    if entry.action != "archive":
        return None
    return (entry.time + RESTORABLE).date().isoformat()


def _csv(out: TextIO, entries: Iterator[AuditEntry]) -> None:
    """The entries' fields, and last ``restorable_until`` (blank but for an archive)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIELD_NAMES, "restorable_until"])
    for entry in entries:
        row = entry.as_dict()
        writer.writerow([*(row[name] for name in FIELD_NAMES), _restorable_until(entry) or ""])


def _json(
    out: TextIO,
    entries: Iterator[AuditEntry],
    start: datetime | None,
    end: datetime | None,
    digest: str,
) -> None:
    """One JSON object, written as the entries stream: from, to, head, entries (an
    archive's with the day it stays restorable until), count, and ``disposed``: the
    records purged and anonymised (permanent) apart from those archived (restorable)."""
    bounds = {"from": start and utc_text(start), "to": end and utc_text(end), "head": digest}
    out.write(json.dumps(bounds)[:-1] + ', "entries": [')
    count = 0
    actions: Counter[str] = Counter()
    for count, entry in enumerate(entries, 1):
        row = entry.as_dict()
        until = _restorable_until(entry)
        if until is not None:
            row["restorable_until"] = until
        actions[entry.action] += 1
        out.write(("\n  " if count == 1 else ",\n  ") + json.dumps(row))
    out.write(f'\n], "count": {count}, "disposed": {json.dumps(_disposed(actions))}}}\n')


def _disposed(actions: Counter[str]) -> dict[str, dict[str, Any]]:
    """Entries per disposal: purges and anonymisations are permanent; an archive is not
    (restorable for 90 days), so it is never among them."""
    return {
        "purge": {"count": actions["purge"], "permanent": True},
        "anonymise": {"count": actions["anonymise"], "permanent": True},
        "archive": {"count": actions["archive"], "permanent": False},
    }
