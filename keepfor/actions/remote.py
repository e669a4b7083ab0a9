"""Acting where keepfor cannot share a transaction with the records: a CRM's API, an
export file. The audit still never misses an action, and a re-run never acts twice.

A database target acts and audits in one transaction. Here the action happens
elsewhere, so each batch goes through a journal in the state database
(``keepfor_journal``, one row per record and action, named by the key's text)::

    1. one transaction: a journal row for each record about to be acted on
    2. the action, record by record or in the remote's own batches
    3. one transaction: the audit entries (and marks) of what was done, and the
       batch's journal rows deleted

A crash between 1 and 3 leaves journal rows. Before acting again, a target asks the
remote, for each, whether the action is in effect (a purged record is gone; a flag or
an anonymisation shows in its values): in effect, it is audited now, as done by the
interrupted sweep's id; not, the row is dropped and the record, still due, is selected
again. So every action taken is audited once, and none is taken twice.

A backend subclasses :class:`RemoteTarget`: :meth:`~RemoteTarget.act` (take an action
on records, yielding each key as it is done) and :meth:`~RemoteTarget.in_effect`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import ActionBatch, ActionTarget, BatchResult, Keyed, Outcome
from keepfor.actions import review
from keepfor.actions.settings import ActionSettings
from keepfor.actions.trail import Trail
from keepfor.database import making_tables
from keepfor.engine import Action, Instant
from keepfor.engine.cutoffs import Predicate
from keepfor.engine.predicates import All
from keepfor.errors import KeepforError, SourceError
from keepfor.exact import realign
from keepfor.holds.table import exact_text

if TYPE_CHECKING:
    from keepfor.connectors.streamed import StreamedSource

__all__ = ["RemoteTarget", "StateDbTarget", "ensure_journal", "journal"]

metadata = sa.MetaData()

journal = sa.Table(
    "keepfor_journal",
    metadata,
    sa.Column("source", exact_text(200), primary_key=True),
    sa.Column("record_key", exact_text(255), primary_key=True),
    sa.Column("action", sa.String(20), primary_key=True),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("pack_id", sa.String(200), nullable=False),
    sa.Column("sweep_id", sa.String(64), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
)

_SELECTED = All(())
"""A journalled batch's predicate: its records were selected before the crash."""


def ensure_journal(conn: sa.Connection) -> None:
    """keepfor's tables for acting and auditing, and the journal, where missing (an older
    keepfor's journal realigned: :func:`keepfor.exact.realign`)."""
    with making_tables(conn):
        Trail.ensure(conn)
        metadata.create_all(conn, checkfirst=True)
        realign(conn, metadata)


class StateDbTarget(ActionTarget):
    """A target whose keepfor tables (audit trail, marks, review queue) are in the
    source's state database: a CRM's, an export file's."""

    def __init__(
        self, source: StreamedSource, settings: ActionSettings, trail: Trail | None
    ) -> None:
        """``trail`` None: a dry run's target, which acts on nothing."""
        self.source = source
        self.settings = settings
        self.trail = trail
        if source.marks.url is None:
            raise SourceError(f"{source.where()}: no state_db to audit in")

    @property
    def engine(self) -> sa.Engine:
        """The state database's (the source's own engine for it)."""
        engine: sa.Engine = self.source.marks.engine
        return engine

    @property
    def rewrites(self) -> bool:
        return self.settings.rewrites

    def approved(self, recheck: Predicate, size: int) -> list[ActionBatch]:
        """Batches of the records approved in review, with the disposal approved; each
        record is read again before it is acted on. None where the state database is a
        SQLite file not made yet: connecting would make it, and a dry run writes nothing."""
        if not self.source.marks.there():
            return []
        try:
            with self.engine.connect() as conn:
                return review.approved_batches(
                    conn, self.source.name, self.source.key, recheck, size
                )
        except SQLAlchemyError as error:
            raise self._failed("cannot read the review queue", error) from None

    def _failed(self, what: str, error: SQLAlchemyError) -> SourceError:
        first = str(error).splitlines()[0]
        return SourceError(f"{self.source.where()}: state_db {what}: {first}")


