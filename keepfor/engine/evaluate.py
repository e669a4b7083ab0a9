"""Evaluation: ``evaluate(rules, record, at) -> Decision``, a pure function.

Every rule of every pack is tried. Of the rules that match:

* if any has no retain-until date (its event has not happened), the record is
  ``waiting`` and has no disposal date;
* otherwise retention wins: the disposal date is the latest of theirs, and the
  rule that gave it is the winning rule. Where rules tie on that date, the
  gentlest action wins (flag < review < anonymise < archive < purge: a purge never
  beats a review of the same date), then the first loaded.

The record is ``due`` when that date is on or before the date of ``at`` in the
winning pack's time zone, ``retained`` when it is later, and ``unmatched`` when
no rule matches. It is ``unreadable`` when a value the rules need is not what they
need (a date field holding ``31/12/2015``, a ``vip: true`` condition meeting ``"yes"``):
such a record is shown with the field and value, and never acted on. Evaluation is
total: every record gets exactly one status. ``at`` is passed in: the engine never
reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from keepfor.engine.anchors import local_date
from keepfor.engine.decision import Decision, RuleOutcome, Status, Unreadable, iso_date
from keepfor.engine.rules import Action, RetentionRule, RulePack, RuleSet
from keepfor.errors import RecordError, UsageError, quoted

__all__ = [
    "Evaluator",
    "Instant",
    "Verdicts",
    "decide",
    "evaluate",
    "local_today",
    "match",
]

Instant = datetime | date
"""When a record is evaluated: an aware datetime, or a date meaning that day in every zone."""


def check_instant(at: Instant) -> None:
    """Refuse an evaluation instant that is not a date or an aware datetime."""
    if isinstance(at, datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise UsageError(
                f"the evaluation instant {at.isoformat()} has no UTC offset; "
                "give one, e.g. 2026-11-22T09:00:00Z"
            )
    elif not isinstance(at, date):
        raise UsageError(f"the evaluation instant must be a date or datetime, not {at!r}")


def local_today(at: Instant, pack: RulePack) -> date:
    """The date of ``at`` in the pack's time zone."""
    check_instant(at)
    return at.astimezone(pack.zone).date() if isinstance(at, datetime) else at


def _packs(rules: RuleSet | RulePack | Iterable[RulePack]) -> RuleSet:
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, RulePack):
        return RuleSet((rules,))
    return RuleSet(tuple(rules))


Verdicts = Mapping[int, str | None]
"""Which rules another engine (durable_rules) matched: a rule's index in load order ->
None where its conditions hold, or the field whose value keeps them from being read
(where ``vip: true`` meets ``"yes"``); a rule left out does not match."""


def match(
    rules: RuleSet, record: Mapping[str, Any], verdicts: Verdicts | None = None
) -> list[RuleOutcome] | Unreadable:
    """Every rule that matches the record, with its worked-out term; or, where a value
    the rules need cannot be read, the first such value. ``verdicts``, when given, says
    which rules match instead of their own :meth:`RetentionRule.matches`."""
    outcomes = []
    tried = rules.candidates(record) if verdicts is None else _in_turn(rules)
    for index, pack, rule in tried:
        if verdicts is None:
            hit = rule.matches(record)
            name = None if hit else rule.unreadable_field(record)
        else:
            name = verdicts.get(index, "")  # "": not matched (a field is never named "")
            hit = name is None
        if not hit:
            if name:
                value = record.get(name)
                reason = f"{quoted(value)} is not true or false"
                return Unreadable(name, value, reason, rule.id, pack.id)
            continue
        try:
            term = rule.retain.evaluate(record, pack.zone)
        except RecordError as error:
            name = error.field or ""
            return Unreadable(name, record.get(name), error.detail, rule.id, pack.id)
        until = term.retain_until
        disposal = None if until is None else rule.disposal_date(until)
        outcomes.append(RuleOutcome(pack, rule, term, disposal))
    return outcomes


