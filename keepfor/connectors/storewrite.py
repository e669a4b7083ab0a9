"""Acting on keepfor's own store: purge (the record and its field values), anonymise (per
field: its value rows), flag and queue for review (``keepfor_acted``, the review queue).
One batch, one transaction, as on a user's table: the records are selected again by key
*and* by the predicate they were chosen by, locked where the database can, acted on and
audited, or none of it.

The store keeps each value typed (text, number, true or false, date, instant), so an
anonymisation rewrites only *text* values: ``null`` removes the field's value (the store
keeps no nulls: the field is then absent), ``fixed:TEXT``, ``hash`` and ``truncate:N``
rewrite a text value and leave a date, a number or true/false as it is (a date a rule
reads never turns into text it cannot read). ``category`` and ``customer`` are the
record's own columns: what rules match on and what erasure requests find; they are not
anonymised.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import ActionBatch, ActionTarget, BatchResult, Outcome
from keepfor.actions import review, state
from keepfor.actions.settings import ActionSettings, StrategyKind
from keepfor.actions.trail import Trail
from keepfor.connectors.anonymise import value_pseudonym
from keepfor.connectors.store import StoreSource
from keepfor.engine import Action, Instant
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import SourceError
from keepfor.store.models import Record as RecordRow
from keepfor.store.models import RecordField

__all__ = ["StoreTarget"]

_RECORDS = RecordRow.__table__  # type: ignore[attr-defined]
_FIELDS = RecordField.__table__  # type: ignore[attr-defined]
_OWN = ("category", "customer")


class StoreTarget(ActionTarget):
    """The actions on the records of keepfor's store (the source, opened)."""

    def __init__(self, source: StoreSource, settings: ActionSettings, trail: Trail | None) -> None:
        """``trail`` None: a dry run's target, which checks the settings and acts on nothing."""
        self.source = source
        self.settings = settings
        self.trail = trail
        where = f"source '{source.name}' (keepfor's store)"
        self.where_text = where
        if settings.children:
            raise SourceError(
                f"{where}: purge.children: the store deletes a record with its field values; "
                "it has no child tables to declare"
            )
        if settings.flag_column is not None:
            raise SourceError(
                f"{where}: flag.column: the store has no columns of its own; its flags are "
                "kept in keepfor_acted"
            )
        for name in settings.anonymise:
            if name in _OWN:
                raise SourceError(
                    f"{where}: anonymise.{name}: the record's {name} is what rules and "
                    "erasure requests find it by; it is not anonymised"
                )

    @property
    def rewrites(self) -> bool:
        return self.settings.rewrites

    @property
    def actions(self) -> frozenset[Action]:
        """Every action but ``archive``: keepfor's store has no restorable archive."""
        return frozenset(Action) - {Action.ARCHIVE}

    def approved(self, recheck: Predicate, size: int) -> list[ActionBatch]:
        try:
            with self.source.engine.connect() as conn:
                name, key = self.source.name, self.source.key
                return review.approved_batches(conn, name, key, recheck, size)
        except SQLAlchemyError as error:
            raise SourceError(f"{self.where_text}: {error}") from None

    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        if self.trail is None:
            raise SourceError(f"{self.where_text}: a dry run acts on nothing")
        try:
            with self.source.engine.begin() as conn:
                live = self._live(conn, batch)
                if live:
                    self._act(conn, batch.action, [row_id for row_id, _ in live])
                    self.trail.write(conn, batch, [key for _, key in live])
        except SQLAlchemyError as error:
            raise SourceError(
                f"{self.where_text}: {batch.action.value} of rule '{batch.rule}' failed: "
                f"{str(error).splitlines()[0]}; nothing of this batch was done"
            ) from None
        done = {key for _, key in live}
        return BatchResult(
            {key: Outcome.DONE if key in done else Outcome.SKIPPED for key in batch.keys}
        )

    def _live(self, conn: sa.Connection, batch: ActionBatch) -> list[tuple[int, str]]:
        """(id, key) of the batch's records still selected by its predicate, locked, and
        not already so acted on."""
        query = self.source.keyed(batch.recheck, batch.keys)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update(of=_RECORDS)
        live = [(int(row[0]), str(row[1])) for row in conn.execute(query)]
        if batch.action is Action.PURGE or not live:
            return live
        taken = state.already_acted(conn, batch.source, batch.action.value, [k for _, k in live])
        return [(row_id, key) for row_id, key in live if key not in taken]

    def _act(self, conn: sa.Connection, action: Action, ids: Sequence[int]) -> None:
        """The action on these records (flag and review: the marks the trail writes)."""
        if action is Action.PURGE:
            conn.execute(_FIELDS.delete().where(_FIELDS.c.record_id.in_(ids)))
            conn.execute(_RECORDS.delete().where(_RECORDS.c.id.in_(ids)))
        elif action is Action.ANONYMISE:
            for name, strategy in self.settings.anonymise.items():
                self._anonymise(conn, ids, name, strategy.kind, strategy.text, strategy.length)

    def _anonymise(
        self,
        conn: sa.Connection,
        ids: Collection[int],
        name: str,
        kind: StrategyKind,
        text: str | None,
        length: int | None,
    ) -> None:
        rows = sa.and_(_FIELDS.c.record_id.in_(ids), _FIELDS.c.name == name)
        texts = sa.and_(rows, _FIELDS.c.value_text.is_not(None))
        if kind is StrategyKind.NULL:
            conn.execute(_FIELDS.delete().where(rows))
        elif kind is StrategyKind.FIXED:
            conn.execute(_FIELDS.update().where(texts).values(value_text=text))
        elif kind is StrategyKind.TRUNCATE:
            cut = sa.func.substr(_FIELDS.c.value_text, 1, length)
            conn.execute(_FIELDS.update().where(texts).values(value_text=cut))
        elif kind is StrategyKind.HASH:
            assert self.trail is not None
            found = conn.execute(sa.select(_FIELDS.c.record_id, _FIELDS.c.value_text).where(texts))
            params = [
                {"_id": row_id, "_v": value_pseudonym(self.trail.key, self.source.name, name, v)}
                for row_id, v in found
            ]
            if params:
                statement = (
                    _FIELDS.update()
                    .where(_FIELDS.c.record_id == sa.bindparam("_id"), _FIELDS.c.name == name)
                    .values(value_text=sa.bindparam("_v"))
                )
                conn.execute(statement, params)
