"""A sync job's records and events in durable_rules: :class:`DurableSession`.

A job posts each record it sees (``post_record``) and the events that happen to it
(``post_event``: an enquiry resolved, a quote accepted, consent withdrawn), and gets the
record's decision back each time. An event is a date field of the record becoming set,
as the rules read it (``resolved_at`` on an enquiry ends its wait).

It is done as durable_rules does it. The session is a durable_rules session (its own
``sid``) of a ruleset compiled from the packs: each record's latest state is a fact
keyed by the record's key (its condition fields tagged as
:mod:`keepfor.evaluators.durable` sends them; the record itself, dates and all, is kept
beside it, as durable_rules cannot hold a date); the packs' rules match that fact when
it is asserted; an event is a durable_rules event, joined by a rule to the fact of its
record, whose action sets the field on the record and asserts it again in place of
the old fact. The engine's own functions then work out the decision, so it is the one
:func:`keepfor.evaluate` gives for the updated record.

Every call holds the durable evaluator's one lock; ``forget`` retracts a record's fact
and drops what is kept beside it, and ``close`` ends the durable_rules session.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from keepfor.abc import Clock
from keepfor.clock import SystemClock
from keepfor.engine.decision import Decision
from keepfor.engine.evaluate import Instant, check_instant, decide, match
from keepfor.engine.rules import RuleSet
from keepfor.errors import UsageError, quoted
from keepfor.evaluators.durable import (
    LOCK,
    MAX_FIELDS,
    Compiled,
    check_limits,
    compile_rules,
    message_id,
    require_durable,
    ruleset_for,
    run_actions,
    tagged,
    verdicts_of,
)

__all__ = ["DurableSession", "session_rules"]

POSTED = "posted"
"""The rule joining an event to its record's fact."""
_SESSIONS = itertools.count(1)
_SLOTS = itertools.count(1)


def session_rules(rules: RuleSet) -> Compiled:
    """The packs' conditions for a session: each rule matches record facts only
    (``k`` is ``r``), and the rule :data:`POSTED` joins an event (``k`` is ``e``) to the
    fact whose ``key`` it names."""
    plain = compile_rules(rules)
    definition: dict[str, Any] = {}
    for name, rule in plain.definition.items():
        (test,) = rule["all"]
        definition[name] = {"all": [{"m": {"$and": [{"k": "r"}, *test["m"]["$and"]]}}]}
    definition[POSTED] = {
        "all": [{"e": {"k": "e"}}, {"r": {"$and": [{"k": "r"}, {"key": {"e": "key"}}]}}]
    }
    return Compiled(definition, plain.fields, plain.fires)


@dataclass(frozen=True)
class _Held:
    """What the session keeps of one record: its slot (the ``key`` its fact and events
    carry), its fact as sent, and the record itself."""

    slot: int
    fact: str
    record: Mapping[str, Any]


class DurableSession:
    """Records and their events in one durable_rules session, each record's decision
    given back as it is posted (see the module's notes). ``at`` defaults to the clock's
    now. Keys are any hashable values (a source's keys)."""

    def __init__(self, rules: RuleSet, *, clock: Clock | None = None) -> None:
        self.rules = rules
        self.clock: Clock = clock or SystemClock()
        self.compiled = session_rules(rules)
        check_limits(self.compiled)
        if len(self.compiled.fields) > MAX_FIELDS - 1:  # a fact also carries k and key
            raise UsageError(
                f"these rule packs are too large for a durable_rules session: "
                f"{len(self.compiled.fields)} condition fields (it takes {MAX_FIELDS - 1})"
            )
        self.ruleset, self._handle = ruleset_for(self.compiled)
        self._engine = require_durable()
        self.sid = f"keepfor-session-{next(_SESSIONS)}"
        self._held: dict[Any, _Held] = {}
        self._keys: dict[int, Any] = {}
        """Slot -> key, for the record an event's action joined."""

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def record(self, key: Hashable) -> Mapping[str, Any]:
        """The record's latest state (as posted, with its events' fields set)."""
        return self._get(key).record

    def post_record(
        self, key: Hashable, record: Mapping[str, Any], *, at: Instant | None = None
    ) -> Decision:
        """Keep ``record`` as the latest state of ``key`` (in place of what was posted
        before) and give its decision."""
        at = self._at(at)
        with LOCK:
            verdicts = self._put(key, dict(record))
        return decide(self.rules, record, at, match(self.rules, record, verdicts))

    def post_event(
        self, key: Hashable, field: str, when: date | datetime | str, *, at: Instant | None = None
    ) -> Decision:
        """The event ``field`` happened to ``key``'s record at ``when`` (its date field
        is set); the updated record's decision. A key never posted (or forgotten) is a
        :class:`UsageError`."""
        if not isinstance(field, str) or not field:
            raise UsageError(f"an event names the record's date field, not {quoted(field)}")
        at = self._at(at)
        with LOCK:
            slot = self._get(key).slot
            event = {"sid": self.sid, "id": message_id(), "k": "e", "key": slot}
            _, state = self._engine.assert_event(self._handle, json.dumps(event))
            fired = run_actions(self._engine, self._handle, state)
            joined = [message for name, message in fired if name == POSTED]
            if len(joined) != 1 or self._keys.get(joined[0]["r"]["key"]) != key:
                raise RuntimeError(f"durable_rules joined event {event} to {joined}")
            # the action: the record its event joined, with the field set, asserted again
            record = {**self._held[key].record, field: when}
            verdicts = self._put(key, record)
        return decide(self.rules, record, at, match(self.rules, record, verdicts))

    def forget(self, key: Hashable) -> None:
        """Retract the record's fact and drop it (a key not held: nothing to do)."""
        with LOCK:
            held = self._held.pop(key, None)
            if held is not None:
                del self._keys[held.slot]
                self._engine.retract_fact(self._handle, held.fact)

    def close(self) -> None:
        """Forget every record and end the durable_rules session."""
        for key in list(self._held):
            self.forget(key)
        with LOCK, suppress(self._engine.error):  # no state: nothing was ever posted
            self._engine.delete_state(self._handle, self.sid)

    def __enter__(self) -> DurableSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _at(self, at: Instant | None) -> Instant:
        at = self.clock.now() if at is None else at
        check_instant(at)
        return at

    def _get(self, key: Hashable) -> _Held:
        held = self._held.get(key)
        if held is None:
            raise UsageError(f"no record {quoted(key)} in this session: post_record it first")
        return held

    def _put(self, key: Hashable, record: Mapping[str, Any]) -> dict[int, str | None]:
        """Assert ``record`` as ``key``'s fact, in place of its old one, and say which
        rules matched it (under :data:`LOCK`)."""
        old = self._held.pop(key, None)
        if old is not None:
            self._engine.retract_fact(self._handle, old.fact)
        slot = next(_SLOTS) if old is None else old.slot
        self._keys[slot] = key
        fact = {"sid": self.sid, "id": message_id(), "k": "r", "key": slot}
        text = json.dumps({**fact, **tagged(self.compiled.fields, record)}, ensure_ascii=False)
        try:
            _, state = self._engine.assert_fact(self._handle, text)
            fired = run_actions(self._engine, self._handle, state)
        except BaseException:
            del self._keys[slot]
            raise
        self._held[key] = _Held(slot, text, record)
        return verdicts_of(self.compiled, fired)
