"""When rules disagree (docs/rules.md, "When rules disagree"): table tests of who wins.

Retention beats disposal (the latest disposal date wins); at equal dates the gentler
action wins, flag < review < anonymise < archive < purge; still tied, the rule loaded
first; and a purge never beats a review: where the winner purges and another matching rule asks for
review, the record is reviewed (at the winner's date). A rule with no date makes the
record wait.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from keepfor import Action, RulePack, Status, evaluate, parse_pack

PLACED = "2020-05-01"
AT = datetime(2200, 1, 1, tzinfo=UTC)
"""Long after every date below: every dated record is due."""


@dataclass(frozen=True, slots=True)
class Clause:
    """One rule of a conflict case: its id, its period from ``placed_at`` and its action."""

    id: str
    period: str | None
    """``None``: the rule anchors on a field the record lacks, so it has no date."""
    then: str

    def to_rule(self) -> dict[str, Any]:
        anchor = "placed_at" if self.period is not None else "delivered_at"
        return {
            "id": self.id,
            "applies_to": {"category": "order"},
            "retain": {"from": anchor, "for": self.period or "P0D"},
            "then": self.then,
        }


def pack(*clauses: Clause) -> RulePack:
    return parse_pack(
        {
            "pack": "conflicts",
            "version": "1",
            "timezone": "Europe/London",
            "rules": [clause.to_rule() for clause in clauses],
        }
    )


@dataclass(frozen=True, slots=True)
class Case:
    """Rules that match one order, and the winning rule (None: waiting)."""

    label: str
    clauses: tuple[Clause, ...]
    winner: str | None
    disposal: str | None
    action: str | None = None
    """What is done, where it is not the winner's ``then`` (a purge sent to review)."""


def case(label: str, rules: str, outcome: str) -> Any:
    """``rules``: ``id=PERIOD/then`` each (``id=-/then``: no date); ``outcome``:
    ``id@YYYY-MM-DD`` of the winner (``:action`` where that is not the winner's), or
    ``waiting``."""
    clauses = []
    for part in rules.split():
        rule_id, rest = part.split("=")
        period, then = rest.split("/")
        clauses.append(Clause(rule_id, None if period == "-" else period, then))
    winner, _, dated = outcome.partition("@")
    disposal, _, action = dated.partition(":")
    if winner == "waiting":
        return pytest.param(Case(label, tuple(clauses), None, None), id=label)
    return pytest.param(Case(label, tuple(clauses), winner, disposal, action or None), id=label)


CASES = [
    # -- retention beats disposal: the latest date wins, whatever the actions
    case("later-review-beats-purge", "a=P1Y/purge b=P2Y/review", "b@2022-05-02"),
    # ... but a purge never beats a review: the latest date, and a person first
    case("later-purge-goes-to-review", "a=P1Y/review b=P2Y/purge", "b@2022-05-02:review"),
    case("later-purge-goes-to-review-2", "a=P2Y/purge b=P1Y/review", "a@2022-05-02:review"),
    case("later-anonymise-is-not-reviewed", "a=P1Y/review b=P2Y/anonymise", "b@2022-05-02"),
    case("later-purge-beats-flag", "a=P1Y/flag b=P2Y/purge", "b@2022-05-02"),
    case("later-flag-beats-purge", "a=P6Y/flag b=P1Y/purge", "a@2026-05-02"),
    case("latest-of-three", "a=P1Y/anonymise b=P2Y/flag c=P3Y/purge", "c@2023-05-02"),
    case("a-day-later-wins", "a=P1Y/flag b=P1Y1D/purge", "b@2021-05-03"),
    # -- equal dates: the gentler action wins
    case("tie-review-beats-purge", "a=P1Y/purge b=P1Y/review", "b@2021-05-02"),
    case("tie-review-beats-anonymise", "a=P1Y/anonymise b=P1Y/review", "b@2021-05-02"),
    case("tie-anonymise-beats-purge", "a=P1Y/purge b=P1Y/anonymise", "b@2021-05-02"),
    case("tie-flag-beats-review", "a=P1Y/review b=P1Y/flag", "b@2021-05-02"),
    case("tie-flag-beats-purge", "a=P1Y/purge b=P1Y/flag", "b@2021-05-02"),
    case("tie-archive-beats-purge", "a=P1Y/purge b=P1Y/archive", "b@2021-05-02"),
    case("tie-anonymise-beats-archive", "a=P1Y/archive b=P1Y/anonymise", "b@2021-05-02"),
    case("tie-review-beats-archive", "a=P1Y/archive b=P1Y/review", "b@2021-05-02"),
    case("later-archive-beats-anonymise", "a=P1Y/anonymise b=P2Y/archive", "b@2022-05-02"),
    case("later-archive-is-not-reviewed", "a=P1Y/review b=P2Y/archive", "b@2022-05-02"),
    case(
        "tie-flag-gentlest-of-four",
        "a=P1Y/purge b=P1Y/anonymise c=P1Y/review d=P1Y/flag",
        "d@2021-05-02",
    ),
    case("tie-12-months-is-a-year", "a=P1Y/purge b=P12M/review", "b@2021-05-02"),
    # -- the tie is on the latest date only: a gentler rule with an earlier date loses
    case("gentler-but-earlier-loses", "a=P1Y/flag b=P2Y/purge c=P2Y/purge", "b@2022-05-02"),
    case("tie-among-the-latest", "a=P1Y/flag b=P2Y/purge c=P2Y/review", "c@2022-05-02"),
    # -- still tied: the rule loaded first
    case("same-action-first-loaded", "a=P1Y/purge b=P1Y/purge", "a@2021-05-02"),
    case("same-action-first-loaded-reversed", "b=P1Y/review a=P1Y/review", "b@2021-05-02"),
    # -- a rule with no date: nothing is disposed of
    case("undated-rule-waits", "a=P1Y/purge b=-/purge", "waiting"),
    case("undated-gentle-rule-waits", "a=P1Y/purge b=-/flag", "waiting"),
]


