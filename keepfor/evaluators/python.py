"""The pure-Python evaluator: :class:`keepfor.engine.evaluate.Evaluator` (``evaluate``
with a memory of recent cases), and :func:`evaluate_many` to decide a stream of records
with it, as a sync job does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, Protocol, runtime_checkable

from keepfor.abc import Evaluator
from keepfor.engine.decision import Decision
from keepfor.engine.evaluate import Evaluator as PythonEvaluator
from keepfor.engine.evaluate import Instant, check_instant
from keepfor.engine.rules import RulePack, RuleSet

__all__ = ["BatchEvaluator", "PythonEvaluator", "evaluate_many"]

BATCH = 1_000
"""Records handed at once to an evaluator that decides a batch (:class:`BatchEvaluator`)."""


@runtime_checkable
class BatchEvaluator(Protocol):
    """An evaluator that decides many records at once faster than one by one
    (durable_rules: one batch of facts)."""

    def __call__(self, record: Mapping[str, Any], at: Instant) -> Decision: ...

    def decide_many(self, records: Sequence[Mapping[str, Any]], at: Instant) -> list[Decision]:
        """Each record's decision, in order."""
        ...


def evaluate_many(
    rules: RuleSet | RulePack | Iterable[RulePack],
    records: Iterable[Mapping[str, Any]],
    at: Instant,
    *,
    evaluator: Evaluator | None = None,
) -> Iterator[Decision]:
    """The decision for each record, in order, as the records stream in.

    Records that agree on every value the rules read share one decision, worked out
    once (the case cache of :class:`PythonEvaluator`): a large table is decided at the
    cost of its distinct cases. ``evaluator`` (e.g. ``evaluator_named("durable_rules",
    rules)``) decides instead of the Python one; one that decides a batch at once
    (:class:`BatchEvaluator`) is given :data:`BATCH` records at a time. A bad ``at`` is
    refused here, before any record is read."""
    check_instant(at)
    decide = evaluator if evaluator is not None else PythonEvaluator(rules)
    if isinstance(decide, BatchEvaluator):
        return _batched(decide, iter(records), at)
    return (decide(record, at) for record in records)


def _batched(
    evaluator: BatchEvaluator, records: Iterator[Mapping[str, Any]], at: Instant
) -> Iterator[Decision]:
    while batch := list(islice(records, BATCH)):
        yield from evaluator.decide_many(batch, at)
