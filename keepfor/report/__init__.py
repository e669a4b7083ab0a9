"""Dry-run reports: what is due, why, and what falls due next. Nothing is changed.

:func:`build_report` asks each source for its due records (the database selects
them with the cutoff predicate), explains each with the engine, and hands them one
at a time to a :class:`ReportWriter`, so memory does not grow with the table. The
aggregates (summary by rule and action, forecast, waiting, unmatched) are counted by
the sources themselves, without fetching rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from keepfor.connectors.base import KEY, RecordSource
from keepfor.engine import Decision, Instant, RuleSet, Status
from keepfor.engine.anchors import local_date
from keepfor.engine.cutoffs import (
    Any_,
    Not,
    Predicate,
    due_predicate,
    matched_predicate,
    waiting_predicate,
)
from keepfor.engine.evaluate import Evaluator
from keepfor.errors import RecordError

__all__ = ["FORECAST_DAYS", "DueRow", "Report", "ReportWriter", "RowLabel", "build_report"]

_T = TypeVar("_T")

FORECAST_DAYS = (30, 90, 365)
CHART_MONTHS = 24


@dataclass(frozen=True, slots=True)
class RowLabel:
    """What a report prints of a due decision; shared by every record with that decision."""

    pack: str
    rule: str
    disposal_date: str
    action: str

    @classmethod
    def of(cls, decision: Decision) -> RowLabel:
        winner = decision.winner
        assert winner is not None
        assert decision.disposal_date is not None
        return cls(
            winner.pack.id,
            winner.rule.id,
            decision.disposal_date.isoformat(),
            winner.rule.action.value,
        )


class DueRow(NamedTuple):
    """One record that may be disposed of now, with the decision that says so.

    A named tuple, not a dataclass: one is made per due record, and tuples are cheap."""

    source: str
    key: str
    decision: Decision
    label: RowLabel


@dataclass
class Report:
    """The aggregates of a report; due rows go to the writer as they stream."""

    at: Instant
    rules: RuleSet
    sources: list[str]
    due: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Due records by (pack, rule, action)."""
    forecast: dict[int, int] = field(default_factory=dict)
    """Records falling due within each number of days (not yet due now)."""
    by_month: list[tuple[str, int]] = field(default_factory=list)
    """Records falling due in each of the next months, ``YYYY-MM`` -> count."""
    waiting: Counter[str] = field(default_factory=Counter)
    """Records waiting on an event, by rule (a record waiting on two rules counts in both)."""
    waiting_total: int = 0
    """Records waiting on an event."""
    unmatched: Counter[str] = field(default_factory=Counter)
    """Records no rule applies to, by category."""

    @property
    def due_total(self) -> int:
        return sum(self.due.values())


class ReportWriter(ABC):
    """A format: receives due rows as they stream, then the aggregates once."""

    wants_aggregates = True
    """False for formats that print only due rows (csv): the counts are skipped."""

    @abstractmethod
    def row(self, row: DueRow) -> None: ...

    @abstractmethod
    def finish(self, report: Report) -> None: ...


def _start(at: Instant) -> date:
    return at.date() if isinstance(at, datetime) else at


def _month_ends(at: Instant, months: int) -> list[tuple[str, date]]:
    """The last day of this month and of each of the next ones."""
    first = _start(at).replace(day=1)
    out = []
    for i in range(months):
        month = first + relativedelta(months=i)
        out.append((month.strftime("%Y-%m"), month + relativedelta(months=1, days=-1)))
    return out


def _later(at: Instant, days: int) -> Instant:
    return at + timedelta(days=days)


