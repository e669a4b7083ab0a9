"""The table format's summary: the buckets that add up, the forecast, waiting and
unmatched records, as rich tables (record text escaped and never read as markup)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from keepfor.report.model import BUCKETS, FORECAST_DAYS, Counts, Report
from keepfor.report.text import printable

__all__ = ["counts_line", "print_summary", "records"]


def records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def counts_line(counts: Counts) -> str:
    """``35 records = 16 due + 5 retained + 8 waiting + 0 held + 6 unmatched + 0 unreadable``."""
    parts = " + ".join(f"{getattr(counts, name)} {name}" for name in BUCKETS)
    return f"{records(counts.total)} = {parts}"


def print_summary(report: Report, out: TextIO) -> None:
    c = Console(file=out, highlight=False, soft_wrap=True)
    packs = ", ".join(f"{p.id} {p.version}" for p in report.rules.packs)
    c.print()
    c.print(
        Text(
            f"Dry run at {report.at.isoformat()}: {report.due_total} due "
            f"(packs {packs}; sources {printable(', '.join(report.sources))})"
        )
    )
    buckets = Table("source", *BUCKETS, "total", title="Every record, in exactly one bucket")
    for name in report.sources:
        counts = report.counts.get(name)
        if counts is not None:
            row = [str(getattr(counts, b)) for b in BUCKETS]
            buckets.add_row(Text(printable(name)), *row, str(counts.total))
    if len(report.counts) > 1:
        overall = report.overall
        buckets.add_row("all", *(str(getattr(overall, b)) for b in BUCKETS), str(overall.total))
    c.print(buckets)
    summary = Table("pack", "rule", "action", "due", title="Due by rule and action")
    for (pack, rule, action), n in sorted(report.due.items()):
        summary.add_row(pack, Text(printable(rule)), action, str(n))
    c.print(summary)
    forecast = Table("within", "falling due", title="Forecast (not due yet)")
    for days in FORECAST_DAYS:
        forecast.add_row(f"{days} days", str(report.forecast.get(days, 0)))
    c.print(forecast)
    waiting = Table("rule", "waiting", title=f"Waiting on an event: {report.waiting_total}")
    for rule, n in sorted(report.waiting.items()):
        waiting.add_row(Text(printable(rule)), str(n))
    c.print(waiting)
    unmatched = Table("category", "records", title="Unmatched (no rule applies)")
    for category, n in sorted(report.unmatched.items()):
        unmatched.add_row(Text(printable(category)), str(n))
    c.print(unmatched)
