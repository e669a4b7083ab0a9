"""The pure core: rule model, periods, anchors, terms, loading and evaluation.

Nothing here reads a clock, a file other than a rule pack, a database or a screen:
``evaluate(rules, record, at)`` is a function of its arguments.
"""

from keepfor.engine.anchors import (
    Anchor,
    EndOf,
    EndOfKind,
    FieldAnchor,
    MonthDay,
    Several,
    local_date,
)
from keepfor.engine.decision import Decision, RuleOutcome, Status
from keepfor.engine.evaluate import Instant, evaluate
from keepfor.engine.loader import json_schema, load_pack, load_rules, parse_pack
from keepfor.engine.periods import Period
from keepfor.engine.rules import Action, Basis, Boundary, RetentionRule, RulePack, RuleSet
from keepfor.engine.terms import EarliestOf, LatestOf, Retain, Term, TermResult

__all__ = [
    "Action",
    "Anchor",
    "Basis",
    "Boundary",
    "Decision",
    "EarliestOf",
    "EndOf",
    "EndOfKind",
    "FieldAnchor",
    "Instant",
    "LatestOf",
    "MonthDay",
    "Period",
    "Retain",
    "RetentionRule",
    "RuleOutcome",
    "RulePack",
    "RuleSet",
    "Several",
    "Status",
    "Term",
    "TermResult",
    "evaluate",
    "json_schema",
    "load_pack",
    "load_rules",
    "local_date",
    "parse_pack",
]
