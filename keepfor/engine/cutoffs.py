"""Cutoffs: "is this record due on day T?" as a condition on the record's own fields.

A database cannot run :func:`keepfor.engine.evaluate`, but it can compare a column
with a constant. Disposal is monotone in every anchor date (periods, month
clamping and ``end_of`` never move a later event earlier), so for one ``{from,
for}`` term and one day T

    disposal(event) <= T   <=>   event <= cutoff

where the cutoff is the latest event date that is already due; it is computed here,
in Python, with the same calendar arithmetic as evaluation. A whole rule set then
becomes a small boolean :data:`Predicate` over fields:

* ``latest_of`` is AND of its parts (an ``optional`` part: missing OR due),
* ``earliest_of`` is OR,
* a missing event is ``IS NULL`` (not due: the record waits),
* a record is due when some rule matches it and every rule that matches it is due
  (retention wins).

:func:`due_predicate` builds it; :func:`holds` evaluates it on a record in Python, which
is how the tests prove it equal to :func:`evaluate`, and connectors compile the same
tree to SQL.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from keepfor.engine.anchors import Anchor, EndOf, EndOfKind, FieldAnchor
from keepfor.engine.evaluate import Instant, local_today
from keepfor.engine.periods import Period
from keepfor.engine.predicates import (
    Acted,
    All,
    Any_,
    BadValue,
    Equals,
    Held,
    Never,
    Not,
    OnOrBefore,
    Predicate,
    Present,
    Switch,
    fields_of,
    holds,
)
from keepfor.engine.rules import (
    Boundary,
    RetentionRule,
    RulePack,
    RuleSet,
    ValueKind,
)
from keepfor.engine.terms import EarliestOf, LatestOf, Retain, Term

__all__ = [
    "Acted",
    "All",
    "Any_",
    "BadValue",
    "Equals",
    "Held",
    "Never",
    "Not",
    "OnOrBefore",
    "Predicate",
    "Present",
    "Switch",
    "ValueKind",
    "due_predicate",
    "fields_of",
    "held_predicate",
    "holds",
    "latest_due_anchor",
    "latest_due_event",
    "match_predicate",
    "matched_predicate",
    "readable_predicate",
    "rule_due_predicate",
    "unreadable_predicate",
    "waiting_predicate",
]


# -- inverting the calendar arithmetic -------------------------------------------------


def latest_due_anchor(period: Period, latest_retain_until: date) -> date | None:
    """The latest anchor date ``a`` with ``a + period <= latest_retain_until``.

    ``a + period`` is monotone, so the answer is found by subtracting the period and
    stepping over the few days that month-end clamping makes ambiguous.
    """
    try:
        guess: date = latest_retain_until - period.delta
    except (OverflowError, ValueError):
        return None
    while (after := _plus_days(guess, 1)) is not None and _ends_by(
        period, after, latest_retain_until
    ):
        guess = after
    while not _ends_by(period, guess, latest_retain_until):
        before = _plus_days(guess, -1)
        if before is None:
            return None
        guess = before
    return guess


def _plus_days(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _ends_by(period: Period, anchor: date, latest_retain_until: date) -> bool:
    """``anchor + period <= latest_retain_until``; a sum past year 9999 is never due."""
    try:
        return period.add_to(anchor) <= latest_retain_until
    except (OverflowError, ValueError):
        return False


def latest_due_event(anchor: Anchor, latest_anchor: date) -> date | None:
    """The latest event date whose anchor date is on or before ``latest_anchor``."""
    if isinstance(anchor, FieldAnchor):
        return latest_anchor
    assert isinstance(anchor, EndOf)
    if anchor.kind is EndOfKind.MONTH:
        last = calendar.monthrange(latest_anchor.year, latest_anchor.month)[1]
        if latest_anchor.day == last:
            return latest_anchor
        return _minus_day(latest_anchor.replace(day=1))
    if anchor.kind is EndOfKind.CALENDAR_YEAR:
        year_end = date(latest_anchor.year, 12, 31)
        return year_end if latest_anchor == year_end else _year_end(latest_anchor.year - 1)
    fy_end = anchor.financial_year_end
    assert fy_end is not None
    this_year = fy_end.in_year(latest_anchor.year)
    if this_year <= latest_anchor:
        return this_year
    return None if latest_anchor.year == 1 else fy_end.in_year(latest_anchor.year - 1)


def _minus_day(day: date) -> date | None:
    return _plus_days(day, -1)


def _year_end(year: int) -> date | None:
    return None if year < 1 else date(year, 12, 31)


# -- from rules to predicates ----------------------------------------------------------


def _has_date(term: Term) -> Predicate:
    """The term has a retain-until date (no event it needs is missing)."""
    if isinstance(term, Retain):
        return Present(term.anchor.field)
    if isinstance(term, EarliestOf):
        return Any_(tuple(_has_date(p) for p in term.parts))
    assert isinstance(term, LatestOf)
    required = tuple(_has_date(p) for p in term.parts if not p.optional)
    some = Any_(tuple(_has_date(p) for p in term.parts))
    return All((*required, some))


def _within(term: Term, latest_retain_until: date, zone: str) -> Predicate:
    """The term has a retain-until date and it is on or before ``latest_retain_until``."""
    if isinstance(term, Retain):
        anchor = latest_due_anchor(term.period, latest_retain_until)
        event = None if anchor is None else latest_due_event(term.anchor, anchor)
        return Never() if event is None else OnOrBefore(term.anchor.field, event, zone)
    assert isinstance(term, (LatestOf, EarliestOf))
    parts = [_within(p, latest_retain_until, zone) for p in term.parts]
    if isinstance(term, EarliestOf):
        return Any_(tuple(parts))
    assert isinstance(term, LatestOf)
    conditions: list[Predicate] = []
    for part, within in zip(term.parts, parts, strict=True):
        if part.optional:
            conditions.append(Any_((Not(_has_date(part)), within)))
        else:
            conditions.append(within)
    conditions.append(Any_(tuple(_has_date(p) for p in term.parts)))
    return All(tuple(conditions))


def match_predicate(rule: RetentionRule) -> Predicate:
    """The rule applies to the record (every ``applies_to`` and ``where`` equality)."""
    return All(tuple(Equals(k, v) for k, v in rule.conditions()))


def rule_due_predicate(
    pack: RulePack, rule: RetentionRule, at: Instant, not_before: date | None = None
) -> Predicate:
    """The rule's term gives a disposal date on or before the date of ``at`` in the pack's
    zone (or ``not_before``, where that is later)."""
    today = local_today(at, pack)
    if not_before is not None and not_before > today:
        today = not_before
    latest = today - timedelta(days=1) if rule.boundary is Boundary.AFTER else today
    return _within(rule.retain, latest, pack.timezone)


def waiting_predicate(rule: RetentionRule) -> Predicate:
    """The rule applies but its term has no date yet (an event has not happened)."""
    return All((match_predicate(rule), Not(_has_date(rule.retain))))


def matched_predicate(rules: RuleSet) -> Predicate:
    """Some rule applies to the record."""
    return Any_(tuple(match_predicate(rule) for _, rule in rules))


def due_predicate(rules: RuleSet, at: Instant, *, not_before: date | None = None) -> Predicate:
    """Due: some rule matches, and every rule that matches is due (retention wins).

    Written as "some rule matches and is due, and no rule matches and is not due": two
    terms per rule, so the SQL grows linearly with the rules; the first, positive, term
    lets a database reject a record early (or use an index). Where no record can meet the
    conditions of two groups of rules (each tests a category of its own), one term: the
    group's rules are all due (a third less for the database to evaluate per record on
    the benchmark's pack). ``not_before``: due on that
    day, or on the date of ``at`` where that is later, in each pack's zone (the windows
    of a forecast, which never start before today anywhere).
    """
    by_match: dict[Predicate, list[Predicate]] = {}
    for pack, rule in rules:
        due = rule_due_predicate(pack, rule, at, not_before)
        by_match.setdefault(match_predicate(rule), []).append(due)
    if _exclusive([_parts(match) for match in by_match]):
        # a record meets the conditions of one group of rules at most (one category
        # each): due when that group's rules all are, one term, not two
        return _dispatch(
            [(_parts(match), _fold(dues, All)) for match, dues in by_match.items()], _any_of
        )
    # rules that apply alike are taken together: some of them is due, or all are, where
    # cutoffs on one field fold into one comparison (so fifty rules on one category
    # cost one comparison per record, not fifty)
    # and by category where many are tested (:func:`_dispatch`)
    some_due = _dispatch(
        [(_parts(match), _fold(dues, Any_)) for match, dues in by_match.items()], _any_of
    )
    some_not_due = _dispatch(
        [(_parts(match), Not(_fold(dues, All))) for match, dues in by_match.items()], _any_of
    )
    return All((some_due, Not(some_not_due)))


def _exclusive(groups: Sequence[tuple[Predicate, ...]]) -> bool:
    """No record meets the conditions of two groups: there is one group, or a field that
    every group tests for one text of its own (no value equals two different texts)."""
    if len(groups) == 1:
        return True
    fields = {c.field for c in groups[0] if isinstance(c, Equals) and isinstance(c.value, str)}
    for field in sorted(fields):
        texts = [
            [c.value for c in group if isinstance(c, Equals) and c.field == field]
            for group in groups
        ]
        if all(len(t) == 1 and isinstance(t[0], str) for t in texts) and len(
            {t[0] for t in texts}
        ) == len(texts):
            return True
    return False


def _parts(match: Predicate) -> tuple[Predicate, ...]:
    return match.parts if isinstance(match, All) else (match,)


def _any_of(items: Sequence[tuple[tuple[Predicate, ...], Predicate]]) -> Predicate:
    """Some item's conditions and its predicate hold."""
    return Any_(tuple(All((*conditions, then)) for conditions, then in items))


