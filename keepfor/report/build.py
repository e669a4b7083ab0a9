"""Building a report: each source's database selects its due records and its unreadable
ones; the engine explains each; the writer gets them one at a time (memory does not
grow with the table); then each source counts its buckets.

The database and the engine are proven to agree (the differential tests): a record the
database selects as due is due to the engine, and one it selects as unreadable is
unreadable to it. Should they ever disagree, the report stops with an error naming the
source and record instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from keepfor.connectors.base import KEY, RecordSource, Rows
from keepfor.engine import Decision, Instant, RuleSet, Status
from keepfor.engine.anchors import local_date
from keepfor.engine.cutoffs import Predicate
from keepfor.engine.evaluate import Evaluator
from keepfor.errors import KeepforError, RecordError, quoted
from keepfor.report.counts import bucket_predicates, count_source
from keepfor.report.model import DueRow, Report, ReportWriter, RowLabel, UnreadableRow

__all__ = ["DisagreementError", "build_report"]

_T = TypeVar("_T")

WARN_FIRST = 3
"""Unreadable records of a source kept for the warning line (all of them are streamed)."""


class DisagreementError(KeepforError):
    """The database selected a record the engine decides otherwise: a fault of keepfor's
    (the push-down and the engine are proven equal), reported instead of hidden."""


def build_report(
    rules: RuleSet,
    sources: Sequence[RecordSource],
    at: Instant,
    writer: ReportWriter,
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Stream every due and every unreadable record to ``writer``, then the aggregates."""
    report = Report(at=at, rules=rules, sources=[s.name for s in sources])
    for source in sources:
        source.check(rules)
    evaluator = Evaluator(rules)
    buckets = bucket_predicates(rules, at)
    labels = _Labels(rules, report)
    for source in sources:  # every due row first, then every unreadable one
        for key, decision in _decisions(source, buckets["due"], rules, evaluator, at, Status.DUE):
            writer.row(DueRow(source.name, key, decision, labels.of(decision)))
            if progress is not None:
                progress(1)
        labels.tally()
    for source in sources:
        for key, decision in _decisions(
            source, buckets["unreadable"], rules, evaluator, at, Status.UNREADABLE
        ):
            assert decision.problem is not None
            problem = decision.problem
            rule = rules.display_id(problem.pack, problem.rule)
            row = UnreadableRow(source.name, key, problem, rule)
            report.unreadable_seen[source.name] += 1
            first = report.unreadable.setdefault(source.name, [])
            if len(first) < WARN_FIRST:
                first.append(row)
            writer.unreadable(row)
    if writer.wants_aggregates:
        for source in sources:
            count_source(report, rules, source, at)
    writer.finish(report)
    return report


class _Labels:
    """One :class:`RowLabel` per distinct decision, and the due counts by rule."""

    def __init__(self, rules: RuleSet, report: Report) -> None:
        self.rules = rules
        self.report = report
        # id(decision) -> [decision (kept alive, so its id stays its own), label, count]
        self.known: dict[int, list[Any]] = {}

    def of(self, decision: Decision) -> RowLabel:
        known = self.known.get(id(decision))
        if known is None or known[0] is not decision:
            if len(self.known) >= 65_536:
                self.tally()
            known = self.known[id(decision)] = [decision, RowLabel.of(decision, self.rules), 0]
        known[2] += 1
        label: RowLabel = known[1]
        return label

    def tally(self) -> None:
        for _, label, n in self.known.values():
            self.report.due[(label.pack, label.rule, label.action)] += n
        self.known.clear()


def _decisions(
    source: RecordSource,
    predicate: Predicate,
    rules: RuleSet,
    evaluator: Evaluator,
    at: Instant,
    expected: Status,
) -> Iterator[tuple[str, Decision]]:
    """Each record the source selects with ``predicate``, with its decision, which must
    have status ``expected``."""
    fields = rules.fields()
    rows = source.select_rows(predicate, fields)
    if rows is None:
        with _closing(source.select(predicate, fields)) as records:
            for record in records:
                key = str(record[KEY])
                yield key, _checked(evaluator(record, at), expected, source, key)
        return
    with _closing(rows.rows) as stream:
        for key, decision in _row_decisions(rows, stream, evaluator, at):
            yield key, _checked(decision, expected, source, key)


def _row_decisions(
    rows: Rows, stream: Iterator[Sequence[Any]], evaluator: Evaluator, at: Instant
) -> Iterator[tuple[str, Decision]]:
    """Rows that agree on every value but the key are one case to the rules (a datetime
    counts by its local dates): each case is evaluated once, then remembered."""
    cases: dict[Any, Decision] = {}
    volatile = rows.volatile
    for row in stream:
        case: Any = row[1:]
        for i in volatile:
            if row[i] is not None:  # a datetime counts by its local date(s) only
                case = _dated(row, volatile, evaluator.zones)
                break
        try:
            decision = cases.get(case) if case is not None else None
        except TypeError:  # a value that cannot be a key (a list): no cache
            decision, case = None, None
        if decision is None:
            decision = evaluator(rows.record(row), at)
            if case is not None and decision.status is not Status.UNREADABLE:
                if len(cases) >= evaluator.size:
                    cases.clear()
                cases[case] = decision
        yield str(row[0]), decision


def _checked(decision: Decision, expected: Status, source: RecordSource, key: str) -> Decision:
    if decision.status is not expected:
        raise DisagreementError(
            f"source '{source.name}', record {quoted(key)}: the database selected it as "
            f"{expected.value}, but the rules say {decision.status.value} ({decision.reason}); "
            "nothing was acted on. This is a fault of keepfor's: please report it"
        )
    return decision


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