class RemoteTarget(StateDbTarget):
    """The actions on a source read record by record, journalled in its state database."""

    @abstractmethod
    def act(self, action: Action, records: Sequence[Keyed]) -> Iterator[Any]:
        """Take the action on these records, yielding each one's key as it is done (a
        record gone meanwhile is not yielded). A failure raises :class:`SourceError`
        after what was already yielded: those are audited, the rest are not."""

    @abstractmethod
    def in_effect(self, action: Action, keys: Sequence[str]) -> set[str]:
        """Of these keys' texts, those the action is in effect for now (after a crash
        between acting and auditing)."""

    def prepare(self, actions: Collection[Action]) -> None:
        """Finish what an interrupted sweep left in the journal, before acting again (the
        journal and keepfor's tables are made beforehand by
        :func:`keepfor.connectors.targets.prepare_tables`, as for every target)."""
        if self.trail is None:
            return
        self.recover()

    def recover(self) -> int:
        """Audit the journalled actions now in effect and drop the rest; how many were
        audited."""
        assert self.trail is not None
        audited = 0
        try:
            for (action_text, rule, pack, sweep_id), texts in self._journalled().items():
                action = Action(action_text)
                done = self.in_effect(action, texts)
                batch = ActionBatch(self.source.name, rule, pack, action, tuple(texts), _SELECTED)
                with self.engine.begin() as conn:
                    if done:
                        self.trail.write(conn, batch, sorted(done), sweep_id=sweep_id)
                    # the journal does not say whether a person approved it: an approved
                    # item whose disposal is in effect is done either way (any item, where
                    # the record is gone), else it would stay approved for ever
                    gone = action in (Action.PURGE, Action.ARCHIVE)
                    review.done(conn, self.source.name, sorted(done), None if gone else action)
                    self._forget(conn, action, texts)
                audited += len(done)
        except SQLAlchemyError as error:
            why = "cannot finish an interrupted sweep; nothing more was done"
            raise self._failed(why, error) from None
        return audited

    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        if self.trail is None:
            raise SourceError(f"{self.source.where()}: a dry run acts on nothing")
        live = self._live(batch)
        texts = [self.source.key.text(k.key) for k in live]
        if not live:
            return BatchResult(dict.fromkeys(batch.keys, Outcome.SKIPPED))
        self._journal(batch, texts)
        done: list[Any] = []
        failure: KeepforError | None = None
        try:
            for key in self.act(batch.action, live):
                done.append(key)  # each kept as it is done: audited even if a later fails
        except KeepforError as error:
            failure = error
        done_texts = {self.source.key.text(k) for k in done}
        unsure = self._unsure(batch.action, [t for t in texts if t not in done_texts])
        done_texts |= unsure[0]
        try:
            with self.engine.begin() as conn:
                self.trail.write(conn, batch, sorted(done_texts))
                self._forget(conn, batch.action, [t for t in texts if t not in unsure[1]])
        except SQLAlchemyError as error:
            raise self._failed(
                f"cannot write the audit of {len(done_texts)} records acted on (the journal "
                "keeps them: the next sweep audits them)",
                error,
            ) from None
        outcomes = {
            key: Outcome.DONE
            if (text := self.source.key.text(key)) in done_texts
            else (Outcome.FAILED if failure is not None and text in texts else Outcome.SKIPPED)
            for key in batch.keys
        }
        why = None if failure is None else f"{failure}; {len(done_texts)} of {len(texts)} done"
        return BatchResult(outcomes, why)

    def _unsure(self, action: Action, texts: list[str]) -> tuple[set[str], set[str]]:
        """Of records the remote did not say it acted on (gone meanwhile, or a retried
        request whose first attempt had acted): those the action is in effect for, to be
        audited; and, where the remote cannot be asked now, all of them, left in the
        journal for the next sweep to ask again."""
        if not texts:
            return set(), set()
        try:
            return self.in_effect(action, texts), set()
        except KeepforError:
            return set(), set(texts)

    def _live(self, batch: ActionBatch) -> list[Keyed]:
        """The batch's records still selected by its predicate: read again now."""
        return list(self.source.recheck(batch.recheck, batch.keys))

    def _journal(self, batch: ActionBatch, texts: Sequence[str]) -> None:
        assert self.trail is not None
        now = self.trail.clock.now().replace(tzinfo=None)
        rows = [
            {
                "source": batch.source,
                "record_key": text,
                "action": batch.action.value,
                "rule_id": batch.rule,
                "pack_id": batch.pack,
                "sweep_id": self.trail.sweep_id,
                "started_at": now,
            }
            for text in texts
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(journal.insert(), rows)
        except SQLAlchemyError as error:
            raise self._failed("cannot write its journal; nothing was done", error) from None

    def _forget(self, conn: sa.Connection, action: Action, texts: Sequence[str]) -> None:
        for i in range(0, len(texts), 1_000):
            conn.execute(
                journal.delete().where(
                    journal.c.source == self.source.name,
                    journal.c.action == action.value,
                    journal.c.record_key.in_(texts[i : i + 1_000]),
                )
            )

    def _journalled(self) -> dict[tuple[str, str, str, str], list[str]]:
        """The journal's rows of this source, by action, rule, pack and sweep."""
        query = sa.select(journal).where(journal.c.source == self.source.name)
        out: dict[tuple[str, str, str, str], list[str]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                group = (row.action, row.rule_id, row.pack_id, row.sweep_id)
                out.setdefault(group, []).append(row.record_key)
        return out
