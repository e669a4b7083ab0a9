"""``keepfor erase --customer C``: an erasure request. Every record of the customer is
disposed of now, except what a hold or a legal obligation keeps; the answer lists each
record kept, with its rule, basis and the date until which it is kept. A dry run
unless ``--apply``; applied, it is audited as any sweep (exit 4: partly done)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click

from keepfor.abc import ActionTarget
from keepfor.actions.erasure import Erasure, plan_erasure, run_erasure
from keepfor.cli.app import at_option, load_rule_paths, parse_instant, rules_option
from keepfor.cli.output import plain, print_table
from keepfor.cli.sources import SourceOptions, source_options
from keepfor.cli.sweep import EXIT_PARTLY_DONE, swept_sources, trail_for
from keepfor.clock import Clock
from keepfor.engine import Action, Instant
from keepfor.errors import SourceError, UsageError
from keepfor.report.text import printable


@click.command()
@click.option("--customer", required=True, help="Whose records (the source's customer field).")
@rules_option
@source_options
@at_option
@click.option("--apply", "apply_", is_flag=True, help="Dispose of them (default: a dry run).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def erase(
    ctx: click.Context,
    /,
    customer: str,
    rule_paths: tuple[str, ...],
    at_text: str | None,
    apply_: bool,
    fmt: str,
    **where: Any,
) -> None:
    """An erasure request: dispose of a customer's records that no hold or law keeps."""
    options = SourceOptions.pop(where)
    if not customer.strip():
        raise UsageError("--customer: empty; name the customer whose records to erase")
    clock: Clock = ctx.obj["clock"]
    at = parse_instant(at_text, clock)
    rules = load_rule_paths(rule_paths)
    trail = trail_for(options, rules, clock) if apply_ else None
    answers: dict[str, Erasure] = {}
    failures: list[str] = []
    with swept_sources(options, trail) as swept, contextlib.ExitStack() as readied:
        targets = []
        for item in swept:  # planned as a dry run: each act re-selects what it acts on
            item.source.check(rules)
            target = item.target(item.source)
            answer = plan_erasure(item.source, rules, at, customer, target.batch_size[0])
            _check_idle(item.source.name, target, answer, apply_)
            answers[item.source.name] = answer
            targets.append(target)
        if apply_:  # all checked: keepfor's tables made, each source's lock taken
            for item in swept:
                readied.enter_context(item.ready(item.source))
            for target, answer in zip(targets, answers.values(), strict=True):
                target.prepare({b.action for b in answer.batches})
            for target, answer in zip(targets, answers.values(), strict=True):
                failures += run_erasure(target, answer, at)
    _print(answers, customer, at, apply_, fmt)
    for failure in failures:
        click.echo(f"keepfor: error: {failure}", err=True)
    if failures:
        click.echo("keepfor: partly done: what was done is audited; ask again to finish", err=True)
        ctx.exit(EXIT_PARTLY_DONE)


def _check_idle(name: str, target: ActionTarget, answer: Erasure, apply: bool) -> None:
    """Records to be anonymised where the source's config names no field to rewrite:
    refused with ``--apply`` before anything is done (they would be audited as
    anonymised, unchanged); a dry run warns."""
    n = answer.anonymise
    if not n or target.rewrites:
        return
    said = (
        f"source '{name}': {n} of the customer's records are to be anonymised, and the "
        "source's config names no field to anonymise (a section [sources.NAME.anonymise] of "
        "field = strategy; docs/actions.md)"
    )
    if apply:
        raise SourceError(f"{said}; nothing was done")
    click.echo(f"keepfor: warning: {said}: erase --apply refuses it", err=True)


def _print(
    answers: dict[str, Erasure], customer: str, at: Instant, applied: bool, fmt: str
) -> None:
    if fmt == "json":
        out = {
            "applied": applied,
            "at": at.isoformat(),
            "customer": customer,
            "sources": {name: answer.to_dict() for name, answer in answers.items()},
        }
        click.echo(json.dumps(out, indent=2))
        return
    from rich.table import Table

    verb = "" if applied else "would be "
    for name, answer in answers.items():
        done = ", ".join(
            f"{getattr(answer, a.value)} {verb}{'purged' if a is Action.PURGE else 'anonymised'}"
            for a in (Action.PURGE, Action.ANONYMISE)
        )
        click.echo(
            f"Source {name}: customer {printable(customer)}: {done}; {len(answer.kept)} kept"
        )
        if answer.kept:
            table = Table()
            for column in ("record", "rule", "basis", "kept until", "why"):
                table.add_column(column)
            for kept in answer.kept:
                until = "" if kept.until is None else kept.until.isoformat()
                table.add_row(
                    plain(kept.record), kept.rule or "", kept.basis or "", until, plain(kept.reason)
                )
            print_table(table)
    if not applied:
        click.echo("Dry run: nothing was changed. Run with --apply to act.")
