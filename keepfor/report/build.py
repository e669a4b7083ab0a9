"""Building a report: each source's database selects its due and its unreadable records
in one pass, grouped by case (every value the rules read); the engine decides each group
once; the writer gets each group's keys in one go; then the held records, each with its
holds' reasons (:mod:`keepfor.report.held`); then each source counts its buckets,
its forecast and its chart in one more pass, which the database works on while the due
records are written where it can. Memory does not grow with the table.

The database and the engine are proven to agree (the differential tests): a record the
database selects is due or unreadable to the engine. Should they ever disagree, the
report stops with an error naming the source and record instead of dropping it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from keepfor.abc import Evaluator, Group, RecordSource, ReportWriter
from keepfor.engine import Decision, Instant, RuleSet, Status
from keepfor.engine.cutoffs import (
    All,
    Any_,
    Not,
    Predicate,
    due_predicate,
    held_predicate,
    unreadable_predicate,
)
from keepfor.engine.evaluate import Evaluator as PythonEvaluator
from keepfor.errors import KeepforError, quoted
from keepfor.reading import Decided, ReadAhead, decided_groups, keys_of
from keepfor.report.counts import count_source, counted_groups
from keepfor.report.held import list_held
from keepfor.report.model import Report, RowLabel, UnreadableRow

__all__ = ["BOUND", "DisagreementError", "build_report", "selection"]

BOUND = 10_000
"""Keys a group brings at most; a larger group's keys are streamed."""

WARN_FIRST = 3
"""Unreadable records of a source kept for the warning line (all of them are written)."""


class DisagreementError(KeepforError):
    """The database selected a record the engine decides otherwise: a fault of keepfor's
    (the push-down and the engine are proven equal), reported instead of hidden."""


def selection(rules: RuleSet, at: Instant) -> Predicate:
    """What a report reads: the unreadable records, and the due ones not held (a readable
    record is due when the due predicate holds: no need to ask twice whether it is
    readable). The database leaves held records out; an unreadable one is listed even if
    held (see :func:`keepfor.report.counts.bucket_predicates`)."""
    due = All((due_predicate(rules, at), Not(held_predicate(rules, at))))
    return Any_((unreadable_predicate(rules), due))


def build_report(
    rules: RuleSet,
    sources: Sequence[RecordSource],
    at: Instant,
    writer: ReportWriter,
    *,
    progress: Callable[[int], None] | None = None,
    bound: int = BOUND,
    evaluator: Evaluator | None = None,
) -> Report:
    """Write every due, every unreadable and every held record to ``writer``, then the
    aggregates; ``evaluator`` decides the records (default: the Python one)."""
    report = Report(at=at, rules=rules, sources=[s.name for s in sources])
    for source in sources:
        source.check(rules)
    evaluator = evaluator if evaluator is not None else PythonEvaluator(rules)
    wanted = selection(rules, at)
    labels = _Labels(rules, report)
    for source in sources:
        with _counts_ahead(source, rules, at, writer) as counting:
            for decided in decided_groups(source, wanted, rules, evaluator, at, bound):
                _write(report, writer, source, wanted, decided, rules, labels, bound, progress)
            list_held(report, writer, source, rules, at)
            if writer.wants_aggregates:
                count_source(report, rules, source, at, evaluator, counting)
    labels.tally()
    writer.finish(report)
    return report


@contextlib.contextmanager
def _counts_ahead(
    source: RecordSource, rules: RuleSet, at: Instant, writer: ReportWriter
) -> Iterator[ReadAhead[Group] | None]:
    """The source's counts, asked for now and read by a thread of their own while the
    due records are written, where the writer wants them and the source can (the
    database groups every record for them: the 4M-row json report on SQLite went from
    36.4 to 29.7 s on two processors; docs/benchmarks.md)."""
    if not (writer.wants_aggregates and source.reads_ahead()):
        yield None
        return
    with ReadAhead(counted_groups(source, rules, at)) as ahead:
        yield ahead


def _write(
    report: Report,
    writer: ReportWriter,
    source: RecordSource,
    wanted: Predicate,
    decided: Decided,
    rules: RuleSet,
    labels: _Labels,
    bound: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Write one group of records the database selected: due, or unreadable."""
    decision = decided.decision
    if decision.status not in (Status.DUE, Status.UNREADABLE):
        key = _first_key(source, wanted, decided)
        raise DisagreementError(
            f"source '{source.name}', record {quoted(key)}: the "
            f"database selected it as due or unreadable, but the rules say "
            f"{decision.status.value} ({decision.reason}); nothing was acted on. "
            "This is a fault of keepfor's: please report it"
        )
    for keys in keys_of(source, wanted, decided, bound):
        if decision.status is Status.DUE:
            writer.due_group(source.name, keys, decision, labels.of(decision, len(keys)))
            if progress is not None:
                progress(len(keys))
        else:
            _unreadable(report, writer, source, keys, decision, rules)


def _first_key(source: RecordSource, wanted: Predicate, decided: Decided) -> str:
    """One record's key of decided records, as text, to name it in a message."""
    keys = next(keys_of(source, wanted, decided, 1), ())
    return source.key.text(keys[0]) if keys else "?"


def _unreadable(
    report: Report,
    writer: ReportWriter,
    source: RecordSource,
    keys: Sequence[Any],
    decision: Decision,
    rules: RuleSet,
) -> None:
    problem = decision.problem
    assert problem is not None
    rule = rules.display_id(problem.pack, problem.rule)
    report.unreadable_seen[source.name] += len(keys)
    first = report.unreadable.setdefault(source.name, [])
    for key in keys[: WARN_FIRST - len(first)]:
        first.append(UnreadableRow(source.name, str(key), problem, rule))
    writer.unreadable_group(source.name, keys, problem, rule)


class _Labels:
    """One :class:`RowLabel` per distinct decision, and the due counts by rule."""

    def __init__(self, rules: RuleSet, report: Report) -> None:
        self.rules = rules
        self.report = report
        # id(decision) -> [decision (kept alive, so its id stays its own), label, count]
        self.known: dict[int, list[Any]] = {}

    def of(self, decision: Decision, count: int) -> RowLabel:
        known = self.known.get(id(decision))
        if known is None or known[0] is not decision:
            if len(self.known) >= 65_536:
                self.tally()
            known = self.known[id(decision)] = [decision, RowLabel.of(decision, self.rules), 0]
        known[2] += count
        label: RowLabel = known[1]
        return label

    def tally(self) -> None:
        for _, label, n in self.known.values():
            self.report.due[(label.pack, label.rule, label.action)] += n
        self.known.clear()
