"""The counts of a report, each made by the source's database in one pass: every bucket
(the law: they add up to the source's row count), the forecast windows, the months of
the chart, the records waiting per rule and the unmatched per category.

Every window but "now" is "due on that day, or today where that is later, in each pack's
own zone": a month that has begun in one zone and not yet in another never counts back,
so no count is ever negative.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from keepfor.connectors.base import RecordSource
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
from keepfor.errors import SourceError
from keepfor.report.model import CHART_MONTHS, FORECAST_DAYS, Counts, Report

__all__ = ["bucket_predicates", "count_source", "month_ends"]


def bucket_predicates(rules: RuleSet, at: Instant) -> dict[str, Predicate]:
    """Each bucket as a predicate; together they cover every record exactly once."""
    readable = readable_predicate(rules)
    due = due_predicate(rules, at)
    matched = matched_predicate(rules)
    waiting = Any_(tuple(waiting_predicate(rule) for _, rule in rules))
    # the cheap, selective test first: a database evaluates AND from the left, and the
    # readability of a value (its text checked against the grammar) costs more
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


def count_source(report: Report, rules: RuleSet, source: RecordSource, at: Instant) -> None:
    """Count one source's buckets and windows into the report, in one pass of its database."""
    readable = readable_predicate(rules)
    named: dict[str, Predicate] = {"total": All(()), **bucket_predicates(rules, at)}
    for days in FORECAST_DAYS:
        named[f"in{days}"] = All((due_predicate(rules, _later(at, days)), readable))
    months = month_ends(rules, at)
    for label, end in months:
        named[f"by{label}"] = All((due_predicate(rules, at, not_before=end), readable))
    waits = {
        f"wait:{pack.id}:{rule.id}": All((waiting_predicate(rule), readable))
        for pack, rule in rules
    }
    named.update(waits)
    counts = source.count(named)
    buckets = Counts(total=counts["total"], **{k: counts[k] for k in _COUNTED})
    if buckets.bucket_sum() != buckets.total:
        raise SourceError(
            f"source '{source.name}': the buckets add up to {buckets.bucket_sum()} records, "
            f"but the source has {buckets.total}: the records changed while being counted, "
            "or keepfor has a fault (please report it)"
        )
    report.counts[source.name] = buckets
    _windows(report, counts, months)
    report.waiting_total += counts["waiting"]
    for pack, rule in rules:
        n = counts[f"wait:{pack.id}:{rule.id}"]
        if n:
            report.waiting[rules.display_id(pack, rule)] += n
    _unmatched(report, rules, source, readable)


_COUNTED = ("due", "retained", "waiting", "unmatched", "unreadable")


def _windows(report: Report, counts: dict[str, int], months: list[tuple[str, date]]) -> None:
    now = counts["due"]
    for days in FORECAST_DAYS:
        report.forecast[days] = report.forecast.get(days, 0) + counts[f"in{days}"] - now
    previous = now  # due-ness only grows with time: each month adds what falls due in it
    by_month = dict(report.by_month)
    for label, _ in months:
        total = counts[f"by{label}"]
        by_month[label] = by_month.get(label, 0) + total - previous
        previous = total
    report.by_month = sorted(by_month.items())


def _unmatched(report: Report, rules: RuleSet, source: RecordSource, readable: Predicate) -> None:
    unmatched = All((Not(matched_predicate(rules)), readable))
    if "category" in rules.fields():
        for category, n in source.count_by(unmatched, "category").items():
            report.unmatched["(none)" if category is None else _text(category)] += n
    else:
        report.unmatched["(any)"] += source.count({"unmatched": unmatched})["unmatched"]


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)
