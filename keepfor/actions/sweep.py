"""A sweep: every due record gets its winning rule's action, in batches of one
transaction each, dry run unless asked to apply.

1. **Plan** (reads only): each source's database selects its due records (due, readable,
   not held: the report's own predicate), grouped by case; the engine decides each
   group once; the counts per action, and of held and unreadable records, are what a
   dry run prints.
2. **Safety valve**: where one run would purge, archive or anonymise more than a source's
   ``max_disposal_share`` of its records, nothing at all is done (:class:`MassDisposal`,
   exit 3), unless the run allows mass disposal.
3. **Act**: the due records' keys in key order, a batch's size at a time (a round: each
   rule's keys among them a batch of one rule and action); each round one transaction
   (on a table) in which the target re-selects the keys by the same predicate, acts and
   audits. A crash leaves every round done and audited, or not done at all; a re-run
   selects only what is still due and not yet acted on.

With ``--apply``, every due key of a source is read before its first round is acted on,
into a temporary file that gives them back in key order (:mod:`keepfor.actions.spill`):
SQLite cannot write a table while a read of it is open, and rounds in key order write
each page of a table once, not once per rule and batch.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, closing, nullcontext
from dataclasses import dataclass, replace
from typing import Any

from keepfor.abc import ActionBatch, ActionTarget, Outcome, RecordSource
from keepfor.actions.settings import ActionSettings
from keepfor.actions.spill import Round, SpilledBatches
from keepfor.actions.tally import MassDisposal, SourceTally, SweepResult
from keepfor.engine import Action, Instant, RuleSet, Status
from keepfor.engine.cutoffs import Acted, All, Any_, Not, Predicate, match_predicate
from keepfor.engine.evaluate import Evaluator
from keepfor.errors import KeepforError, SourceError
from keepfor.reading import Decided, decided_groups, keys_of
from keepfor.report.counts import bucket_predicates

__all__ = [
    "MassDisposal",
    "SourceTally",
    "SweepResult",
    "SweptSource",
    "check_swept",
    "run_sweep",
]


Stop = Callable[[], bool]
"""Asked between groups and batches: whether to stop (a daemon's SIGTERM)."""


def _never() -> bool:
    return False


def _as_is(source: RecordSource) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class SweptSource:
    """A source to sweep, its action settings, and how to make its target once open.
    ``ready``: with ``apply``, entered once every source's config is checked and before
    any is read, left when the sweep ends: keepfor's tables made and the source's lock
    taken (:func:`keepfor.connectors.targets.acting_on`), so that a config refused makes
    nothing in the user's database."""

    source: RecordSource
    settings: ActionSettings
    target: Callable[[RecordSource], ActionTarget]
    ready: Callable[[RecordSource], AbstractContextManager[object]] = _as_is


def _selection(rules: RuleSet, at: Instant) -> tuple[Predicate, dict[str, Predicate]]:
    """The due records (readable, not held), and the other counts a sweep prints."""
    buckets = bucket_predicates(rules, at)
    others: dict[str, Predicate] = {
        name: buckets[name] for name in ("unreadable", "held") if name in buckets
    }
    return buckets["due"], {"total": All(()), **others}


LEAVING = frozenset({Action.PURGE, Action.ARCHIVE})
"""Actions that take the record out of its source (a restored archive is due again)."""


def _passes(rules: RuleSet, due: Predicate) -> list[tuple[Predicate, frozenset[Action]]]:
    """The selections a sweep reads, each with the actions it decides: one per action
    that leaves the record in place (flag, anonymise, review), which leaves out the
    records that action was already taken on (``keepfor_acted``, by the database), and
    one for purges and archives. One pass where every rule does the same.

    Each pass reads only records some rule with one of its actions applies to (a
    decision's action is its winner's, or review where a rule asking for review also
    applies), tested first: the database rejects the others before it reads their dates,
    and the passes together cost about one reading of the due predicate, not one each."""
    actions = {rule.action for _, rule in rules}
    staying = sorted(actions - LEAVING, key=lambda a: a.severity)
    if len(actions) == 1 and not staying:
        return [(due, frozenset(actions))]
    passes: list[tuple[Predicate, frozenset[Action]]] = [
        (All((_taking(rules, {a}), due, Not(Acted(a.value)))), frozenset({a})) for a in staying
    ]
    if actions & LEAVING:
        passes.append((All((_taking(rules, actions & LEAVING), due)), frozenset(actions & LEAVING)))
    return passes


def _taking(rules: RuleSet, actions: set[Action]) -> Predicate:
    """Some rule whose action is one of ``actions`` applies to the record; no test where
    every rule's is (the due predicate already asks that some rule applies)."""
    taking = [rule for _, rule in rules if rule.action in actions]
    if len(taking) == len(rules):
        return All(())
    return Any_(tuple(match_predicate(rule) for rule in taking))


def _decided(
    source: RecordSource, rules: RuleSet, at: Instant, bound: int, stop: Stop = _never
) -> Generator[tuple[Predicate, Decided]]:
    """Every due record not yet acted on, decided, with the selection that read it; no
    more once ``stop()`` is true (asked before each group)."""
    due, _ = _selection(rules, at)
    evaluator = Evaluator(rules)
    for selection, actions in _passes(rules, due):
        for decided in decided_groups(source, selection, rules, evaluator, at, bound):
            if stop():
                return
            if decided.decision.status is not Status.DUE:
                raise SourceError(
                    f"source '{source.name}': the database selected records as due that the "
                    f"rules say are {decided.decision.status.value}; nothing was acted on. "
                    "This is a fault of keepfor's: please report it"
                )
            if decided.decision.action in actions:
                yield selection, decided


def _counts(source: RecordSource, rules: RuleSet, at: Instant) -> SourceTally:
    """The records of a source, and those held or unreadable (never acted on)."""
    _, others = _selection(rules, at)
    counts = source.count(others)
    return SourceTally(
        total=counts["total"], unreadable=counts.get("unreadable", 0), held=counts.get("held", 0)
    )


def _plan(
    source: RecordSource, rules: RuleSet, at: Instant, limit: int | None, stop: Stop = _never
) -> SourceTally:
    """The counts, and the due records by action, counted by groups (no keys read)."""
    tally = _counts(source, rules, at)
    left = limit
    with closing(_decided(source, rules, at, 0, stop)) as stream:
        for _, decided in stream:
            winner, action = decided.decision.winner, decided.decision.action
            assert winner is not None
            assert action is not None
            n = decided.size if left is None else min(decided.size, left)
            tally.add(action, n, (winner.pack.id, winner.rule.id))
            if left is not None:
                left -= n
                if left == 0:
                    break
    return tally


KEY_BOUND = 1_000_000
"""Keys a group brings at once: a group over the bound costs a scan of its own to
stream its keys, so the bound is high; memory is bounded by the largest group."""

_Pending = tuple[str, str, Action, Predicate]
"""A batch's pack, rule, action and the selection that read it."""


def _keyed(
    source: RecordSource, rules: RuleSet, at: Instant, limit: int | None, stop: Stop = _never
) -> Generator[ActionBatch]:
    """Every due key (``limit`` at most) with its rule, action and selection, as read: a
    group's keys, or a chunk of them, at a time (cut into batches by the spill)."""
    left = limit
    with closing(_decided(source, rules, at, KEY_BOUND, stop)) as stream:
        for selection, decided in stream:
            winner, action = decided.decision.winner, decided.decision.action
            assert winner is not None
            assert action is not None
            which = (winner.pack.id, winner.rule.id, action, selection)
            with closing(keys_of(source, selection, decided, KEY_BOUND)) as chunks:
                for chunk in chunks:
                    taken = chunk if left is None else chunk[:left]
                    if taken:
                        yield _batch(source.name, which, taken)
                    left = None if left is None else left - len(taken)
                    if left == 0:
                        return


def _batch(source: str, which: _Pending, keys: Sequence[Any]) -> ActionBatch:
    pack, rule, action, selection = which
    return ActionBatch(source, rule, pack, action, tuple(keys), selection)


def _valve(swept: Sequence[SweptSource], result: SweepResult) -> None:
    for item in swept:
        tally = result.sources[item.source.name]
        share = item.settings.max_disposal_share
        if tally.total and tally.disposals > share * tally.total:
            part = tally.disposals / tally.total
            raise MassDisposal(
                f"source '{item.source.name}': this run would purge, archive or anonymise "
                f"{tally.disposals} of {tally.total} records ({part:.1%}), "
                f"more than max_disposal_share {share:.0%}; nothing was done. Check the rules "
                "with keepfor report, raise max_disposal_share in the config, or pass "
                "--allow-mass-disposal for this run"
            )


def run_sweep(
    rules: RuleSet,
    swept: Sequence[SweptSource],
    at: Instant,
    *,
    apply: bool,
    batch_size: int | None = None,
    limit: int | None = None,
    allow_mass_disposal: bool = False,
    stop: Stop = _never,
) -> SweepResult:
    """Plan every source; with ``apply``, pass the safety valve, then act round by round.
    A round that fails is counted and named; the others go on (exit 4: partly done).
    ``batch_size`` None: each target's default; a larger one than a target takes is cut
    to its most (:attr:`ActionTarget.batch_size`). ``stop``: asked before each group of
    records and each round is read (a daemon asked to stop finishes the round under way
    and reads no more); then ``stopped`` is set and nothing more is done."""
    result = SweepResult(applied=apply, at=at)
    targets = [check_swept(item, rules, apply=apply, warnings=result.warnings) for item in swept]
    with ExitStack() as readied:
        if apply:  # every config checked: keepfor's tables made, each source's lock taken
            for item in swept:
                readied.enter_context(item.ready(item.source))
        planned: dict[str, tuple[ActionTarget, Generator[Round]]] = {}
        for item, target in zip(swept, targets, strict=True):
            default, most = target.batch_size
            size = min(most, default if batch_size is None else batch_size)
            tally, batches = _planned(item.source, target, rules, at, apply, size, limit, stop)
            result.sources[item.source.name] = tally
            planned[item.source.name] = (target, batches)
        if stop():  # asked to stop while planning: nothing done, all of it left
            _none_done(planned, result)
        elif apply:
            if not allow_mass_disposal:
                _valve(swept, result)
            for name, (target, _) in planned.items():
                tally = result.sources[name]
                target.prepare({action for action in Action if tally.count(action)})
            for name, (target, batches) in planned.items():
                _act(name, target, batches, at, result, stop)
    return result


def check_swept(
    item: SweptSource, rules: RuleSet, *, apply: bool, warnings: list[str] | None = None
) -> ActionTarget:
    """The opened source's target, once the rules' fields, the action settings and the
    rules' actions are checked against it, nothing read or made (a :class:`SourceError`
    names the first fault); what a dry run only warns of goes to ``warnings``."""
    item.source.check(rules)
    target = item.target(item.source)  # checks the action settings
    target.check_actions(item.source, rules)
    _check_idle(target, item.source, rules, apply, [] if warnings is None else warnings)
    return target


def _none_done(
    planned: dict[str, tuple[ActionTarget, Generator[Round]]], result: SweepResult
) -> None:
    """A sweep stopped before its first round: every planned record left."""
    for name, (_, batches) in planned.items():
        batches.close()
        tally = result.sources[name]
        result.left[name] = tally.acted
        result.sources[name] = SourceTally(
            held=tally.held, total=tally.total, unreadable=tally.unreadable
        )
    result.stopped = True


def _check_idle(
    target: ActionTarget, source: RecordSource, rules: RuleSet, apply: bool, warnings: list[str]
) -> None:
    """A rule whose action would change nothing here (:meth:`ActionTarget.idle`): with
    ``apply`` refused before anything is read or done (it would be audited as done); a
    dry run, which shows what is due, warns that ``--apply`` will refuse."""
    idle = target.idle(source, rules)
    if idle is None:
        return
    if apply:
        raise SourceError(f"{idle}; nothing was read or done")
    warnings.append(f"{idle}: sweep --apply refuses it until the config names one")


def _planned(
    source: RecordSource,
    target: ActionTarget,
    rules: RuleSet,
    at: Instant,
    apply: bool,
    size: int,
    limit: int | None,
    stop: Stop,
) -> tuple[SourceTally, Generator[Round]]:
    """A source's tally, and its rounds to act on. A dry run counts the due records by
    groups (no key read); with ``apply`` every due key is read first into a temporary
    file that gives them back in key order, and counted from them (the due set is read
    once); the batches a person approved in review follow, a round each."""
    due, _ = _selection(rules, at)
    if apply:
        spilled = SpilledBatches(size)
        tally = _counts(source, rules, at)
        try:
            for batch in _keyed(source, rules, at, limit, stop):
                tally.add(batch.action, len(batch.keys), (batch.pack, batch.rule))
                spilled.add(batch)
        except BaseException:
            spilled.close()
            raise
        rounds: Iterator[Round] = iter(spilled)
    else:
        tally = _plan(source, rules, at, limit, stop)
        rounds = iter(())
    approved = _capped(target.approved(due, size), _left(limit, tally))
    for batch in approved:
        tally.add(batch.action, len(batch.keys), (batch.pack, batch.rule))
    return tally, _chained(rounds, ((batch,) for batch in approved))


def _chained(*parts: Iterable[Round]) -> Generator[Round]:
    """The parts one after the other; closing this closes a part still being read."""
    for part in parts:
        yield from part


def _act(
    name: str,
    target: ActionTarget,
    rounds: Generator[Round],
    at: Instant,
    result: SweepResult,
    stop: Stop,
) -> None:
    """Apply the rounds one by one; a read that fails stops this source's rounds
    (those already done stay done and audited); so does ``stop()`` turning true, checked
    before each round is read, and what was planned and not reached is ``left``; a stop
    asked once every planned record was reached stops nothing."""
    before = result.sources[name]
    tally = result.sources[name] = SourceTally(
        held=before.held, total=before.total, unreadable=before.unreadable
    )
    with closing(rounds):
        while not stop():
            try:
                batches = next(rounds, None)
            except KeepforError as error:
                result.failures.append(str(error))
                return
            if batches is None and not stop():  # all done (not a read cut short by stop)
                return
            if batches is None:
                break
            try:
                results = target.apply_round(batches, at)
            except KeepforError as error:
                tally.failed += sum(len(batch.keys) for batch in batches)
                result.failures.append(str(error))
                continue
            for batch, done in zip(batches, results, strict=True):
                tally.add(batch.action, done.count(Outcome.DONE), (batch.pack, batch.rule))
                tally.skipped += done.count(Outcome.SKIPPED)
                if done.error is not None:
                    tally.failed += done.count(Outcome.FAILED)
                    result.failures.append(done.error)
    reached = tally.acted + tally.skipped + tally.failed
    if stop() and reached < before.acted:  # a stop after the last round leaves nothing
        result.stopped = True
        result.left[name] = before.acted - reached


def _left(limit: int | None, tally: SourceTally) -> int | None:
    """What ``--limit`` leaves after the due records counted in ``tally``."""
    if limit is None:
        return None
    return max(0, limit - tally.acted)


def _capped(batches: list[ActionBatch], left: int | None) -> list[ActionBatch]:
    """The batches, cut to ``left`` records in all (None: all of them)."""
    if left is None:
        return batches
    out: list[ActionBatch] = []
    for batch in batches:
        if left <= 0:
            break
        keys = batch.keys[:left]
        out.append(batch if len(keys) == len(batch.keys) else replace(batch, keys=keys))
        left -= len(keys)
    return out
