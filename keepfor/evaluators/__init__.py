"""Evaluators: what decides a record at an instant, chosen by name.

``python`` is the engine itself (:mod:`keepfor.evaluators.python`); ``durable_rules``
compiles the packs into durable_rules rulesets that do the matching
(:mod:`keepfor.evaluators.durable`). Both give the same decisions, proven equal by
differential tests; both put the same case cache in front.

:class:`DurableSession` keeps a sync job's records in a durable_rules session and takes
their events (an enquiry resolved, consent withdrawn), giving each record's new decision
(:mod:`keepfor.evaluators.session`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keepfor.abc import Evaluator
from keepfor.engine.rules import RuleSet
from keepfor.errors import UsageError, quoted
from keepfor.evaluators.python import PythonEvaluator, evaluate_many

if TYPE_CHECKING:
    from keepfor.evaluators.session import DurableSession

__all__ = ["EVALUATORS", "DurableSession", "evaluate_many", "evaluator_named"]

EVALUATORS = ("python", "durable_rules")
"""Every evaluator's name; ``python`` is the default."""


def evaluator_named(name: str, rules: RuleSet) -> Evaluator:
    """The evaluator called ``name`` for ``rules``; a one-line :class:`UsageError` for a
    name that is none of :data:`EVALUATORS`, or for durable_rules where it is not
    installed."""
    if name == "python":
        return PythonEvaluator(rules)
    if name == "durable_rules":
        from keepfor.evaluators.durable import DurableEvaluator

        return DurableEvaluator(rules)
    choices = " or ".join(repr(choice) for choice in EVALUATORS)
    raise UsageError(f"no evaluator {quoted(name)}: choose {choices}")


def __getattr__(name: str) -> Any:
    """:class:`DurableSession` imported when asked for: durable_rules is not needed to
    start a report (its import is about 10 ms of the start-up)."""
    if name == "DurableSession":
        from keepfor.evaluators.session import DurableSession

        return DurableSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
