"""``keepfor review list|approve|reject``: the records a rule sends to a person.

``sweep --apply`` queues a due record whose winning rule says ``review``; ``approve``
lets the next ``sweep --apply`` dispose of it (``--then purge``, the default,
``anonymise``, or ``archive`` where the source has a restorable archive: an approval
the source cannot carry out is refused), audited as any sweep; ``reject`` keeps it.
Who decided, when and why are kept with the item.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor import holds
from keepfor.abc import RecordSource
from keepfor.actions import review as queue
from keepfor.actions.settings import ActionSettings
from keepfor.cli.output import plain, print_table
from keepfor.cli.sources import SourceOptions, open_sources, source_options
from keepfor.clock import Clock
from keepfor.connectors.sql import db_error
from keepfor.connectors.targets import engine_of, target_for
from keepfor.engine import Action
from keepfor.errors import SourceError, UsageError


@click.group()
def review() -> None:
    """The review queue: records a rule sends to a person before disposal."""


@contextlib.contextmanager
def _databases(options: SourceOptions) -> Iterator[list[tuple[RecordSource, sa.Engine, str]]]:
    """(source, engine of its queue, where) of each source, opened."""
    with open_sources(options) as sources:
        out = []
        for source in sources:
            engine = engine_of(source)
            if engine is None:
                raise SourceError(f"source '{source.name}': keepfor keeps no review queue for it")
            out.append((source, engine, engine.url.render_as_string(hide_password=True)))
        yield out


def _able(source: RecordSource, then: Action) -> None:
    """Refuse an approval of a disposal the source cannot take (an archive of a table, a
    purge of HubSpot deals): the next sweep could only fail it."""
    target = target_for(source, ActionSettings(), None)
    if then not in target.actions:
        raise SourceError(
            f"source '{source.name}': approve --then {then.value}: "
            f"{target.cannot(then)}; nothing was approved"
        )


@review.command("list")
@source_options
@click.option(
    "--status",
    type=click.Choice([*[s.value for s in queue.ReviewStatus], "all"]),
    default="pending",
    show_default=True,
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def list_(status: str, fmt: str, **where: Any) -> None:
    """The queued records of each source."""
    wanted = None if status == "all" else queue.ReviewStatus(status)
    with _databases(SourceOptions.pop(where)) as databases:
        found = each_item(databases, wanted)
        if fmt == "json":  # every item, written as it is read
            _json(found)
        else:
            _table(list(found))


def each_item(
    databases: list[tuple[RecordSource, sa.Engine, str]], wanted: queue.ReviewStatus | None
) -> Iterator[queue.ReviewItem]:
    """The items of each source's queue, oldest first, as they are read."""
    for source, engine, url in databases:
        try:
            with engine.connect() as conn:
                yield from queue.each(conn, source.name, wanted)
        except SQLAlchemyError as error:
            raise db_error(f"source '{source.name}'", url, error) from None


def _json(found: Iterator[queue.ReviewItem]) -> None:
    """A JSON list, an item a line (a first sweep may queue a whole table's worth)."""
    out = sys.stdout
    out.write("[")
    for i, item in enumerate(found):
        out.write(f"{',' if i else ''}\n  {json.dumps(item.to_dict())}")
    out.write("\n]\n")


def _table(found: list[queue.ReviewItem]) -> None:
    from rich.table import Table

    table = Table(title=f"Review queue: {len(found)} item{'' if len(found) == 1 else 's'}")
    for column in ("id", "source", "record", "rule", "queued", "status", "decided"):
        table.add_column(column)
    for item in found:
        decided = "" if item.decided_by is None else f"{item.decided_by}: {item.reason}"
        table.add_row(
            str(item.id),
            plain(item.source),
            plain(item.record_key),
            plain(item.rule_id),
            item.queued_at.strftime("%Y-%m-%d %H:%M"),
            item.status.value + ("" if item.then is None else f" ({item.then.value})"),
            plain(decided),
        )
    print_table(table)


def _decide(
    ctx: click.Context,
    where: dict[str, Any],
    ids: tuple[int, ...],
    approve: bool,
    hold: tuple[date | None] | None = None,
    **how: Any,
) -> None:
    """Decide items in one transaction; ``hold``: also hold each rejected record (until
    the date given, or until released)."""
    clock: Clock = ctx.obj["clock"]
    options = SourceOptions.pop(where)
    with _databases(options) as databases:
        if len(databases) != 1:
            names = ", ".join(source.name for source, _, _ in databases)
            raise UsageError(f"review items belong to one source; name it with --source ({names})")
        ((source, engine, url),) = databases
        name = source.name
        if approve:
            _able(source, how["then"])
        try:
            if hold is not None:
                with engine.begin() as conn:
                    holds.ensure(conn)  # on its own: MariaDB commits on CREATE TABLE
            with engine.begin() as conn:
                decided = queue.decide(conn, ids, approve=approve, at=clock.now(), **how)
                for item in decided if hold is not None else ():
                    holds.add(
                        conn, name, record_key=item.record_key, by=how["by"], at=clock.now(),
                        reason=f"review rejected: {how['reason']}", until=hold[0] if hold else None,
                    )  # fmt: skip
        except SQLAlchemyError as error:
            raise db_error(f"source '{name}'", url, error) from None
    verb = "approved" if approve else "rejected"
    for item in decided:
        then = f", to {item.then.value} at the next sweep --apply" if item.then else ""
        held = ", and held" if hold is not None else ""
        click.echo(f"review item {item.id} (record {item.record_key}) {verb}{then}{held}")


def _by(value: str | None) -> str:
    return value or getpass.getuser()


@review.command()
@source_options
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why (kept with the item).")
@click.option("--by", "by", help="Who decides (default: your user name).")
@click.option(
    "--then",
    type=click.Choice([Action.PURGE.value, Action.ANONYMISE.value, Action.ARCHIVE.value]),
    default=Action.PURGE.value,
    show_default=True,
    help="What the next sweep --apply does to the records.",
)
@click.pass_context
def approve(
    ctx: click.Context,
    /,
    ids: tuple[int, ...],
    reason: str,
    by: str | None,
    then: str,
    **where: Any,
) -> None:
    """Approve disposal of queued records (done by the next sweep --apply)."""
    _decide(ctx, where, ids, True, by=_by(by), reason=reason, then=Action(then))


@review.command()
@source_options
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why (kept with the item).")
@click.option("--by", "by", help="Who decides (default: your user name).")
@click.option("--hold", "hold_", is_flag=True, help="Also hold the records (see keepfor hold).")
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), help="With --hold: the last day it holds."
)
@click.pass_context
def reject(
    ctx: click.Context,
    /,
    ids: tuple[int, ...],
    reason: str,
    by: str | None,
    hold_: bool,
    until: datetime | None,
    **where: Any,
) -> None:
    """Keep queued records: they are not disposed of, and not queued again; with --hold,
    held too, so that no sweep acts on them."""
    if until is not None and not hold_:
        raise UsageError("--until goes with --hold")
    hold = (None if until is None else until.date(),) if hold_ else None
    _decide(ctx, where, ids, False, hold, by=_by(by), reason=reason)
