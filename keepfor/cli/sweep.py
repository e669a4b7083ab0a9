"""``keepfor sweep``: every due record gets its rule's action. A dry run unless
``--apply``; exit 3 when the safety valve refuses, 4 when some batches failed."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

import click

from keepfor.abc import ActionTarget, RecordSource
from keepfor.actions.settings import ActionSettings
from keepfor.actions.sweep import (
    MassDisposal,
    SourceTally,
    SweepResult,
    SweptSource,
    run_sweep,
)
from keepfor.actions.tally import RESTORABLE
from keepfor.actions.trail import Trail
from keepfor.cli.app import at_option, load_rule_paths, parse_instant, rules_option
from keepfor.cli.output import plain, print_table
from keepfor.cli.sources import SourceOptions, source_options
from keepfor.clock import Clock
from keepfor.connectors.targets import acting_on, target_for
from keepfor.engine import Instant, RuleSet
from keepfor.report.held import HELD_JOIN, HELD_SHOWN, held_item, held_rows, more_held
from keepfor.report.model import HeldRow

EXIT_REFUSED = 3
EXIT_PARTLY_DONE = 4

_ACTIONS = ("purge", "anonymise", "flag", "review", "held", "failed")


@click.command()
@rules_option
@source_options
@at_option
@click.option("--apply", "apply_", is_flag=True, help="Act (default: a dry run).")
@click.option("--limit", type=click.IntRange(min=1), help="Act on at most N records.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=100_000),
    help="Records per transaction [default: 50,000 on PostgreSQL, 10,000 elsewhere; "
    "at most 30,000 on MariaDB].",
)
@click.option(
    "--allow-mass-disposal",
    is_flag=True,
    help="Lift the safety valve (max_disposal_share) for this run.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def sweep(
    ctx: click.Context,
    /,
    rule_paths: tuple[str, ...],
    at_text: str | None,
    apply_: bool,
    limit: int | None,
    batch_size: int | None,
    allow_mass_disposal: bool,
    fmt: str,
    **where: Any,
) -> None:
    """Flag, anonymise, archive, purge or queue for review what is due. Dry run unless --apply."""
    options = SourceOptions.pop(where)
    clock: Clock = ctx.obj["clock"]
    at = parse_instant(at_text, clock)
    rules = load_rule_paths(rule_paths)
    trail = trail_for(options, rules, clock) if apply_ else None
    with swept_sources(options, trail) as swept:
        try:
            result = run_sweep(
                rules,
                swept,
                at,
                apply=apply_,
                batch_size=batch_size,
                limit=limit,
                allow_mass_disposal=allow_mass_disposal,
            )
        except MassDisposal as refused:
            click.echo(f"keepfor: refused: {refused}", err=True)
            ctx.exit(EXIT_REFUSED)
        for warning in result.warnings:
            click.echo(f"keepfor: warning: {warning}", err=True)
        # printed while the sources are open: json lists every held record as it is read
        held = _held(swept, result, rules, at, every=fmt == "json")
        _print(result, fmt, clock.now().date() + RESTORABLE, held)
    for failure, times in Counter(result.failures).items():  # once each, in order
        batches = "" if times == 1 else f" ({times} batches)"
        click.echo(f"keepfor: error: {failure}{batches}", err=True)
    if result.failures:
        click.echo(
            "keepfor: partly done: what was done is audited; run the sweep again to finish",
            err=True,
        )
        ctx.exit(EXIT_PARTLY_DONE)


def trail_for(options: SourceOptions, rules: RuleSet, clock: Clock) -> Trail:
    from keepfor.audit import load_key

    return Trail(load_key(options.audit_key_file()), rules, clock)


@contextlib.contextmanager
def swept_sources(options: SourceOptions, trail: Trail | None) -> Iterator[list[SweptSource]]:
    """The sources, opened, each with its settings and target (and, given a trail, how
    to make ready to act on it: :func:`acting_on`); all closed at the end."""
    with contextlib.ExitStack() as stack:
        swept: list[SweptSource] = []
        for make, settings in options.entries():
            source = make()
            stack.callback(source.close)
            item = SweptSource(source, settings, _target_maker(settings, trail))
            if trail is not None:
                item = replace(item, ready=partial(acting_on, clock=trail.clock))
            swept.append(item)
        for item in swept:
            item.source.open()
        yield swept


def _target_maker(
    settings: ActionSettings, trail: Trail | None
) -> Callable[[RecordSource], ActionTarget]:
    def make(source: RecordSource) -> ActionTarget:
        return target_for(source, settings, trail)

    return make


def _held(
    swept: list[SweptSource], result: SweepResult, rules: RuleSet, at: Instant, *, every: bool
) -> dict[str, Iterable[HeldRow]]:
    """Each source's held records with their holds' reasons (where it has any): every one
    for json, read as they are written; the first :data:`HELD_SHOWN` and one more (to say
    there are more) for the table."""
    found: dict[str, Iterable[HeldRow]] = {}
    for item in swept:
        name = item.source.name
        if result.sources.get(name) is not None and result.sources[name].held:
            rows = held_rows(item.source, rules, at)
            found[name] = rows if every else list(itertools.islice(rows, HELD_SHOWN + 1))
    return found


def _print(
    result: SweepResult, fmt: str, restorable: date, held: dict[str, Iterable[HeldRow]]
) -> None:
    """The result as JSON or a table; ``restorable``: the last day what this sweep
    archives can be restored (the sweep's date and 90 days); ``held``: each source's
    held records, with their holds' reasons."""
    if fmt == "json":
        out = sys.stdout
        for piece in _json(result, restorable, held):
            out.write(piece)
        out.write("\n")
        return
    _table(result, restorable)
    _held_table(result, {name: list(rows) for name, rows in held.items()})


def _json(
    result: SweepResult, restorable: date, held: dict[str, Iterable[HeldRow]]
) -> Iterator[str]:
    """The JSON object, piece by piece: a source's held records are written one a line as
    they are read, so memory does not grow with them (500,000 held records took 875 MB
    when the object was built whole)."""
    yield f'{{\n  "applied": {json.dumps(result.applied)},\n  "at": {json.dumps(_iso(result.at))},'
    yield '\n  "sources": {'
    for i, (name, tally) in enumerate(result.sources.items()):
        body = {**_source_json(tally.to_dict(), restorable), "rules": tally.rules_list()}
        opened = textwrap.indent(json.dumps(body, indent=2)[: -len("\n}")], "    ").lstrip()
        yield f'{"," if i else ""}\n    {json.dumps(name)}: {opened},\n      "held_records": ['
        for j, row in enumerate(held.get(name, ())):
            yield f"{',' if j else ''}\n        {json.dumps(held_item(row))}"
        yield "\n      ]\n    }"
    yield "\n  }\n}"


def _source_json(counts: dict[str, int], restorable: date) -> dict[str, Any]:
    """The contract's counts first, then ``archive`` (never among the purges) with the
    day until which those archived can be restored (null when none), then the rest."""
    until = restorable.isoformat() if counts["archive"] else None
    archived = {"archive": counts["archive"], "restorable_until": until}
    rest = {k: v for k, v in counts.items() if k not in _ACTIONS and k != "archive"}
    return {**{k: counts[k] for k in _ACTIONS}, **archived, **rest}


def _rows(tally: SourceTally, applied: bool) -> list[tuple[str, str, str, int, str]]:
    """A source's rows: what each rule's records were given (or, dry, would be), and
    the purges always (none is a figure too: archives are not purges), then what no
    rule acted on, and the source's total."""
    done = "" if applied else "would be "
    words = {
        "purge": f"{done}purged",
        "archive": f"{done}archived (restorable)",
        "anonymise": f"{done}anonymised",
        "flag": f"{done}flagged",
        "review": f"{done}queued for review",
    }
    rows = [(p, r, a, n, words[a]) for (p, r, a), n in sorted(tally.by_rule.items())]
    if not tally.purge:
        rows.append(("", "", "purge", 0, words["purge"]))
    counts = tally.to_dict()
    for key, what in (
        ("held", "held: not acted on"),
        ("unreadable", "unreadable: never acted on"),
        ("skipped", "no longer due, held or already done when acted on"),
        ("failed", "failed: not done, run again"),
        ("total", "records in the source"),
    ):
        if counts[key] or key == "total":
            rows.append(("", "", key, counts[key], what))
    return rows


def _iso(at: Instant) -> str:
    return at.isoformat()


def _table(result: SweepResult, restorable: date) -> None:
    from rich.table import Table

    title = "Sweep: applied" if result.applied else "Sweep: dry run, nothing changed"
    table = Table(title=f"{title} (at {_iso(result.at)})")
    for column in ("source", "pack", "rule"):
        table.add_column(column, overflow="fold")  # an id is never cut short
    table.add_column("records", justify="right")
    table.add_column("what")
    for name, tally in result.sources.items():
        for pack, rule, _action, n, words in _rows(tally, result.applied):
            table.add_row(plain(name), pack, rule, str(n), words)
        table.add_section()
    print_table(table)
    if any(tally.archive for tally in result.sources.values()):
        click.echo(f"Archived records can be restored until {restorable.isoformat()}.")
    if not result.applied:
        click.echo("Dry run: nothing was changed. Run with --apply to act.")


def _held_table(result: SweepResult, held: dict[str, list[HeldRow]]) -> None:
    """The held records, with their holds' reasons: nothing is done to them."""
    from rich.table import Table

    if not any(held.values()):
        return
    table = Table("source", "record", "held by", title="Held records: nothing is done to them")
    for name, rows in held.items():
        for row in rows[:HELD_SHOWN]:
            table.add_row(plain(name), plain(row.key), plain(HELD_JOIN.join(row.reasons)))
    print_table(table)
    for name, rows in held.items():
        if len(rows) > HELD_SHOWN:
            more = result.sources[name].held - HELD_SHOWN
            click.echo(f"source '{name}': {more_held(more)}")
