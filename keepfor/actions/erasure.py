"""An erasure request: every record of one customer is disposed of now, except what a
hold or a legal obligation keeps.

For each record of the customer (the source's ``customer`` field), the engine decides:

* held: kept (a hold beats everything), with the holds' reasons, the day the last one
  ends (none while one has no end), and the rule and basis that decide it once released;
* unreadable: kept, and said so (keepfor cannot tell which rule keeps it);
* a matching rule whose basis is ``legal_obligation`` is not yet due: kept until that
  rule's disposal date (or until the event it waits for, and the period after it); the
  contract names the winning rule's basis, and keepfor keeps every legal obligation,
  winner or not, since a disposal a day early is a breach;
* otherwise disposed of now: anonymised where the winning rule says ``anonymise``,
  purged otherwise (a record no rule covers included).

The disposals go through the same :class:`~keepfor.abc.ActionTarget` as a sweep: in
batches of one transaction, re-selected as this customer's records and not held, and
audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from keepfor.abc import ActionBatch, ActionTarget, Outcome, RecordSource
from keepfor.engine import Action, Basis, Decision, Instant, RuleSet, Status, evaluate
from keepfor.engine.cutoffs import All, Equals, Not, Predicate, held_predicate
from keepfor.engine.evaluate import local_today
from keepfor.errors import KeepforError
from keepfor.holds.listing import ActiveHolds, holds_of_source
from keepfor.holds.model import Hold
from keepfor.report.counts import bucket_predicates

__all__ = ["CUSTOMER", "NO_RULE", "Erasure", "Kept", "plan_erasure", "run_erasure"]

CUSTOMER = "customer"
"""The field that says whose a record is."""

NO_RULE = "(no rule)"
"""The rule and pack an erasure names for a record no rule covers."""


@dataclass(frozen=True)
class Kept:
    """A record an erasure request does not dispose of, and why."""

    record: str
    reason: str
    rule: str | None = None
    basis: str | None = None
    until: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "rule": self.rule,
            "basis": self.basis,
            "until": None if self.until is None else self.until.isoformat(),
            "reason": self.reason,
        }


@dataclass
class Erasure:
    """One source's answer to an erasure request."""

    purge: int = 0
    anonymise: int = 0
    failed: int = 0
    kept: list[Kept] = field(default_factory=list)
    batches: list[ActionBatch] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "purge": self.purge,
            "anonymise": self.anonymise,
            "failed": self.failed,
            "kept": [k.to_dict() for k in self.kept],
        }


def _scope(rules: RuleSet, at: Instant, customer: str) -> tuple[Predicate, Predicate | None]:
    """The customer's records, not held (what an act re-checks), and the held ones."""
    mine = Equals(CUSTOMER, customer)
    held = bucket_predicates(rules, at).get("held")
    if held is None:
        return mine, None
    return All((mine, Not(held))), All((mine, held))


def plan_erasure(
    source: RecordSource, rules: RuleSet, at: Instant, customer: str, batch_size: int
) -> Erasure:
    """What an erasure request does to one source's records of ``customer`` (reads only;
    a customer has few records, so they are read and decided one by one)."""
    recheck, held = _scope(rules, at, customer)
    out = Erasure()
    fields = (*rules.fields(), CUSTOMER)
    held_keys = set() if held is None else {k for k, _ in source.select(held, fields)}
    active: ActiveHolds | None = None  # read once, at the first held record
    grouped: dict[tuple[str, str, Action], list[Any]] = {}
    for key, record in source.select(Equals(CUSTOMER, customer), fields):
        text = source.key.text(key)
        decision = evaluate(rules, record, at)
        if key in held_keys:
            if active is None:
                active = holds_of_source(source, held_predicate(rules, at).today)
            out.kept.append(_held(active.holding(text, customer), text, decision))
            continue
        kept = _kept(text, decision, at)
        if kept is not None:
            out.kept.append(kept)
            continue
        winner = decision.winner
        action = Action.ANONYMISE if decision.action is Action.ANONYMISE else Action.PURGE
        where = (NO_RULE, NO_RULE) if winner is None else (winner.pack.id, winner.rule.id)
        grouped.setdefault((*where, action), []).append(key)
    for (pack, rule, action), keys in grouped.items():
        setattr(out, action.value, getattr(out, action.value) + len(keys))
        for i in range(0, len(keys), batch_size):
            chunk = tuple(keys[i : i + batch_size])
            out.batches.append(ActionBatch(source.name, rule, pack, action, chunk, recheck))
    return out


def _held(holding: list[Hold], text: str, decision: Decision) -> Kept:
    """A held record: the holds' reasons, and the day the last of them ends (None while
    one has no end); its rule and basis are what would decide it once released."""
    ends = [h.until for h in holding]
    until = None if not ends or None in ends else max(e for e in ends if e is not None)
    why = "; ".join(h.describe() for h in holding) or "a hold"
    winner = decision.winner
    return Kept(
        text,
        f"held: {why}",
        rule=None if winner is None else winner.rule.id,
        basis=None if winner is None else winner.rule.basis.value,
        until=until,
    )


def _kept(text: str, decision: Decision, at: Instant) -> Kept | None:
    """Why a record stays, or None: it is disposed of now. Every matching rule whose basis
    is a legal obligation keeps it until its own date, winner or not: an erasure request
    overrides what the business chose to keep, never what the law requires."""
    if decision.status is Status.UNREADABLE:
        return Kept(text, f"unreadable: {decision.reason}; correct it, then ask again")
    legal = [o for o in decision.matched if o.rule.basis is Basis.LEGAL_OBLIGATION]
    waiting = [o for o in legal if o.disposal_date is None]
    if waiting:
        waits = ", ".join(waiting[0].term.waiting_on) or "an event"
        return Kept(
            text,
            f"a legal obligation keeps it until {waits} has happened and its period passed",
            rule=waiting[0].rule.id,
            basis=Basis.LEGAL_OBLIGATION.value,
        )
    pending = [
        o
        for o in legal
        if o.disposal_date is not None and o.disposal_date > local_today(at, o.pack)
    ]
    if not pending:
        return None
    last = max(pending, key=lambda o: o.disposal_date or date.min)
    return Kept(
        text,
        "a legal obligation keeps it until its disposal date",
        rule=last.rule.id,
        basis=Basis.LEGAL_OBLIGATION.value,
        until=last.disposal_date,
    )


def run_erasure(target: ActionTarget, erasure: Erasure, at: Instant) -> list[str]:
    """Act on the planned batches; the failures, named (the rest goes on)."""
    failures: list[str] = []
    done = {Action.PURGE: 0, Action.ANONYMISE: 0}
    for batch in erasure.batches:
        try:
            result = target.apply(batch, at)
        except KeepforError as error:
            erasure.failed += len(batch.keys)
            failures.append(str(error))
            continue
        done[batch.action] += result.count(Outcome.DONE)
    erasure.purge, erasure.anonymise = done[Action.PURGE], done[Action.ANONYMISE]
    return failures
