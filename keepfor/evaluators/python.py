"""The pure-Python evaluator: :class:`keepfor.engine.evaluate.Evaluator` (``evaluate``
with a memory of recent cases), and :func:`evaluate_many` to decide a stream of records
with it, as a sync job does."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from keepfor.abc import Evaluator
from keepfor.engine.evaluate import Decision, Instant, check_instant
from keepfor.engine.evaluate import Evaluator as PythonEvaluator
from keepfor.engine.rules import RulePack, RuleSet

__all__ = ["PythonEvaluator", "evaluate_many"]


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
    rules)``) decides instead of the Python one. A bad ``at`` is refused here, before
    any record is read."""
    check_instant(at)
    decide = evaluator if evaluator is not None else PythonEvaluator(rules)
    return (decide(record, at) for record in records)
