"""Decisions: what the rules say about one record at one instant, and why.

A :class:`Decision` is the engine's answer for a record: its :class:`Status`, its
disposal date and action, the winning rule and every rule that matched (each a
:class:`RuleOutcome`), or what makes it :class:`Unreadable`. It carries its reasons
because nothing is disposed of on an unexplained answer: ``explain``, the report and
an erasure request all show the same working the engine used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from keepfor.engine.rules import Action, RetentionRule, RulePack
from keepfor.engine.terms import TermResult

__all__ = ["Decision", "RuleOutcome", "Status", "Unreadable", "iso_date"]


class Status(StrEnum):
    """Where a record stands at an instant: exactly one of these for every record."""

    DUE = "due"
    RETAINED = "retained"
    WAITING = "waiting"
    HELD = "held"
    UNMATCHED = "unmatched"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why a record cannot be evaluated: the field, its value, and what is wrong."""

    field: str
    value: Any
    reason: str
    rule: str
    pack: str = ""

    def to_dict(self) -> dict[str, Any]:
        shown = self.value if isinstance(self.value, (str, int, float, bool)) else repr(self.value)
        return {
            "field": self.field,
            "value": shown,
            "reason": self.reason,
            "pack": self.pack,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One matching rule's dates for one record."""

    pack: RulePack
    rule: RetentionRule
    term: TermResult
    disposal_date: date | None

    @property
    def retain_until(self) -> date | None:
        return self.term.retain_until

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The rule, its dates and its lawful basis (what an erasure request weighs);
        ``detail`` adds the working."""
        out: dict[str, Any] = {
            "rule": self.rule.id,
            "retain_until": iso_date(self.retain_until),
            "disposal_date": iso_date(self.disposal_date),
            "basis": self.rule.basis.value,
        }
        if detail:
            out["pack"] = self.pack.id
            out["pack_version"] = self.pack.version
            out["action"] = self.rule.action.value
            out["boundary"] = self.rule.boundary.value
            out["waiting_on"] = list(self.term.waiting_on)
            out["term"] = self.term.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules say about one record at one instant, and why."""

    status: Status
    disposal_date: date | None
    winner: RuleOutcome | None
    matched: tuple[RuleOutcome, ...]
    today: date | None
    reason: str
    problem: Unreadable | None = None
    """What makes the record unreadable (status ``unreadable`` only)."""
    reviewed: bool = False
    """The winning rule purges, but another matching rule asks for review: a purge never
    beats a review, so the record goes to a person first."""

    @property
    def rule(self) -> RetentionRule | None:
        return None if self.winner is None else self.winner.rule

    @property
    def action(self) -> Action | None:
        """What is done once the record is due: the winning rule's ``then``, or
        ``review`` where a purge would otherwise beat a review."""
        if self.winner is None:
            return None
        return Action.REVIEW if self.reviewed else self.winner.rule.action

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The ``explain`` JSON of the public contract, with the winning rule's and each
        matched rule's ``basis`` added (keys the contract allows); ``detail`` adds the
        working."""
        out: dict[str, Any] = {
            "disposal_date": iso_date(self.disposal_date),
            "rule": None if self.rule is None else self.rule.id,
            "action": None if self.action is None else self.action.value,
            "basis": None if self.rule is None else self.rule.basis.value,
            "status": self.status.value,
            "matched": [outcome.to_dict(detail=detail) for outcome in self.matched],
        }
        if self.problem is not None:
            out["unreadable"] = self.problem.to_dict()
        if detail:
            out["pack"] = None if self.winner is None else self.winner.pack.id
            out["today"] = iso_date(self.today)
            out["reason"] = self.reason
        return out


def iso_date(day: date | None) -> str | None:
    """A date as ISO text (``2026-11-22``), or None for no date."""
    return None if day is None else day.isoformat()
