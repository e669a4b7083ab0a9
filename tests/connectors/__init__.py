"""Connector tests; :func:`due_by_action` is the oracle the CRM sweep tests compare with."""

from __future__ import annotations

from keepfor import Action, RuleSet, Status, evaluate
from keepfor.abc import RecordSource
from keepfor.engine import Instant


def due_by_action(source: RecordSource, rules: RuleSet, at: Instant) -> dict[Action, set[str]]:
    """What the engine says each record of ``source`` gets, every record read and
    evaluated one by one (the source closed after)."""
    out: dict[Action, set[str]] = {a: set() for a in Action}
    try:
        source.check(rules)
        for key, record in source.records(set(rules.needs()) | {"category"}, None):
            decision = evaluate(rules, record, at)
            if decision.status is Status.DUE and decision.action is not None:
                out[decision.action].add(key)
    finally:
        source.close()
    return out