def _fold(parts: list[Predicate], kind: type[All] | type[Any_]) -> Predicate:
    """``kind(parts)``, with the cutoffs of one field and zone folded into one: the
    earliest where all must hold, the latest where one must; repeats dropped."""
    pick = max if kind is Any_ else min
    cutoffs: dict[tuple[str, str], date] = {}
    others: list[Predicate] = []
    for part in parts:
        if isinstance(part, OnOrBefore):
            spot = (part.field, part.zone)
            known = cutoffs.get(spot)
            cutoffs[spot] = part.cutoff if known is None else pick(known, part.cutoff)
        elif part not in others:
            others.append(part)
    folded: list[Predicate] = [
        OnOrBefore(field, cutoff, zone) for (field, zone), cutoff in cutoffs.items()
    ]
    folded += others
    return folded[0] if len(folded) == 1 else kind(tuple(folded))


def unreadable_predicate(rules: RuleSet) -> Predicate:
    """Some rule needs a value it cannot read (see :func:`keepfor.evaluate`).

    Rule by rule: every condition holds or meets a non-boolean where it needs one,
    and some such condition, or some anchor of the rule, holds a value of the wrong
    kind. A bad value in a rule the record plainly does not match does not count.

    Written bad value by bad value (each with the conditions of the rules that read
    it), so a field read by many rules is checked once, not once per rule; and by
    category where many are tested (:func:`_dispatch`): the same predicate, distributed.
    """
    items: list[tuple[tuple[Predicate, ...], tuple[BadValue, ...]]] = []
    for _, rule in rules:
        conditions: list[Predicate] = []
        bad: list[BadValue] = []
        for name, value in rule.conditions():
            if isinstance(value, bool):
                wrong = BadValue(name, ValueKind.BOOLEAN)
                conditions.append(Any_((Equals(name, value), wrong)))
                bad.append(wrong)
            else:
                conditions.append(Equals(name, value))
        bad.extend(BadValue(name, ValueKind.DATE) for name in rule.retain.fields())
        items.append((tuple(conditions), tuple(dict.fromkeys(bad))))
    return _dispatch(items, _by_bad_value)


