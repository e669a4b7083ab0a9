"""What a sweep writes beside each action: the audit entries of a batch, and the marks of
actions taken on records that stay, in the transaction that acts.

A :class:`Trail` is one sweep's: its id, its clock, and the keyed pseudonymiser of each
source. Record keys are written to the audit trail only as pseudonyms (HMAC-SHA256
under the audit key, :mod:`keepfor.audit.pseudonym`), and each batch seals the trail's
head with the same key (:func:`keepfor.audit.chain.head_seal`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from keepfor.abc import ActionBatch, Clock
from keepfor.actions import review, state
from keepfor.audit import PendingEntry, Pseudonymiser, append_records
from keepfor.audit import ensure as ensure_audit
from keepfor.audit.insql import append_acted
from keepfor.database import making_tables
from keepfor.engine import Action, RuleSet

__all__ = ["Trail"]


class Trail:
    """One sweep's audit: entries per batch, and marks where the record stays."""

    def __init__(self, key: bytes, rules: RuleSet, clock: Clock) -> None:
        self.key = key
        self.sweep_id = uuid.uuid4().hex
        self.clock = clock
        self.versions = {pack.id: pack.version for pack in rules.packs}
        self._names: dict[str, Pseudonymiser] = {}
        self._batches = 0

    @staticmethod
    def ensure(conn: sa.Connection) -> None:
        """keepfor's tables for acting and auditing, where they are missing: all of them
        or none, where the database's DDL is transactional (a sweep killed half-way
        through must not leave a trail that ``audit verify`` calls broken)."""
        with making_tables(conn):
            ensure_audit(conn)
            state.ensure(conn)
            review.ensure(conn)

    def pseudonyms(self, source: str) -> Pseudonymiser:
        name = self._names.get(source)
        if name is None:
            name = self._names[source] = Pseudonymiser(self.key, source)
        return name

    def _template(
        self, batch: ActionBatch, record: str, sweep_id: str | None = None
    ) -> PendingEntry:
        """The entry every record of the batch gets, but for its ``record``."""
        self._batches += 1
        return PendingEntry(
            time=self.clock.now(),
            sweep_id=sweep_id or self.sweep_id,
            batch_id=f"{self.sweep_id}-{self._batches}",
            source=batch.source,
            record=record,
            rule_id=batch.rule,
            pack_id=batch.pack,
            pack_version=self.versions.get(batch.pack, "-"),
            action=batch.action.value,
            outcome="done",
        )

    def write(
        self,
        conn: sa.Connection,
        batch: ActionBatch,
        done: Sequence[str],
        *,
        sweep_id: str | None = None,
    ) -> None:
        """The audit entries (and, for a record that stays, the marks) of the keys' texts
        acted on in this batch, in the batch's transaction. ``sweep_id``: the sweep that
        acted, where it is not this one (one interrupted between acting and auditing)."""
        if not done:
            return
        name = self.pseudonyms(batch.source)
        records = [name(text) for text in done]
        template = self._template(batch, records[0], sweep_id)
        append_records(conn, template, records, key=self.key)
        now = template.time
        if batch.reviewed:
            review.done(conn, batch.source, done)
        elif batch.action is Action.REVIEW:
            review.queue(
                conn, batch.source, done, rule=batch.rule, pack=batch.pack,
                sweep=self.sweep_id, at=now,
            )  # fmt: skip
        if batch.action not in (Action.PURGE, Action.ARCHIVE):  # gone from the source
            state.mark(
                conn,
                batch.source,
                batch.action.value,
                done,
                rule=batch.rule,
                pack=batch.pack,
                sweep=self.sweep_id,
                at=now,
            )

    def purge_in_sql(self, conn: sa.Connection, batch: ActionBatch, deleted: sa.CTE) -> list[Any]:
        """Run ``deleted`` (a ``DELETE ... RETURNING key, key_text`` of this purge batch) and
        write its audit entries in the same statement (PostgreSQL,
        :mod:`keepfor.audit.insql`); the keys deleted."""
        assert batch.action is Action.PURGE
        assert not batch.reviewed
        template = self._template(batch, _NO_RECORD)
        _, done = append_acted(conn, template, deleted, self.key)
        return done


_NO_RECORD = "0" * 64
"""A template's record where the database fills in each entry's own."""
