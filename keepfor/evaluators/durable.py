"""The durable_rules evaluator: the loaded packs compiled, at run time, into one
durable_rules ruleset that matches each record's conditions; the engine's own pure
functions then work out the dates and pick the winner, so a decision is the one
:func:`keepfor.evaluate` gives.

Each rule ``i`` of the packs becomes a durable_rules rule ``m<i>`` (every ``applies_to``
and ``where`` condition holds) and, for each condition ``j`` that needs true or false,
a rule ``u<i>_<j>`` (that condition's value is neither, and is the first such: the
record is unreadable to rule ``i``). Records are asserted as facts, a batch at a time
(:meth:`DurableEvaluator.decide_many`; one record is a batch of one), the actions ready
for them are run and say which rules matched which fact, and the facts are retracted.

durable_rules is driven through its engine, ``durable_rules_engine`` (what
``durable.engine``'s ``Host`` wraps), not through the ``Host``: the ``Host`` builds a
closure, reads the clock twice and encodes the session's state again for every action,
costing more than the matching. Its own ways, each handled here (and tested):

* ``id`` and ``sid`` name a message and its session: a record's fields are renamed to
  ``f<n>`` (the value) and ``t<n>`` (its kind), and ``id`` is a number of our own, so
  two records with the same values are two facts, never a duplicate (which raises);
* durable_rules compares ``true`` equal to ``1`` and cannot send a date: every value
  goes as a tagged text (``s:`` text, ``n:`` an exact fraction, ``b:`` boolean, ``z:``
  null, ``o:`` anything else, dates included), so equality is the rules' own;
* it takes two texts of 65,533 bytes or more that differ only past there as equal, and
  truncates text at a NUL: a long text is sent as its digest, a NUL escaped;
* a fact no rule handles is reported (code 1, which the ``Host`` raises as
  ``MessageNotHandledException``, leaving the batch's other actions pending): the
  engine keeps the batch's other facts and readies their actions, so every action is
  run and a record none fired for is unmatched;
* a ruleset cannot be defined twice: rulesets are named by a hash of what they match
  plus a counter, and packs compiled alike share one;
* the engine is global and not thread-safe: one lock around every call, and no
  dispatch threads (everything runs in the caller's thread; no ``Host`` starts its
  timers);
* an empty batch is answered with a session that is no session, and asking for its
  actions crashes the process: an empty batch is never sent;
* an action started and not completed blocks the next: every action ready is
  completed, even when noting it fails;
* facts never retracted fill memory: each batch is retracted once decided;
* a message holds at most 255 properties, and a ruleset with more than 512 tests under
  one node never finishes compiling: packs past :data:`MAX_FIELDS` condition fields or
  :data:`MAX_TESTS` distinct conditions are refused, one line, before durable_rules
  sees them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Number
from typing import Any

from keepfor.engine.decision import Decision
from keepfor.engine.evaluate import Evaluator as PythonEvaluator
from keepfor.engine.evaluate import Instant, Verdicts, check_instant, decide, match
from keepfor.engine.rules import RuleSet, Scalar
from keepfor.errors import UsageError

__all__ = [
    "LOCK",
    "Compiled",
    "DurableEvaluator",
    "check_limits",
    "compile_rules",
    "encode",
    "facts_of",
    "message_id",
    "require_durable",
    "ruleset_for",
    "run_actions",
    "tagged",
    "verdicts_of",
]

INSTALL = (
    "the durable_rules evaluator needs the durable-rules package, which installs on "
    "Python 3.11 and 3.12 but not 3.13: pip install 'keepfor[durable]' "
    "(or use --evaluator python)"
)

LOCK = threading.Lock()
"""Guards durable_rules' engine: creating rulesets, asserting and retracting facts."""
_COMPILED: dict[str, tuple[str, int]] = {}
"""Hash of a compiled definition -> the name and engine handle of its ruleset."""
_NAMES = itertools.count(1)
_FACTS = itertools.count(1)
"""Ids of the messages sent to durable_rules: each its own (a repeated id is dropped)."""
BATCH = 1_000
"""Records asserted at once by :meth:`DurableEvaluator.verdicts_many` (larger batches
are slower per record)."""
LONG_TEXT = 1_000
"""Texts longer than this go to durable_rules as their SHA-256 digest (equal texts,
equal digests), far below the 65,533 bytes past which it takes unequal texts as equal."""
_BAD = ("s", "n", "o")
"""The kinds of value a true-or-false condition cannot read (null is read: no match)."""


def require_durable() -> Any:
    """durable_rules' engine (``durable_rules_engine``, as ``durable.engine`` loads
    it); a one-line :class:`UsageError` saying how to install it where it is not."""
    try:
        import durable.engine
    except ImportError:
        raise UsageError(INSTALL) from None
    return durable.engine.durable_rules_engine


