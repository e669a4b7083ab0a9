"""``keepfor hold add|list|release``: records, or customers, nothing may be done to.

A hold lives in ``keepfor_holds`` in the database of the records it is about (``add``
creates the table where it is missing; nothing else does). While active, the report
counts the record as ``held`` and lists it nowhere as due, ``explain`` says why, and a
sweep never acts on it. Adding and releasing a hold is audited (action ``hold`` or
``release``, the record as a keyed pseudonym, never the reason's text) where an audit
key is set; without one, the hold is kept and a warning says it was not audited.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor import holds
from keepfor.abc import RecordSource
from keepfor.cli.app import not_a_date
from keepfor.cli.output import plain, print_table
from keepfor.cli.sources import SourceOptions, open_sources, source_options
from keepfor.clock import Clock
from keepfor.connectors.sql import SqlTableSource, db_error
from keepfor.connectors.store import StoreSource
from keepfor.connectors.targets import engine_of
from keepfor.errors import SourceError, UsageError, quoted
from keepfor.holds import Hold

__all__ = ["hold"]


@click.group()
def hold() -> None:
    """Holds: a record, or every record of a customer, kept whatever the rules say."""


@contextlib.contextmanager
def _one_source(options: SourceOptions) -> Iterator[RecordSource]:
    """The one source the options name, opened (one whose holds keepfor keeps: in its
    database, or in its state database)."""
    with open_sources(options) as sources:
        if len(sources) != 1:
            names = ", ".join(s.name for s in sources)
            raise UsageError(f"a hold belongs to one source; name it with --source ({names})")
        (source,) = sources
        if engine_of(source) is None:
            raise SourceError(f"source '{source.name}' keeps no holds")
        yield source


@contextlib.contextmanager
def _connection(source: RecordSource, *, write: bool) -> Iterator[sa.Connection]:
    """A connection to the database of the source's holds (a transaction, to write); its
    errors as one line."""
    engine = engine_of(source)
    assert engine is not None
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except SQLAlchemyError as error:
        url = engine.url.render_as_string(hide_password=True)
        raise db_error(f"source '{source.name}'", url, error) from None


def _by(value: str | None) -> str:
    """``--by``, or the OS user name."""
    return value or getpass.getuser()


def _until(text: str | None, at: datetime) -> date | None:
    """``--until``: a date that has not passed everywhere yet (it is compared in each
    pack's zone, UTC-12 the latest of them); a hold until a day gone would hold nothing."""
    if text is None:
        return None
    try:
        until = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(not_a_date(text, "--until", "a date (YYYY-MM-DD)")) from None
    if until < (at.astimezone(UTC) - timedelta(hours=12)).date():
        raise UsageError(
            f"--until {text} has passed: a hold until then would hold nothing; "
            "give its last day, today or later"
        )
    return until


def _has_customer(source: RecordSource) -> bool:
    if isinstance(source, SqlTableSource):
        return source.customer_column() is not None
    known = source.known_fields()
    return isinstance(source, StoreSource) or known is None or "customer" in known


def _record_key(source: RecordSource, record_id: str) -> str:
    """``--id``'s value as the key's text; a warning where the source has no such record
    (the hold is kept: it holds the record should it appear)."""
    key = source.key.parse(record_id)  # not a key of its type: UsageError, exit 2
    if source.get(key, ()) is None:
        click.echo(
            f"keepfor: warning: source '{source.name}' has no record with key "
            f"{quoted(record_id)} now; the hold is kept for it",
            err=True,
        )
    return source.key.text(key)


def _audit_key(options: SourceOptions, conn: sa.Connection) -> bytes | str:
    """The audit key, with the trail's tables made where missing (before the hold's own
    transaction: MariaDB commits on ``CREATE TABLE``); where no key is set, why not (a
    warning once the hold is written)."""
    from keepfor.audit import ensure, load_key

    try:
        key = load_key(options.audit_key_file())
    except UsageError as error:
        return f"keepfor: warning: not audited: {error}"
    ensure(conn)
    return key


def _audit(conn: sa.Connection, key: bytes | str, made: Hold, action: str, at: datetime) -> None:
    """One audit entry for a hold added or released, in the caller's transaction: the
    record (or customer) as a keyed pseudonym, the hold's id as its rule."""
    from keepfor.audit import PendingEntry, append, pseudonym

    if isinstance(key, str):
        click.echo(key, err=True)  # no audit key: the warning, after the hold is written
        return
    covered = made.record_key if made.record_key is not None else f"customer:{made.customer}"
    run = uuid.uuid4().hex
    entry = PendingEntry(
        time=at,
        sweep_id=run,
        batch_id=f"{run}-1",
        source=made.source,
        record=pseudonym(key, made.source, covered),
        rule_id=f"hold-{made.id}",
        pack_id="-",
        pack_version="-",
        action=action,
        outcome="done",
    )
    append(conn, [entry], key=key)


@hold.command()
@source_options
@click.option("--id", "record_id", metavar="VALUE", help="The key of the record to hold.")
@click.option("--customer", metavar="C", help="Hold every record of this customer.")
@click.option("--reason", required=True, help="Why (shown wherever the record is held).")
@click.option("--until", "until_text", metavar="YYYY-MM-DD", help="The last day it holds.")
@click.option("--by", "by", help="Who holds it (default: your user name).")
@click.pass_context
def add(
    ctx: click.Context,
    /,
    record_id: str | None,
    customer: str | None,
    reason: str,
    until_text: str | None,
    by: str | None,
    **where: Any,
) -> None:
    """Hold one record (--id) or every record of a customer (--customer)."""
    clock: Clock = ctx.obj["clock"]
    options = SourceOptions.pop(where)
    if (record_id is None) == (customer is None):
        raise UsageError("give --id VALUE or --customer C (one of them)")
    at = clock.now()
    until = _until(until_text, at)
    with _one_source(options) as source:
        if customer is not None and not _has_customer(source):
            raise UsageError(
                f"source '{source.name}' maps no customer field; hold its records by --id, "
                "or map 'customer' under [sources.NAME.fields]"
            )
        key = None if record_id is None else _record_key(source, record_id)
        Hold(0, source.name, key, customer, reason, _by(by), at, until)  # checked first
        with _connection(source, write=True) as conn:
            holds.ensure(conn)  # a transaction of its own (MariaDB commits on CREATE)
            audit_key = _audit_key(options, conn)
        with _connection(source, write=True) as conn:
            made = holds.add(
                conn, source.name, record_key=key, customer=customer, reason=reason,
                by=_by(by), at=at, until=until,
            )  # fmt: skip
            _audit(conn, audit_key, made, "hold", at)
    click.echo(f"{made.describe()} (source '{made.source}')")


@hold.command("list")
@source_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def list_(ctx: click.Context, /, fmt: str, **where: Any) -> None:
    """Every hold of a source: active, expired (its --until has passed) and released."""
    clock: Clock = ctx.obj["clock"]
    options = SourceOptions.pop(where)
    with _one_source(options) as source, _connection(source, write=False) as conn:
        found = holds.list_holds(conn, source.name)
    today = clock.now().date()
    if fmt == "json":
        click.echo(json.dumps([{**h.to_dict(), "state": h.state(today).value} for h in found]))
        return
    _table(found, today)


def _table(found: list[Hold], today: date) -> None:
    from rich.table import Table

    table = Table(title=f"Holds: {len(found)}")
    for column in ("id", "source", "covers", "reason", "by", "since", "until", "state"):
        table.add_column(column)
    for item in found:
        state = item.state(today).value
        if item.released_at is not None:
            state += f" {item.released_at.date().isoformat()} by {item.released_by}"
        table.add_row(
            str(item.id),
            plain(item.source),
            plain(item.covers),
            plain(item.reason),
            plain(item.by),
            item.created_at.date().isoformat(),
            item.until.isoformat() if item.until else "",
            plain(state),
        )
    print_table(table)


@hold.command()
@source_options
@click.argument("hold_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why it is released (kept with the hold).")
@click.option("--by", "by", help="Who releases it (default: your user name).")
@click.pass_context
def release(ctx: click.Context, /, hold_id: int, reason: str, by: str | None, **where: Any) -> None:
    """Release a hold: its records are decided by the rules again."""
    clock: Clock = ctx.obj["clock"]
    options = SourceOptions.pop(where)
    at = clock.now()
    with _one_source(options) as source:
        with _connection(source, write=True) as conn:
            audit_key = _audit_key(options, conn)
        with _connection(source, write=True) as conn:
            released = holds.release(conn, source.name, hold_id, reason=reason, by=_by(by), at=at)
            _audit(conn, audit_key, released, "release", at)
    click.echo(f"hold {released.id} ({released.covers}) released by {released.released_by}")