def _by_bad_value(items: Sequence[tuple[tuple[Predicate, ...], tuple[BadValue, ...]]]) -> Predicate:
    """Some rule's conditions hold and one of its values is bad, bad value by bad value."""
    whens: dict[BadValue, list[Predicate]] = {}
    for conditions, bad in items:
        when = All(conditions)
        for leaf in bad:
            known = whens.setdefault(leaf, [])
            if when not in known:
                known.append(when)
    return Any_(
        tuple(
            All((known[0] if len(known) == 1 else Any_(tuple(known)), leaf))
            for leaf, known in whens.items()
        )
    )


_Item = TypeVar("_Item")


def _dispatch(
    items: Sequence[tuple[tuple[Predicate, ...], _Item]],
    build: Callable[[Sequence[tuple[tuple[Predicate, ...], _Item]]], Predicate],
) -> Predicate:
    """``build(items)``, items being (a rule's conditions, what else it needs); where
    they test three or more texts of one field (a category), a :class:`Switch` on it
    instead, each case built of the items that test its text (that test left out) and
    of those that test no text of that field, so that a record meets only the rules of
    its own category, not a test per rule."""
    texts: dict[str, set[str]] = {}
    for conditions, _ in items:
        for condition in conditions:
            if isinstance(condition, Equals) and isinstance(condition.value, str):
                texts.setdefault(condition.field, set()).add(condition.value)
    field = max(texts, key=lambda name: len(texts[name]), default=None)
    if field is None or len(texts[field]) < 3:
        return build(items)
    cases: dict[str, list[tuple[tuple[Predicate, ...], _Item]]] = {}
    rest: list[tuple[tuple[Predicate, ...], _Item]] = []
    for conditions, extra in items:
        tests = [c for c in conditions if isinstance(c, Equals) and c.field == field]
        text = next((c.value for c in tests if isinstance(c.value, str)), None)
        if text is None:
            rest.append((conditions, extra))
            continue
        others = tuple(c for c in conditions if c != Equals(field, text))
        cases.setdefault(text, []).append((others, extra))
    return Switch(
        field,
        tuple((text, build(found + rest)) for text, found in cases.items()),
        build(rest),
    )


def readable_predicate(rules: RuleSet) -> Predicate:
    """Every value the rules need can be read: the record gets a status other than
    ``unreadable``, and every other predicate here means what it says."""
    return Not(unreadable_predicate(rules))


def held_predicate(rules: RuleSet, at: Instant) -> Held:
    """Held at ``at``: by a hold whose ``until`` has not passed in any pack's zone (the
    earliest local date of the packs is compared with it: a hold that still holds
    somewhere still holds)."""
    days = [local_today(at, pack) for pack in rules.packs]
    return Held(min(days) if days else local_today_utc(at))


def local_today_utc(at: Instant) -> date:
    """The date of ``at`` in UTC (where no pack gives a zone)."""
    return at.astimezone(UTC).date() if isinstance(at, datetime) else at