def encode(value: Any) -> tuple[str, str]:
    """A value's kind and its tagged text: equal texts exactly where the rules call the
    values equal (``true`` is not ``1``; ``1`` is ``1.0``; text is text)."""
    if value is None:
        return "z", "z:"
    if isinstance(value, bool):
        return "b", "b:true" if value else "b:false"
    if isinstance(value, str):
        if len(value) > LONG_TEXT:  # durable_rules compares texts past 64 KiB wrongly
            digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
            return "s", f"h:{len(value)}:{digest}"
        # no NUL, nor a lone surrogate (not UTF-8), reaches the C engine: escaped, one-to-one
        text = value.replace("\\", "\\\\").replace("\x00", "\\0")
        if not text.isascii():
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return "s", "s:" + text
    if isinstance(value, complex) and value.imag == 0:
        value = value.real
    if isinstance(value, Number):
        if isinstance(value, float | Decimal) and math.isinf(value):
            return "n", "n:inf" if value > 0 else "n:-inf"
        try:
            exact = Fraction(value)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):  # NaN equals nothing
            return "o", "o:"
        # in hex: no limit on digits (str() of an int of 4,300 digits or more raises)
        return "n", f"n:{exact.numerator:x}/{exact.denominator:x}"
    return "o", "o:"


def _equals(slot: int, expected: Scalar) -> dict[str, Any]:
    return {f"f{slot}": encode(expected)[1]}


def _unreadable(slot: int) -> dict[str, Any]:
    return {"$or": [{f"t{slot}": kind} for kind in _BAD]}


@dataclass(frozen=True)
class Compiled:
    """The rules' conditions as a durable_rules definition (actions still to attach)."""

    definition: dict[str, Any]
    fields: tuple[str, ...]
    """The condition fields in slot order: ``fields[n]`` is sent as ``f<n>`` and ``t<n>``."""
    fires: dict[str, tuple[int, str | None]]
    """Each durable_rules rule -> the rule's index, and the field it finds unreadable
    (None: the rule matches)."""


def compile_rules(rules: RuleSet) -> Compiled:
    """The durable_rules rules for the conditions of ``rules`` (see the module's notes)."""
    fields = tuple(sorted({name for _, rule in rules for name, _ in rule.conditions()}))
    slot = {name: n for n, name in enumerate(fields)}
    definition: dict[str, Any] = {}
    fires: dict[str, tuple[int, str | None]] = {}
    for index, (_, rule) in enumerate(rules):
        conditions = [(slot[name], expected) for name, expected in rule.conditions()]
        holds = [_equals(n, expected) for n, expected in conditions]
        definition[f"m{index}"] = {"all": [{"m": {"$and": holds}}]}
        fires[f"m{index}"] = (index, None)
        for j, (n, expected) in enumerate(conditions):
            if not isinstance(expected, bool):
                continue
            later = [
                {"$or": [_equals(k, e), _unreadable(k)]} if isinstance(e, bool) else _equals(k, e)
                for k, e in conditions[j + 1 :]
            ]
            parts = [*holds[:j], _unreadable(n), *later]
            definition[f"u{index}_{j}"] = {"all": [{"m": {"$and": parts}}]}
            fires[f"u{index}_{j}"] = (index, fields[n])
    return Compiled(definition, fields, fires)


MAX_FIELDS = 127
"""Condition fields durable_rules can be sent: a message holds at most 255 properties
(its id, and each field's value and kind)."""
MAX_TESTS = 500
"""Distinct tests (a field equal to a value) durable_rules can hold: a node's children
are kept in a hash set of 512 entries, and once it is full, compiling one more test
never returns."""


def check_limits(compiled: Compiled) -> None:
    """A one-line :class:`UsageError` where the packs are too large for durable_rules
    (rather than a ruleset that would hang or fail inside it)."""
    tests: set[str] = set()
    stack: list[Any] = list(compiled.definition.values())
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key.startswith("$") or isinstance(value, (dict, list)):
                    stack.append(value)
                else:
                    tests.add(f"{key}={value}")
    too_many = (
        f"{len(compiled.fields)} condition fields (it takes {MAX_FIELDS})"
        if len(compiled.fields) > MAX_FIELDS
        else f"{len(tests)} distinct conditions (it takes {MAX_TESTS})"
        if len(tests) > MAX_TESTS
        else None
    )
    if too_many is not None:
        raise UsageError(
            f"these rule packs are too large for durable_rules: {too_many}; use --evaluator python"
        )


