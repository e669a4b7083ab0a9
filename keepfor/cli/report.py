"""``keepfor report``: a dry run over real records. Reads; never changes anything."""

from __future__ import annotations

import sys
from typing import Any

import click

from keepfor.abc import RecordSource
from keepfor.cli.app import (
    at_option,
    evaluator_option,
    load_rule_paths,
    parse_instant,
    rules_option,
)
from keepfor.cli.output import live_progress as _progress
from keepfor.cli.output import output_file
from keepfor.cli.sources import SourceOptions, open_sources, source_options
from keepfor.engine import Instant, RuleSet
from keepfor.errors import quoted
from keepfor.evaluators import evaluator_named
from keepfor.report import Report, build_report
from keepfor.report.formats import FORMATS
from keepfor.report.text import printable


@click.command()
@rules_option
@source_options
@at_option
@evaluator_option
@click.option(
    "--format", "fmt", type=click.Choice(list(FORMATS)), default="table", show_default=True
)
@click.option("--output", metavar="FILE", help="Write to FILE (default: standard output).")
@click.option(
    "--show-query", is_flag=True, help="Print the SQL that selects due records, and stop."
)
@click.pass_context
def report(
    ctx: click.Context,
    /,
    rule_paths: tuple[str, ...],
    at_text: str | None,
    evaluator_name: str,
    fmt: str,
    output: str | None,
    show_query: bool,
    **where: Any,
) -> None:
    """Dry run: what is due, why, and what falls due next. Changes nothing."""
    options = SourceOptions.pop(where)
    at = parse_instant(at_text, ctx.obj["clock"])
    rules = load_rule_paths(rule_paths)
    evaluator = evaluator_named(evaluator_name, rules)
    with open_sources(options) as sources:
        if show_query:
            _show_query(rules, sources, at)
            return
        with output_file(output) as out, _progress(out) as advance:
            writer = FORMATS[fmt](out)
            done = build_report(rules, sources, at, writer, progress=advance, evaluator=evaluator)
    warn_unreadable(done)


def _show_query(rules: RuleSet, sources: list[RecordSource], at: Instant) -> None:
    from keepfor.report.counts import bucket_predicates

    due = bucket_predicates(rules, at)["due"]  # due, readable, not held
    for source in sources:
        source.check(rules)
        click.echo(f"-- {source.name}\n{source.dry_run_query(due)};")


def warn_unreadable(done: Report) -> None:
    """One line on stderr per source with unreadable records (they are in the report)."""
    if done.unreadable_seen:
        sys.stdout.flush()  # after the report, not inside it, on a shared terminal
    for name, n in done.unreadable_seen.items():
        first = done.unreadable[name][0]
        records = "record" if n == 1 else "records"
        click.echo(
            f"keepfor: warning: source '{printable(name)}': {n} unreadable {records}, never "
            f"acted on until corrected (first: {quoted(first.key)}, field "
            f"'{printable(first.problem.field)}': {printable(first.problem.reason)}); "
            "they are listed in the report",
            err=True,
        )
