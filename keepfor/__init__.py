"""keepfor: apply a privacy policy's retention schedule to customer records.

The public API is flat and small; everything else lives in modules whose layout
shows the architecture (``keepfor.engine`` is the pure core)::

    import keepfor
    rules = keepfor.load_rules("rules/")
    decision = keepfor.evaluate(rules, {"category": "order", "placed_at": "2019-05-01"},
                                at=datetime(2026, 11, 22, tzinfo=UTC))
    decision.status, decision.disposal_date, decision.to_dict()
    for decision in keepfor.evaluate_many(rules, records, at):  # a stream, case-cached
        ...
"""

from keepfor.clock import Clock, FixedClock, SystemClock
from keepfor.engine import (
    Action,
    Basis,
    Boundary,
    Decision,
    Period,
    RetentionRule,
    RuleOutcome,
    RulePack,
    RuleSet,
    Status,
    evaluate,
    load_pack,
    load_rules,
    parse_pack,
)
from keepfor.errors import KeepforError, RecordError, RulePackError, UsageError
from keepfor.evaluators.python import evaluate_many

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Basis",
    "Boundary",
    "Clock",
    "Decision",
    "FixedClock",
    "KeepforError",
    "Period",
    "RecordError",
    "RetentionRule",
    "RuleOutcome",
    "RulePack",
    "RulePackError",
    "RuleSet",
    "Status",
    "SystemClock",
    "UsageError",
    "__version__",
    "evaluate",
    "evaluate_many",
    "load_pack",
    "load_rules",
    "parse_pack",
]