def _in_turn(rules: RuleSet) -> Iterator[tuple[int, RulePack, RetentionRule]]:
    for index, (pack, rule) in enumerate(rules):
        yield index, pack, rule


def evaluate(
    rules: RuleSet | RulePack | Iterable[RulePack],
    record: Mapping[str, Any],
    at: Instant,
) -> Decision:
    """Decide what the rules say about ``record`` at ``at``. Pure: no clock, no I/O.

    Total: a value the rules cannot read gives status ``unreadable``, not an exception.
    """
    ruleset = _packs(rules)
    check_instant(at)
    return decide(ruleset, record, at, match(ruleset, record))


def decide(
    rules: RuleSet,
    record: Mapping[str, Any],
    at: Instant,
    outcomes: list[RuleOutcome] | Unreadable,
) -> Decision:
    """The decision, given what :func:`match` found: the winner, the status and the
    reason (shared by every evaluator, so that they decide alike)."""
    if isinstance(outcomes, Unreadable):
        reason = f"field '{outcomes.field}' (rule '{outcomes.rule}'): {outcomes.reason}"
        return Decision(Status.UNREADABLE, None, None, (), None, reason, outcomes)
    if not outcomes:
        return Decision(Status.UNMATCHED, None, None, (), None, _unmatched_reason(rules, record))
    matched = tuple(outcomes)
    waiting = [o for o in outcomes if o.retain_until is None]
    if waiting:
        first = waiting[0]
        today = local_today(at, first.pack)
        return Decision(Status.WAITING, None, None, matched, today, _waiting_reason(waiting))
    dated = [(o.disposal_date, o) for o in outcomes if o.disposal_date is not None]
    # latest date, then gentlest action, then first loaded (``-order``: max prefers it)
    disposal, _, _, winner = max(
        (d, -o.rule.action.severity, -order, o) for order, (d, o) in enumerate(dated)
    )
    today = local_today(at, winner.pack)
    # Due once every matching rule's date has come in its own pack's zone (the
    # winner's is the latest date, but packs in other zones may not have reached it).
    due = all(d <= local_today(at, o.pack) for d, o in dated)
    status = Status.DUE if due else Status.RETAINED
    reason = _won_reason(winner, outcomes)
    reviewer = _reviewer(winner, outcomes)
    if reviewer is not None:
        reason += (
            f"; '{reviewer.rule.id}' asks for review, and a purge never beats a review: "
            "review first"
        )
    return Decision(status, disposal, winner, matched, today, reason, reviewed=reviewer is not None)


def _reviewer(winner: RuleOutcome, outcomes: list[RuleOutcome]) -> RuleOutcome | None:
    """Where the winner purges, the first other matching rule that asks for review."""
    if winner.rule.action is not Action.PURGE:
        return None
    return next((o for o in outcomes if o.rule.action is Action.REVIEW), None)


def _unmatched_reason(rules: RuleSet, record: Mapping[str, Any]) -> str:
    keys = sorted({name for _, rule in rules for name in rule.applies_to})
    shown = ", ".join(f"{k}={quoted(record.get(k))}" for k in keys) or "no fields"
    return f"no rule applies to this record ({shown})"


def _waiting_reason(waiting: list[RuleOutcome]) -> str:
    parts = []
    for outcome in waiting:
        fields = ", ".join(outcome.term.waiting_on) or "its fields"
        parts.append(f"rule '{outcome.rule.id}' waits for {fields}, which has not happened")
    return "; ".join(parts) + ": no disposal date until it does"


def _won_reason(winner: RuleOutcome, outcomes: list[RuleOutcome]) -> str:
    if len(outcomes) == 1:
        return f"'{winner.rule.id}' is the only rule that applies"
    others = [o for o in outcomes if o is not winner]
    tied = [o for o in others if o.disposal_date == winner.disposal_date]
    text = (
        f"'{winner.rule.id}' gives the latest disposal date of the {len(outcomes)} rules "
        f"that apply (retention wins): {', '.join(_dated(o) for o in others)}"
    )
    if tied:
        text += (
            f"; tied on {iso_date(winner.disposal_date)} with "
            f"{', '.join(repr(o.rule.id) for o in tied)}, the gentlest action "
            f"('{winner.rule.action.value}') then the first loaded wins"
        )
    return text


