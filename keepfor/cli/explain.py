"""``keepfor explain``: one record, every rule that matched, and why the winner won."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from keepfor.cli.app import at_option, load_rule_paths, parse_instant, rules_option
from keepfor.engine import Decision, Retain, Status, TermResult, evaluate
from keepfor.engine.evaluate import RuleOutcome
from keepfor.errors import RecordError


def read_record(path: str) -> dict[str, Any]:
    """One JSON object from a file (``-`` for standard input)."""
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError("no such file", file=name) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(f"cannot read the file: {error}", file=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}", file=name
        ) from None
    if not isinstance(data, dict):
        raise RecordError(
            f"a record is one JSON object of fields, not a JSON {type(data).__name__}", file=name
        )
    return data


@click.command()
@rules_option
@click.option(
    "--record",
    "record_path",
    required=True,
    metavar="FILE.json",
    help="One record as a JSON object ('-' reads standard input).",
)
@at_option
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@click.option(
    "--detail", is_flag=True, help="With --json: add the working (anchors, periods, reason)."
)
@click.pass_context
def explain(
    ctx: click.Context,
    rule_paths: tuple[str, ...],
    record_path: str,
    at_text: str | None,
    as_json: bool,
    detail: bool,
) -> None:
    """Explain what the rules decide for one record, and why."""
    at = parse_instant(at_text, ctx.obj["clock"])
    rules = load_rule_paths(rule_paths)
    record = read_record(record_path)
    try:
        decision = evaluate(rules, record, at)
    except RecordError as error:
        raise error.located(file="<stdin>" if record_path == "-" else record_path) from None
    if as_json:
        click.echo(json.dumps(decision.to_dict(detail=detail)))
        return
    console = Console(highlight=False, soft_wrap=True)
    for line in render_decision(decision, record_path, at_text or "now"):
        console.print(line)


_STATUS_STYLE = {
    Status.DUE: "bold red",
    Status.RETAINED: "bold green",
    Status.WAITING: "bold yellow",
    Status.HELD: "bold cyan",
    Status.UNMATCHED: "bold magenta",
}


def render_decision(decision: Decision, record_name: str, at: str) -> list[Text]:
    """The readable explanation: status line, each matched rule's working, the reason."""
    lines = [Text(f"Record {record_name}, evaluated at {at}")]
    headline = Text("Status: ")
    headline.append(decision.status.value, style=_STATUS_STYLE[decision.status])
    if decision.winner is not None and decision.disposal_date is not None:
        verb = "disposable since" if decision.status is Status.DUE else "disposal date"
        headline.append(
            f"  {verb} {decision.disposal_date.isoformat()} "
            f"(then: {decision.winner.rule.action.value}; rule {decision.winner.rule.id}, "
            f"pack {decision.winner.pack.id} {decision.winner.pack.version})"
        )
    if decision.today is not None:
        headline.append(f"  [today {decision.today.isoformat()}]", style="dim")
    lines.append(headline)
    if decision.matched:
        lines.append(Text(""))
        lines.append(Text(f"Matched rules ({len(decision.matched)}):", style="bold"))
        for outcome in decision.matched:
            lines.extend(_render_outcome(outcome, outcome is decision.winner))
    lines.append(Text(""))
    lines.append(Text(f"Why: {decision.reason}"))
    return lines


def _render_outcome(outcome: RuleOutcome, won: bool) -> list[Text]:
    rule = outcome.rule
    title = Text(f"  {'*' if won else '-'} {rule.id}", style="bold" if won else "")
    title.append(f"  [{outcome.pack.id} {outcome.pack.version}]  then {rule.action.value}")
    out = [title]
    if rule.description:
        out.append(Text(f"      {rule.description}", style="dim"))
    if rule.source:
        out.append(Text(f"      source: {rule.source}", style="dim"))
    out.extend(_render_term(outcome.term, depth=3))
    until = outcome.retain_until
    if until is None:
        waits = ", ".join(outcome.term.waiting_on)
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
