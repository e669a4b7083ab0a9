"""``keepfor explain``: one record, every rule that matched, and why the winner won."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from keepfor.cli.app import (
    at_option,
    evaluator_option,
    load_rule_paths,
    parse_instant,
    rules_option,
)
from keepfor.cli.records import load_record
from keepfor.cli.sources import (
    SourceOptions,
    open_sources,
    source_options,
    warn_missing_fields,
)
from keepfor.engine import Decision, Instant, Retain, RuleSet, Status, TermResult
from keepfor.engine.cutoffs import held_predicate
from keepfor.engine.decision import RuleOutcome
from keepfor.errors import RecordError, UsageError, quoted
from keepfor.evaluators import evaluator_named
from keepfor.holds import Hold
from keepfor.holds.listing import holds_of
from keepfor.report.text import printable


@click.command()
@rules_option
@click.option(
    "--record",
    "record_path",
    metavar="FILE.json",
    help="One record as a JSON object ('-' reads standard input).",
)
@click.option("--id", "record_id", metavar="VALUE", help="A stored record's key (with a source).")
@source_options
@at_option
@evaluator_option
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@click.option(
    "--detail", is_flag=True, help="With --json: add the working (anchors, periods, reason)."
)
@click.pass_context
def explain(
    ctx: click.Context,
    /,
    rule_paths: tuple[str, ...],
    record_path: str | None,
    record_id: str | None,
    at_text: str | None,
    evaluator_name: str,
    as_json: bool,
    detail: bool,
    **where: Any,
) -> None:
    """Explain what the rules decide for one record, and why: a JSON file (--record) or a
    stored record (--id with --db or --config), decided as `keepfor report` decides it."""
    options = SourceOptions.pop(where)
    at = parse_instant(at_text, ctx.obj["clock"])
    if (record_path is None) == (record_id is None):
        raise UsageError("give --record FILE.json, or --id VALUE with --db or --config")
    rules = load_rule_paths(rule_paths)
    evaluate = evaluator_named(evaluator_name, rules)
    holding: list[Hold] = []
    if record_path is not None:
        if options.given():
            raise UsageError("--db, --config and --table go with --id, not --record")
        name = "<stdin>" if record_path == "-" else record_path
        record: Mapping[str, Any] = load_record(record_path)
        decision = evaluate(record, at)
        if decision.problem is not None:  # a value in the user's own file: bad input
            problem = decision.problem
            raise RecordError(problem.reason, file=name, rule=problem.rule, field=problem.field)
    else:
        assert record_id is not None
        name, record, holding = stored_record(options, rules, record_id, at)
        decision = held_decision(evaluate(record, at), holding)
    if as_json:
        out = decision.to_dict(detail=detail)
        if holding:
            out["holds"] = [h.to_dict() for h in holding]
        click.echo(json.dumps(out))
        return
    console = Console(highlight=False, soft_wrap=True)
    for line in render_decision(decision, name, at_text or "now", record):
        console.print(line)


def stored_record(
    options: SourceOptions, rules: RuleSet, record_id: str, at: Instant
) -> tuple[str, Mapping[str, Any], list[Hold]]:
    """The record of one source whose key is ``record_id``, read as a report reads it,
    and the holds that hold it at ``at``."""
    holding: list[Hold] = []
    with open_sources(options) as sources:
        if len(sources) != 1:
            names = ", ".join(s.name for s in sources)
            raise UsageError(f"--id looks in one source; name it with --source ({names})")
        (source,) = sources
        source.check(rules)
        warn_missing_fields(source, rules)
        try:
            key = source.key.parse(record_id)
        except UsageError:
            record = None  # no key of the source's type is spelt so
        else:
            record = source.get(key, rules.fields())
        if record is not None:
            holding = holds_of(source, key, held_predicate(rules, at).today)
    if record is None:
        raise UsageError(f"source '{source.name}' has no record with key {quoted(record_id)}")
    return f"{quoted(record_id)} of source '{source.name}'", record, holding


def held_decision(decision: Decision, holding: list[Hold]) -> Decision:
    """The decision as held where a hold holds the record (an unreadable one stays
    unreadable: its value needs correcting, held or not)."""
    if not holding or decision.status is Status.UNREADABLE:
        return decision
    why = "; ".join(h.describe() for h in holding)
    return replace(
        decision,
        status=Status.HELD,
        reason=f"held: {why} (without the hold: {decision.status.value}, {decision.reason})",
    )


_STATUS_STYLE = {
    Status.DUE: "bold red",
    Status.RETAINED: "bold green",
    Status.WAITING: "bold yellow",
    Status.HELD: "bold cyan",
    Status.UNMATCHED: "bold magenta",
    Status.UNREADABLE: "bold red",
}


def render_decision(
    decision: Decision, record_name: str, at: str, record: Mapping[str, Any] | None = None
) -> list[Text]:
    """The readable explanation: status line, each matched rule's working, the reason."""
    record = record or {}
    lines = [Text(f"Record {record_name}, evaluated at {at}")]
    headline = Text("Status: ")
    headline.append(decision.status.value, style=_STATUS_STYLE[decision.status])
    if decision.winner is not None and decision.disposal_date is not None:
        verb = "disposable since" if decision.status is Status.DUE else "disposal date"
        headline.append(
            f"  {verb} {decision.disposal_date.isoformat()} "
            f"(then: {decision.action.value if decision.action else ''}; "
            f"rule {decision.winner.rule.id}, basis {decision.winner.rule.basis.value}, "
            f"pack {decision.winner.pack.id} {decision.winner.pack.version})"
        )
    if decision.today is not None:
        headline.append(f"  [today {decision.today.isoformat()}]", style="dim")
    lines.append(headline)
    if decision.status is Status.HELD:
        lines.append(Text("Nothing is done to it while it is held.", style="cyan"))
    if decision.matched:
        lines.append(Text(""))
        lines.append(Text(f"Matched rules ({len(decision.matched)}):", style="bold"))
        for outcome in decision.matched:
            lines.extend(_render_outcome(outcome, outcome is decision.winner, record))
    if decision.problem is not None:
        problem = decision.problem
        lines.append(Text(""))
        lines.append(
            Text(
                f"Unreadable: field '{printable(problem.field)}' holds "
                f"{printable(quoted(problem.value))}, which rule '{problem.rule}' cannot read. "
                "keepfor acts on nothing it cannot read: correct the value.",
                style="red",
            )
        )
    lines.append(Text(""))
    lines.append(Text(f"Why: {printable(decision.reason)}"))
    return lines