@pytest.mark.parametrize("case", CASES)
def test_who_wins(case: Case) -> None:
    decision = evaluate(pack(*case.clauses), {"category": "order", "placed_at": PLACED}, AT)
    assert [o.rule.id for o in decision.matched] == [c.id for c in case.clauses]
    if case.winner is None:
        assert decision.status is Status.WAITING
        assert (decision.rule, decision.disposal_date) == (None, None)
        return
    assert decision.status is Status.DUE
    assert decision.rule is not None
    assert decision.rule.id == case.winner, decision.reason
    assert decision.disposal_date == date.fromisoformat(case.disposal or "")
    won = next(c for c in case.clauses if c.id == case.winner)
    action = case.action or won.then
    assert decision.action is Action(action)
    assert decision.to_dict()["action"] == action
    assert ("a purge never beats a review" in decision.reason) == (case.action is not None)


def test_actions_are_ranked_gentlest_first() -> None:
    assert list(Action) == [
        Action.FLAG,
        Action.REVIEW,
        Action.ANONYMISE,
        Action.ARCHIVE,
        Action.PURGE,
    ]
    assert [a.severity for a in Action] == [0, 1, 2, 3, 4]
    assert Action.FLAG.severity < Action.REVIEW.severity < Action.ANONYMISE.severity
    assert Action.ANONYMISE.severity < Action.ARCHIVE.severity < Action.PURGE.severity


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.permutations(list(Action), 2)), ids=str
)
def test_at_equal_dates_the_gentler_action_wins_in_either_order(
    first: Action, second: Action
) -> None:
    rules = pack(Clause("a", "P1Y", first.value), Clause("b", "P12M", second.value))
    decision = evaluate(rules, {"category": "order", "placed_at": PLACED}, AT)
    assert decision.action is min(first, second, key=lambda a: a.severity)


@pytest.mark.parametrize("order", list(itertools.permutations(["purge", "review", "purge"])))
def test_purge_never_beats_review_at_the_same_date(order: tuple[str, ...]) -> None:
    clauses = [Clause(f"r{i}", "P1Y", then) for i, then in enumerate(order)]
    decision = evaluate(pack(*clauses), {"category": "order", "placed_at": PLACED}, AT)
    assert decision.action is Action.REVIEW
    assert "gentlest action ('review')" in decision.reason


@pytest.mark.parametrize(
    "periods", [("P1Y", "P2Y"), ("P2Y", "P1Y"), ("P1Y", "P1Y1D"), ("P6Y", "P6M")], ids=str
)
def test_the_latest_date_wins_whatever_the_order(periods: tuple[str, str]) -> None:
    first, second = periods
    for then_a, then_b in itertools.product([a.value for a in Action], repeat=2):
        rules = pack(Clause("a", first, then_a), Clause("b", second, then_b))
        decision = evaluate(rules, {"category": "order", "placed_at": PLACED}, AT)
        dates = {o.rule.id: o.disposal_date for o in decision.matched}
        latest = max(dates, key=lambda rule_id: dates[rule_id] or date.min)
        assert decision.rule is not None
        assert decision.rule.id == latest
        assert decision.disposal_date == dates[latest]


def test_retained_while_any_matching_rule_still_keeps_the_record() -> None:
    rules = pack(Clause("a", "P1Y", "purge"), Clause("b", "P2Y", "review"))
    record = {"category": "order", "placed_at": PLACED}
    between = datetime(2022, 1, 1, tzinfo=UTC)  # a's date has come, b's has not
    decision = evaluate(rules, record, between)
    assert decision.status is Status.RETAINED
    assert decision.rule is not None
    assert decision.rule.id == "b"
