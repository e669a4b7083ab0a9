"""The counts of a report, made by the source's database in one pass: every record gets a
bucket (unreadable, unmatched, waiting, due, retained: the first that holds, so each is
in exactly one and they add up to the row count), the first forecast window and the
first chart month in which it falls due, its category, and whether it waits on each
rule; the database groups and counts them.

Every window but "now" is "due on that day, or today where that is later, in each pack's
own zone": a month that has begun in one zone and not yet in another never counts back,
so no count is ever negative. Each chain asks "not due by the last window?" first, so a
record far from due costs one test, and the SQL grows linearly with the rules.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from keepfor.connectors.base import Chain, RecordSource, Tally
from keepfor.engine import Instant, RuleSet
from keepfor.engine.cutoffs import (
    All,
    Any_,
    Not,
    Predicate,
    due_predicate,
    matched_predicate,
    readable_predicate,
    unreadable_predicate,
    waiting_predicate,
)
from keepfor.engine.evaluate import local_today
from keepfor.report.model import CHART_MONTHS, FORECAST_DAYS, Counts, Report

__all__ = ["bucket_chain", "bucket_predicates", "count_source", "month_ends"]

_ELSE: Predicate = All(())


def bucket_chain(rules: RuleSet, at: Instant) -> Chain:
    """The buckets, tried in order: a record is in the first that holds."""
    waiting = Any_(tuple(waiting_predicate(rule) for _, rule in rules))
    return (
        ("unreadable", unreadable_predicate(rules)),
        ("unmatched", Not(matched_predicate(rules))),
        ("waiting", waiting),
        ("due", due_predicate(rules, at)),
        ("retained", _ELSE),
    )


def bucket_predicates(rules: RuleSet, at: Instant) -> dict[str, Predicate]:
    """Each bucket as a predicate of its own (for selecting one bucket's records)."""
    readable = readable_predicate(rules)
    due = due_predicate(rules, at)
    matched = matched_predicate(rules)
    waiting = Any_(tuple(waiting_predicate(rule) for _, rule in rules))
    # the cheap, selective test first: a database evaluates AND from the left
    return {
        "unreadable": unreadable_predicate(rules),
        "unmatched": All((Not(matched), readable)),
        "waiting": All((waiting, readable)),
        "due": All((due, readable)),
        "retained": All((matched, Not(waiting), Not(due), readable)),
    }


def month_ends(rules: RuleSet, at: Instant, months: int = CHART_MONTHS) -> list[tuple[str, date]]:
    """The chart's months, from the month of the earliest local date of any pack: each
    ``YYYY-MM`` with its last day."""
    first = min(local_today(at, pack) for pack in rules.packs).replace(day=1)
    out = []
    for i in range(months):
        month = first + relativedelta(months=i)
        out.append((month.strftime("%Y-%m"), month + relativedelta(months=1, days=-1)))
    return out


def _later(at: Instant, days: int) -> Instant:
    return at + timedelta(days=days)


def _window_chain(rules: RuleSet, at: Instant, windows: list[tuple[str, Predicate]]) -> Chain:
    """The first window a record is due by: "beyond" the last, "now", or a window's name."""
    last_name, last = windows[-1]
    return (
        ("beyond", Not(last)),
        ("now", due_predicate(rules, at)),
        *windows[:-1],
        (last_name, _ELSE),
    )


def count_source(report: Report, rules: RuleSet, source: RecordSource, at: Instant) -> None:
    """Count one source's buckets and windows into the report, in one pass of its database."""
    forecast = [
        (str(days), due_predicate(rules, _later(at, days))) for days in FORECAST_DAYS
    ]
    months = month_ends(rules, at)
    chart = [(label, due_predicate(rules, at, not_before=end)) for label, end in months]
    chains = (
        bucket_chain(rules, at),
        _window_chain(rules, at, forecast),
        _window_chain(rules, at, chart),
    )
    waits = [waiting_predicate(rule) for _, rule in rules]
    by = "category" if "category" in rules.fields() else None
    tallies = source.tally(chains, waits, by)
    report.counts[source.name] = _buckets(tallies)
    _windows(report, tallies, [label for label, _ in months])
    _waiting(report, rules, tallies)
    for tally in tallies:
        if tally.labels[0] == "unmatched":
            value = "(any)" if by is None else _text(tally.value)
            report.unmatched[value] += tally.size


def _buckets(tallies: list[Tally]) -> Counts:
    counts = Counts()
    for tally in tallies:
        counts.total += tally.size
        bucket = tally.labels[0]
        setattr(counts, bucket, getattr(counts, bucket) + tally.size)
    return counts


def _windows(report: Report, tallies: list[Tally], months: list[str]) -> None:
    retained = [t for t in tallies if t.labels[0] == "retained"]
    for i, days in enumerate(FORECAST_DAYS):
        within = {str(d) for d in FORECAST_DAYS[: i + 1]}
        n = sum(t.size for t in retained if t.labels[1] in within)
        report.forecast[days] = report.forecast.get(days, 0) + n
    by_month = dict(report.by_month)
    for label in months:
        n = sum(t.size for t in retained if t.labels[2] == label)
        by_month[label] = by_month.get(label, 0) + n
    report.by_month = sorted(by_month.items())


def _waiting(report: Report, rules: RuleSet, tallies: list[Tally]) -> None:
    pairs = list(rules)
    for tally in tallies:
        if tally.labels[0] != "waiting":
            continue
        report.waiting_total += tally.size
        for (pack, rule), n in zip(pairs, tally.flags, strict=True):
            if n:
                report.waiting[rules.display_id(pack, rule)] += n


def _text(value: object) -> str:
    if value is None:
        return "(none)"
    return value.isoformat() if isinstance(value, date | datetime) else str(value)