def field_state(record: Mapping[str, Any], name: str) -> str:
    """Why a field gives no date: not in the record at all (misspelt?), null, or empty."""
    if name not in record:
        return f"{name}: the record has no such field (is it spelt as in the source?)"
    return f"{name} is empty" if record[name] == "" else f"{name} is null"


def _render_outcome(outcome: RuleOutcome, won: bool, record: Mapping[str, Any]) -> list[Text]:
    rule = outcome.rule
    title = Text(f"  {'*' if won else '-'} {rule.id}", style="bold" if won else "")
    title.append(
        f"  [{outcome.pack.id} {outcome.pack.version}]  then {rule.action.value}"
        f"  basis {rule.basis.value}"
    )
    out = [title]
    if rule.description:
        out.append(Text(f"      {rule.description}", style="dim"))
    if rule.source:
        out.append(Text(f"      source: {rule.source}", style="dim"))
    out.extend(_render_term(outcome.term, depth=3))
    until = outcome.retain_until
    if until is None:
        waits = "; ".join(field_state(record, name) for name in outcome.term.waiting_on)
        out.append(Text(f"      no date yet: waiting for {waits}", style="yellow"))
    else:
        disposal = outcome.disposal_date
        assert disposal is not None
        out.append(
            Text(
                f"      retain until {until.isoformat()}, boundary {rule.boundary.value} "
                f"-> disposal date {disposal.isoformat()}"
            )
        )
    return out


def _render_term(result: TermResult, depth: int) -> list[Text]:
    pad = "  " * depth
    term = result.term
    if isinstance(term, Retain):
        if result.anchor_date is None:
            anchor = f"{term.anchor.describe()} = (not yet: {term.anchor.field} is empty)"
        else:
            event = result.event_date.isoformat() if result.event_date else "?"
            anchor = f"{term.anchor.describe()} = {result.anchor_date.isoformat()}"
            if result.anchor_date != result.event_date:
                anchor += f" ({term.anchor.field} is {event})"
        until = result.retain_until.isoformat() if result.retain_until else "none"
        text = f"{pad}from {anchor} + {term.period} -> {until}"
        if result.left_out:
            text += "  (optional, left out)"
        return [Text(text)]
    until = result.retain_until.isoformat() if result.retain_until else "none"
    label = "latest of" if term.kind == "latest_of" else "earliest of"
    note = "  (optional, left out)" if result.left_out else ""
    lines = [Text(f"{pad}{label} -> {until}{note}")]
    for part in result.parts:
        lines.extend(_render_term(part, depth + 1))
    return lines