def _dated(outcome: RuleOutcome) -> str:
    return f"'{outcome.rule.id}' {iso_date(outcome.disposal_date)}"


_MISSING = object()
_OPAQUE = object()
"""Stands for every unhashable value (a list, a dict) in a case key."""


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class Evaluator:
    """:func:`evaluate` for a stream of records, remembering recent decisions.

    A decision depends only on the values the rules read: the matched fields, and
    the local date of each anchor field in each pack's zone. Records that agree on
    those (most records of a large table share their category and dates with
    others) share one decision, so a sweep evaluates each distinct case once. The
    memory is bounded: at most ``size`` decisions are kept.
    """

    def __init__(self, rules: RuleSet | RulePack | Iterable[RulePack], size: int = 65_536) -> None:
        self.rules = _packs(rules)
        self.size = size
        self._cache: dict[tuple[Any, ...], Decision] = {}
        match_fields = {f for _, rule in self.rules for f in (*rule.applies_to, *rule.where)}
        self.zones = tuple(dict.fromkeys(pack.zone for pack in self.rules.packs))
        """The packs' distinct time zones, in load order."""
        self._exact = tuple(sorted(match_fields))
        self._anchors: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._texts: dict[str, Any] = {}
        """Date texts already read -> their local date(s), as in a case key."""

    def _key(self, record: Mapping[str, Any], at: Instant) -> tuple[Any, ...]:
        get = record.get
        key: list[Any] = [at]
        for name in self._exact:  # matched by equality: the exact value, and its type
            value = get(name, _MISSING)  # (true and 1 are equal in Python, not in a rule)
            key.append(type(value))
            key.append(value)
        # the matched values decide which rules apply, and so which anchors count
        try:
            anchors = self._anchors.get(tuple(key))
        except TypeError:  # a list or dict matches no rule's value: all are one case
            key = [k if _hashable(k) else _OPAQUE for k in key]
            anchors = self._anchors.get(tuple(key))
        if anchors is None:
            anchors = self.anchor_fields(record)
            if len(self._anchors) >= self.size:
                self._anchors.clear()
            self._anchors[tuple(key)] = anchors
        for name in anchors:  # anchored on: only the local date counts
            value = get(name)
            if value is None or type(value) is date:
                key.append(value)
            elif type(value) is str:  # a date text is read once, not once per record
                local = self._texts.get(value, _MISSING)
                if local is _MISSING:
                    local = self._local(value, name)
                    if len(self._texts) >= self.size:
                        self._texts.clear()
                    self._texts[value] = local
                key.append(local)
            else:
                key.append(self._local(value, name))
        return tuple(key)

    def _local(self, value: Any, name: str) -> Any:
        """A value's local date in the packs' zone, or its dates in each of their zones;
        :class:`RecordError` when it is no date."""
        zones = self.zones
        if len(zones) == 1:
            return local_date(value, zones[0], name)
        return tuple(local_date(value, zone, name) for zone in zones)

    def anchor_fields(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        """The date fields a record's decision reads: those of the rules it matches."""
        return tuple(
            dict.fromkeys(f for _, r in self.rules if r.matches(record) for f in r.retain.fields())
        )

    def decide(self, record: Mapping[str, Any], at: Instant) -> Decision:
        """One record's decision, without the memory (an evaluator on another engine,
        durable_rules, overrides this)."""
        return evaluate(self.rules, record, at)

    def __call__(self, record: Mapping[str, Any], at: Instant) -> Decision:
        try:
            key = self._key(record, at)
        except RecordError:  # an anchor value that is not a date: unreadable, not shared
            return self.decide(record, at)
        decision = self._cache.get(key)
        if decision is None:
            decision = self.decide(record, at)
            if decision.status is Status.UNREADABLE:
                return decision  # it names this record's own value
            if len(self._cache) >= self.size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = decision
        return decision
