"""What a sweep did (or, dry, would do): per source, the records given each action and
those left alone; and the safety valve's refusal. Kept apart from the sweep itself
(:mod:`keepfor.actions.sweep`), which re-exports them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import timedelta

from keepfor.engine import Action, Instant
from keepfor.errors import KeepforError

__all__ = ["RESTORABLE", "MassDisposal", "SourceTally", "SweepResult"]

RESTORABLE = timedelta(days=90)
"""How long a CRM (HubSpot) can restore what it archived: an archive is never a
permanent disposal, and the sweep and the certificate say until when it can be undone."""


class MassDisposal(KeepforError):
    """The safety valve: one run would purge, archive or anonymise too much of a source."""


@dataclass
class SourceTally:
    """What a sweep did (or, dry, would do) to one source."""

    purge: int = 0
    archive: int = 0
    """Archived where the source can restore them (HubSpot: for 90 days): never a purge."""
    anonymise: int = 0
    flag: int = 0
    review: int = 0
    held: int = 0
    failed: int = 0
    unreadable: int = 0
    skipped: int = 0
    """Selected as due, but no longer due, held, or already acted on when its batch ran."""
    total: int = 0
    by_rule: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """The records given each action (or, dry, to be), by (pack, rule, action): the
    winning rule's ids, as the audit names them."""

    def add(self, action: Action, n: int, rule: tuple[str, str] | None = None) -> None:
        """``n`` more records given ``action``; ``rule``: the (pack, rule) that gave it."""
        setattr(self, action.value, getattr(self, action.value) + n)
        if rule is not None and n:
            self.by_rule[(*rule, action.value)] += n

    def count(self, action: Action) -> int:
        return int(getattr(self, action.value))

    @property
    def disposals(self) -> int:
        """What the safety valve weighs: records purged, archived or anonymised."""
        return self.purge + self.archive + self.anonymise

    @property
    def acted(self) -> int:
        """Records given an action (or, planned, to be given one): every action."""
        return self.disposals + self.flag + self.review

    def to_dict(self) -> dict[str, int]:
        """The counts (the contract's keys and keepfor's own), without ``by_rule``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "by_rule"}

    def rules_list(self) -> list[dict[str, str | int]]:
        """``by_rule`` as JSON: ``{"pack", "rule", "action", "records"}``, sorted."""
        return [
            {"pack": pack, "rule": rule, "action": action, "records": n}
            for (pack, rule, action), n in sorted(self.by_rule.items())
        ]


@dataclass
class SweepResult:
    """A sweep's outcome: per source, and the batches that failed."""

    applied: bool
    at: Instant
    sources: dict[str, SourceTally] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=dict)
    """Per source, the records planned but left when the sweep was asked to stop."""
    warnings: list[str] = field(default_factory=list)
    """What a dry run found that ``--apply`` would refuse (a rule that would change nothing)."""
    stopped: bool = False
    """Asked to stop before it had done all it found due (a run's counts are then partial)."""