def ruleset_for(compiled: Compiled) -> tuple[str, int]:
    """The name and engine handle of the ruleset for ``compiled`` (created on first
    use: packs compiled alike share one, as a ruleset cannot be defined twice)."""
    engine = require_durable()
    text = json.dumps([compiled.definition, compiled.fields], sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    with LOCK:
        made = _COMPILED.get(digest)
        if made is None:
            name = f"keepfor-{digest}-{next(_NAMES)}"
            definition = json.dumps(compiled.definition, ensure_ascii=False)
            try:
                made = name, engine.create_ruleset(name, definition)
            except Exception as error:  # its limits (e.g. 256 rules of the same conditions)
                raise UsageError(
                    f"durable_rules cannot compile these rule packs ({error}); "
                    "use --evaluator python"
                ) from None
            _COMPILED[digest] = made
    return made


def run_actions(engine: Any, handle: int, state: int) -> list[tuple[str, Any]]:
    """Every action durable_rules has ready for a session, each completed in turn: the
    rule's name and the message(s) it matched (call under :data:`LOCK`)."""
    fired: list[tuple[str, Any]] = []
    started = engine.start_action_for_state(handle, state)
    ready = started[1] if started else None
    try:
        while ready:
            fired.extend(json.loads(ready).items())
            ready = engine.complete_and_start_action(handle, state)
    finally:  # never leave an action half done for the next caller
        while ready:
            ready = engine.complete_and_start_action(handle, state)
    return fired


def facts_of(ruleset: str, sid: str | None = None) -> list[dict[str, Any]]:
    """The facts durable_rules holds for a ruleset of ours, in one of its sessions (the
    default one: none, once decided)."""
    engine = require_durable()
    with LOCK:
        handle = next(h for n, h in _COMPILED.values() if n == ruleset)
        return list(json.loads(engine.get_facts(handle, sid)))


def message_id() -> int:
    """A new id for a message to durable_rules (a message whose id was seen is dropped)."""
    return next(_FACTS)


def tagged(fields: Sequence[str], record: Mapping[str, Any]) -> dict[str, str]:
    """A record's condition fields as durable_rules gets them: ``fields[n]`` renamed
    ``f<n>`` (the tagged value) and ``t<n>`` (its kind)."""
    out: dict[str, str] = {}
    for n, name in enumerate(fields):
        if name in record:
            out[f"t{n}"], out[f"f{n}"] = encode(record[name])
    return out


def verdicts_of(compiled: Compiled, fired: list[tuple[str, Any]]) -> dict[int, str | None]:
    """The :data:`Verdicts` of one fact, from the actions that fired for it."""
    fires = compiled.fires
    return dict(fires[name] for name, _ in fired if name in fires)


class DurableEvaluator(PythonEvaluator):
    """Decides records with durable_rules matching their conditions, behind the same
    case cache as the Python evaluator (``cached=False``: every record goes to
    durable_rules, for measuring it alone)."""

    def __init__(self, rules: RuleSet, size: int = 65_536, *, cached: bool = True) -> None:
        super().__init__(rules, size)
        self.cached = cached
        self.compiled = compile_rules(self.rules)
        check_limits(self.compiled)
        self.ruleset, self._handle = ruleset_for(self.compiled)
        self._engine = require_durable()
        # every anchor counts in a case's key: which rules match is durable_rules' to say
        self._every_anchor = tuple(
            dict.fromkeys(f for _, rule in self.rules for f in rule.retain.fields())
        )

    def anchor_fields(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        return self._every_anchor

    def __call__(self, record: Mapping[str, Any], at: Instant) -> Decision:
        return super().__call__(record, at) if self.cached else self.decide(record, at)

    def decide(self, record: Mapping[str, Any], at: Instant) -> Decision:
        check_instant(at)
        return decide(self.rules, record, at, match(self.rules, record, self.verdicts(record)))

    def decide_many(self, records: Sequence[Mapping[str, Any]], at: Instant) -> list[Decision]:
        """Each record's decision, in order: through the case cache, or (uncached) the
        records sent to durable_rules together, as one batch of facts."""
        if self.cached:
            return [self(record, at) for record in records]
        check_instant(at)
        rules = self.rules
        return [
            decide(rules, record, at, match(rules, record, verdicts))
            for record, verdicts in zip(records, self.verdicts_many(records), strict=True)
        ]

    def fact(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as durable_rules gets it: renamed, tagged, with an id of its own."""
        return {"id": message_id(), **tagged(self.compiled.fields, record)}

    def verdicts(self, record: Mapping[str, Any]) -> Verdicts:
        """Which rules durable_rules matches to the record (see :data:`Verdicts`)."""
        return self.verdicts_many([record])[0]

    def verdicts_many(self, records: Sequence[Mapping[str, Any]]) -> list[Verdicts]:
        """Which rules durable_rules matches to each record: :data:`BATCH` records at a
        time asserted as one batch of facts, every action run, the facts retracted."""
        return [
            verdicts
            for start in range(0, len(records), BATCH)
            for verdicts in self._batch(records[start : start + BATCH])
        ]

    def _batch(self, records: Sequence[Mapping[str, Any]]) -> list[Verdicts]:
        facts = [self.fact(record) for record in records]
        if not facts:  # the engine answers an empty batch with no session (and crashes)
            return []
        position = {fact["id"]: n for n, fact in enumerate(facts)}
        found: list[dict[int, str | None]] = [{} for _ in facts]
        fires = self.compiled.fires
        engine, handle = self._engine, self._handle
        text = json.dumps(facts, ensure_ascii=False)
        with LOCK:
            # code 1 where some record matched no rule: the others are kept, actions ready
            _, state = engine.assert_facts(handle, text)
            try:
                for name, message in run_actions(engine, handle, state):
                    index, field = fires[name]
                    found[position[message["m"]["id"]]][index] = field
            finally:
                engine.retract_facts(handle, text)
        return list(found)
