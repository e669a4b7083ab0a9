"""Reading what the rules decide, a group of records at a time: the one mechanism the
report (its rows and its counts) and the sweep read records through.

A source groups the records a predicate selects by every value the rules read (see
:class:`keepfor.abc.Group`); the engine decides a group's lowest and highest
record; when they are decided alike, so is every record between them (disposal dates
are monotone in every date), and the group is decided at once; otherwise its records
are read and decided one by one. A coarse grouping key changes only how many groups
there are, never a decision.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any, NamedTuple

from keepfor.abc import Evaluator, Group, Record, RecordSource
from keepfor.engine import Decision, Instant, RuleSet
from keepfor.engine.cutoffs import Predicate

__all__ = ["Decided", "decided_groups", "keys_of"]


class Decided(NamedTuple):
    """Records decided alike: a whole group, or one record of a group that was not."""

    decision: Decision
    record: Record
    """One of them (a group's lowest), for what the rules read: its category."""
    size: int
    keys: Sequence[Any] | None
    """Their keys; None when counting, or for a group too large to bring them at once."""
    group: Group | None
    """The group, where its keys are still to be streamed."""


def decided_groups(
    source: RecordSource,
    predicate: Predicate,
    rules: RuleSet,
    evaluator: Evaluator,
    at: Instant,
    bound: int,
) -> Iterator[Decided]:
    """The records the predicate selects, decided: a group at once where its lowest and
    highest record are decided alike (then so is every record between them: disposal
    dates are monotone in every date), else record by record. Shared by every command
    that reads records (``bound`` 0: counting, no keys)."""
    fields = rules.fields()
    for group in source.select_groups(predicate, fields, bound=bound):
        low = evaluator(group.low, at)
        high = low if group.high is group.low else evaluator(group.high, at)
        if _alike(low, high):
            yield Decided(low, group.low, group.size, group.keys, group)
            continue
        for key, record in source.group_records(predicate, group, fields):
            yield Decided(evaluator(record, at), record, 1, (key,), None)


def keys_of(
    source: RecordSource, predicate: Predicate, decided: Decided, bound: int
) -> Generator[Sequence[Any]]:
    """The keys of decided records, a bound's worth at a time."""
    if decided.keys is not None:
        yield decided.keys
        return
    assert decided.group is not None
    chunk: list[Any] = []
    for key in source.group_keys(predicate, decided.group):
        chunk.append(key)
        if len(chunk) >= bound:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _alike(first: Decision, second: Decision) -> bool:
    """The same decision, down to the dates of its explanation."""
    if first is second:
        return True
    return (
        first.status is second.status
        and first.problem == second.problem
        and [(o.rule.id, o.term) for o in first.matched]
        == [(o.rule.id, o.term) for o in second.matched]
    )


