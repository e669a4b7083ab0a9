"""The held records of a report: each readable record an active hold covers, listed with
the reasons of the holds that hold it (nothing is done to it while they do).

The source's database selects the held records (the ``held`` bucket's predicate, the
one their count is made with, so the list and the count agree); the source's active
holds are read once, in one query, and matched to each key in Python (holds are few).
A source without holds (no holds table, none active, a source that keeps none) costs
that one query and selects nothing. Keys stream to the writer: memory does not grow
with the number of held records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from keepfor.abc import RecordSource, ReportWriter
from keepfor.engine import Instant, RuleSet
from keepfor.engine.cutoffs import held_predicate
from keepfor.holds.listing import holds_of_source, value_text
from keepfor.report.counts import held_bucket
from keepfor.report.model import HeldRow, Report

__all__ = [
    "HELD_JOIN",
    "HELD_SHOWN",
    "held_item",
    "held_rows",
    "list_held",
    "more_held",
]

HELD_SHOWN = 100
"""Held records the table and html formats list (then how many more; json and csv list
every one)."""

HELD_JOIN = "; "
"""Between two holds' reasons on one record, where a format writes them as one text."""


def list_held(
    report: Report, writer: ReportWriter, source: RecordSource, rules: RuleSet, at: Instant
) -> None:
    """Hand each held record of ``source`` to ``writer`` (if it lists them)."""
    if not writer.lists_held:
        return
    for row in held_rows(source, rules, at):
        writer.held(row)
        report.held_seen[source.name] += 1


def held_rows(source: RecordSource, rules: RuleSet, at: Instant) -> Iterator[HeldRow]:
    """Each held record of ``source`` with its holds' reasons, as the database selects
    them (nothing is read where no hold is active)."""
    active = holds_of_source(source, held_predicate(rules, at).today)
    if not active:
        return
    customers = active.names_customers
    fields = ("customer",) if customers else ()
    for key, record in source.select(held_bucket(rules, at), fields):
        text = source.key.text(key)
        customer = value_text(record.get("customer")) if customers else None
        yield HeldRow(source.name, text, active.reasons(text, customer))


def held_item(row: HeldRow) -> dict[str, Any]:
    """A held record in json: its source, its key's text and each hold's reason."""
    return {"source": row.source, "record": row.key, "reasons": list(row.reasons)}


def more_held(n: int) -> str:
    """The line after the held records a format lists, when there are more."""
    word = "record" if n == 1 else "records"
    return f"... and {n} more held {word} (the json and csv formats list every one)"
