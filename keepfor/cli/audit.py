"""``keepfor audit verify`` and ``keepfor audit export``: check the trail, hand it over.

Both read only. ``verify`` exits 0 printing the number of entries when the trail is
intact, 1 naming the first entry that was changed, removed, inserted or reordered, and
2 (one line) for bad input: no such database, no audit trail in it, a bad option. Each
database is read in one ``REPEATABLE READ`` transaction (PostgreSQL, MariaDB), so a
sweep appending meanwhile does not look like a fault. Neither needs the audit key: the
trail holds pseudonyms, and the hashes are not keyed. But where the key is found as a
sweep finds it (the config's key file, else ``KEEPFOR_AUDIT_KEY``), ``verify`` also
checks the head's seal (an HMAC under the key, which a sweep writes with the head): one
that does not match exits 1, as entries removed from the end, or rewritten with the
digests after them, would. Without the key, or for a head written before seals, the
line is as before and a note on standard error says the seal was not checked; since
an unsealed head cannot prove it was never sealed, ``--require-seal`` fails it instead
(for a trail a sealing keepfor has written to).

Without ``--source``, a config's sources may live in several databases: both commands
read each database once, in the config's order. ``export`` writes all of them as one
certificate, and writes it whole or not at all: to standard output only once every
database has been read (held meanwhile in a spooled file), so a failure leaves nothing
half-written for a pipe's reader to take for a certificate. The certificate's formats
and that holding are in :mod:`keepfor.cli.audit_export`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from keepfor.audit.table import GENESIS, exists, head
from keepfor.audit.verify import SEAL_CHECKED, SEAL_NOT_CHECKED, VerifyResult
from keepfor.audit.verify import export as export_entries
from keepfor.audit.verify import verify as verify_trail
from keepfor.cli.app import date_or_instant
from keepfor.cli.audit_export import Csv, Json, Writer, whole_or_nothing
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


def _databases(
    db: str | None, config: str | None, source: str | None
) -> list[tuple[list[str], str]]:
    """(source names, url) of each distinct database the options name, in config order
    (no names for ``--db``)."""
    return _where_and_key(db, config, source)[0]


def _where_and_key(
    db: str | None, config: str | None, source: str | None
) -> tuple[list[tuple[list[str], str]], Path | None]:
    """:func:`_databases`, and the audit key file the config names (None: the
    environment's key, as a sweep takes it)."""
    if db and config:
        raise UsageError("give --db URL or --config F, not both")
    if source and not config:
        raise UsageError("--source NAME needs --config F")
    if db:
        return [([], db)], None
    if not config:
        raise UsageError("give --db URL, or --config F (with --source NAME)")
    from keepfor.connectors.config import load_config

    sources = load_config(config)
    key_file = next((s.audit_key_file for s in sources if s.audit_key_file is not None), None)
    if source is not None:
        names = [s.name for s in sources]
        if source not in names:
            raise UsageError(f"{config}: no source {quoted(source)}{did_you_mean(source, names)}")
        sources = [s for s in sources if s.name == source]
    by_url: dict[str, list[str]] = {}
    for each in sources:
        by_url.setdefault(each.url, []).append(each.name)
    return [(names, url) for url, names in by_url.items()], key_file


def _audit_key(key_file: Path | None) -> bytes | str:
    """The audit key as a sweep finds it; where there is none (or it cannot be used),
    why not."""
    from keepfor.audit.pseudonym import load_key

    try:
        return load_key(key_file)
    except UsageError as error:
        return str(error)


def _label(names: list[str]) -> str:
    """What starts a database's line: the sources in it (nothing for ``--db``)."""
    if not names:
        return ""
    return f"source{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}: "


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
@click.option(
    "--require-seal",
    is_flag=True,
    help="Fail (exit 1) a trail whose head's seal is missing, not only one that does not "
    "match: for a trail a sealing keepfor has written to (needs the audit key).",
)
@click.pass_context
def verify(
    ctx: click.Context,
    db: str | None,
    config: str | None,
    source_name: str | None,
    require_seal: bool,
) -> None:
    """Check every entry: exit 0 when intact, 1 naming the first bad entry. With the
    audit key (the config's key file, else KEEPFOR_AUDIT_KEY), check the head's seal too."""
    tampered = False
    databases, key_file = _where_and_key(db, config, source_name)
    key = _audit_key(key_file)
    if require_seal and isinstance(key, str):
        raise UsageError(f"--require-seal needs the audit key: {key}")
    for names, url in databases:
        label = _label(names)
        with _reading(url) as conn:
            result = verify_trail(conn, key=key if isinstance(key, bytes) else None)
        if result.ok and require_seal and _seal_note(result, key) is not None:
            tampered = True
            click.echo(
                f"{label}NOT INTACT: the head is not sealed, and --require-seal asks for a "
                "sealed one: its seal may have been removed with entries after it, or "
                "entries rewritten"
            )
        elif result.ok:
            entries = "entry" if result.entries == 1 else "entries"
            sealed = ", seal checked" if result.seal == SEAL_CHECKED else ""
            click.echo(f"{label}{result.entries} {entries}, intact (head {result.digest}){sealed}")
            note = _seal_note(result, key)
            if note:
                click.echo(f"keepfor: note: {label}{note}", err=True)
        else:
            tampered = True
            click.echo(f"{label}NOT INTACT: {result.problem}")
    if tampered:
        ctx.exit(EXIT_TAMPERED)


def _seal_note(result: VerifyResult, key: bytes | str) -> str | None:
    """What to say of the head's seal of an intact trail (on standard error): nothing
    once it was checked, or of an empty trail; else that it was not checked, and why."""
    if result.seal == SEAL_CHECKED or (result.entries == 0 and result.digest == GENESIS):
        return None
    if result.seal == SEAL_NOT_CHECKED:
        why = key if isinstance(key, str) else "no audit key"  # never the key itself
        return f"the head's seal was not checked: {why}"
    return (
        "the head is unsealed (written before keepfor sealed heads, or without the audit "
        "key): its seal was not checked"
    )


def _bound(text: str | None, option: str, *, end: bool) -> datetime | None:
    """``--from``/``--to``: a date (UTC; ``--to`` includes that day) or an ISO instant."""
    if text is None:
        return None
    instant = date_or_instant(text, option)
    if isinstance(instant, datetime):
        return instant.astimezone(UTC)
    start = datetime.combine(instant, time(0), tzinfo=UTC)
    try:
        return start + timedelta(days=1) if end else start
    except OverflowError:
        raise UsageError(f"{option} {quoted(text)}: no day follows it in the calendar") from None


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
    """Write the entries of a period: the certificate of disposal. Without --source, of
    every database the config's sources are in, one after the other."""
    start = _bound(from_text, "--from", end=False)
    end = _bound(to_text, "--to", end=True)
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--from {from_text} is not before --to {to_text}")
    databases = _databases(db, config, source_name)
    with whole_or_nothing(output) as out:
        several = len(databases) > 1
        writer: Writer = Csv(out) if fmt == "csv" else Json(out, start, end, several=several)
        for names, url in databases:
            with _reading(url) as conn:
                entries = export_entries(conn, start, end, source=source_name)
                writer.trail(entries, _head_digest(conn), names)
        writer.finish()


def _head_digest(conn: sa.Connection) -> str:
    """The trail's last digest, to record outside the database (an anchor)."""
    if not exists(conn)[head.name]:
        return GENESIS
    found = conn.execute(sa.select(head.c.digest).where(head.c.id == 1)).scalar()
    return GENESIS if found is None else str(found)