def build_report(
    rules: RuleSet,
    sources: Sequence[RecordSource],
    at: Instant,
    writer: ReportWriter,
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Stream every due record to ``writer``, then give it the aggregates."""
    report = Report(at=at, rules=rules, sources=[s.name for s in sources])
    for source in sources:
        source.check(rules)
    evaluator = Evaluator(rules)
    due = due_predicate(rules, at)
    fields = rules.fields()
    # per distinct decision: [decision (kept alive, so its id stays its own), label, count]
    labels: dict[int, list[Any]] = {}
    # Rows that agree on every value but the key are one case to the rules (a datetime
    # counts by its local dates): each case is evaluated once, then remembered.
    cases: dict[Any, list[Any] | None] = {}

    def tally() -> None:
        for _, label, n in labels.values():
            report.due[(label.pack, label.rule, label.action)] += n
        labels.clear()
        cases.clear()  # its entries count into the labels just tallied

    def entry(decision: Decision) -> list[Any] | None:
        known = labels.get(id(decision))
        if known is None or known[0] is not decision:
            if decision.status is not Status.DUE:
                return None  # the predicate is proven equal to evaluation; this is a guard
            if len(labels) >= evaluator.size:
                tally()
            known = labels[id(decision)] = [decision, RowLabel.of(decision), 0]
        return known

    def emit(source: str, key: str, known: list[Any]) -> None:
        known[2] += 1
        writer.row(DueRow(source, key, known[0], known[1]))
        if progress is not None:
            progress(1)

    for source in sources:
        name = source.name
        rows = source.select_rows(due, fields)
        if rows is None:
            with _closing(source.select(due, fields)) as records:
                for record in records:
                    known = entry(evaluator(record, at))
                    if known is not None:
                        emit(name, str(record[KEY]), known)
            continue
        cases.clear()  # another source's rows have other fields
        volatile = rows.volatile
        with _closing(rows.rows) as stream:
            for row in stream:
                case: Sequence[Any] | None = row[1:]
                for i in volatile:
                    if row[i] is not None:  # a datetime counts by its local date(s) only
                        case = _dated(row, volatile, evaluator.zones)
                        break
                try:
                    seen = case is not None and case in cases
                except TypeError:  # a value that cannot be a key (a JSON column): no cache
                    seen, case = False, None
                if seen:
                    known = cases[case]
                else:
                    known = entry(evaluator(rows.record(row), at))
                    if case is not None:
                        if len(cases) >= evaluator.size:
                            cases.clear()
                        cases[case] = known  # (entry() may have tallied and cleared: fine)
                if known is not None:
                    emit(name, str(row[0]), known)
    tally()
    if writer.wants_aggregates:
        for source in sources:
            _count(report, rules, source, at)
    writer.finish(report)
    return report


def _dated(row: Sequence[Any], volatile: tuple[int, ...], zones: tuple[ZoneInfo, ...]) -> Any:
    """The row's case with each datetime replaced by its date in every pack's zone, which
    is all the rules can see of it (they match datetimes by no value); None if a value
    is not a date at all (the engine will say so)."""
    values = list(row[1:])
    try:
        for i in volatile:
            value = row[i]
            if value is not None:
                values[i - 1] = tuple(local_date(value, zone, "") for zone in zones)
    except RecordError:
        return None
    return tuple(values)


@contextmanager
def _closing(stream: Iterator[_T]) -> Iterator[Iterator[_T]]:
    """Close a source's stream however the loop over it ends, so that its connection
    (and any lock its open transaction holds) is released at once, not at exit."""
    try:
        yield stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _count(report: Report, rules: RuleSet, source: RecordSource, at: Instant) -> None:
    named: dict[str, Predicate] = {"now": due_predicate(rules, at)}
    for days in FORECAST_DAYS:
        named[f"in{days}"] = due_predicate(rules, _later(at, days))
    months = _month_ends(at, CHART_MONTHS)
    for label, end in months:
        named[f"by{label}"] = due_predicate(rules, end)
    waits = {f"wait:{pack.id}:{rule.id}": waiting_predicate(rule) for pack, rule in rules}
    named.update(waits)
    named["waiting"] = Any_(tuple(waits.values()))
    counts = source.count(named)
    now = counts["now"]
    for days in FORECAST_DAYS:
        report.forecast[days] = report.forecast.get(days, 0) + counts[f"in{days}"] - now
    previous = now  # due-ness only grows with time: each month adds what falls due in it
    by_month = dict(report.by_month)
    for label, _ in months:
        total = counts[f"by{label}"]
        by_month[label] = by_month.get(label, 0) + total - previous
        previous = total
    report.by_month = sorted(by_month.items())
    report.waiting_total += counts["waiting"]
    for pack, rule in rules:
        n = counts[f"wait:{pack.id}:{rule.id}"]
        if n:
            report.waiting[rule.id] += n
    unmatched = Not(matched_predicate(rules))
    if "category" in rules.fields():
        for category, n in source.count_by(unmatched, "category").items():
            report.unmatched["(none)" if category is None else str(category)] += n
    else:
        report.unmatched["(any)"] += source.count({"unmatched": unmatched})["unmatched"]
