"""Acting on a user's SQL table: purge (with declared child rows), anonymise (per-column
strategies), flag (keepfor's table, and a column where the config names one), queue for
review. One batch, one transaction: the records are selected again by key *and* by the
predicate they were chosen by (still due, still readable, not held), locked where the
database can, acted on, and audited, or none of it.

Anonymisation is checked against each column's type, length and NOT NULL when the target
is made, before anything is written (:mod:`keepfor.connectors.anonymise`, which also makes
the values): a value that cannot fit is a config error, not a failed batch. So is a write
the database would refuse, or a foreign key that would block a purge, found before the
first batch (:mod:`keepfor.connectors.sqlprobe`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keepfor.abc import ActionBatch, ActionTarget, BatchResult, Outcome
from keepfor.actions import review, state
from keepfor.actions.settings import ActionSettings, Strategy, StrategyKind
from keepfor.actions.trail import Trail
from keepfor.connectors import anonymise, keysets
from keepfor.connectors.sql import SqlTableSource, db_error
from keepfor.connectors.sqlprobe import Write, blocking_foreign_keys, probe_writes
from keepfor.database import first_line
from keepfor.engine import Action, Instant
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import SourceError, did_you_mean
from keepfor.holds.sql import as_text

__all__ = ["SqlTableTarget"]


class SqlTableTarget(ActionTarget):
    """The actions on one table (the source it is read through, opened)."""

    def __init__(
        self, source: SqlTableSource, settings: ActionSettings, trail: Trail | None
    ) -> None:
        """``trail`` None: a dry run's target, which checks the settings and acts on
        nothing."""
        self.source = source
        self.settings = settings
        self.trail = trail
        self._round: dict[Predicate, sa.ColumnElement[bool]] = {}
        self.table = source.table
        self.key = source.key_column
        self.children = [self._child(c.table, c.column) for c in settings.children]
        self.flag_column = (
            None
            if settings.flag_column is None
            else self._column(settings.flag_column, f"{self._where()}: flag.column")
        )
        self.anonymise = {
            name: (self._anonymised_column(name, strategy), strategy)
            for name, strategy in settings.anonymise.items()
            if strategy.kind is not StrategyKind.KEEP
        }

    @property
    def rewrites(self) -> bool:
        return self.settings.rewrites

    @property
    def actions(self) -> frozenset[Action]:
        """Every action but ``archive``: a table has no restorable archive."""
        return frozenset(Action) - {Action.ARCHIVE}

    @property
    def batch_size(self) -> tuple[int, int]:
        """PostgreSQL: 50,000 by default (against 10,000 it halved a purge's cost per row at
        4M rows, measured in docs/benchmarks.md); SQLite 10,000 (its batches come in key
        order, where 50,000 gained nothing measurable and held 20 MB more); both up to
        100,000 (the keys are one operand, :mod:`keysets`). MariaDB 10,000, up to 30,000:
        the keys are bound one by one."""
        dialect = self.source.dialect
        if dialect == "postgresql":
            return 50_000, 100_000
        return 10_000, 100_000 if dialect == "sqlite" else 30_000

    # -- checks, before anything is written ---------------------------------------------

    def _where(self) -> str:
        return self.source.where_text

    def _column(self, name: str, where: str) -> sa.Column[Any]:
        """A column of the table the settings name (not a rule field: no mapping)."""
        if name not in self.table.columns:
            hint = did_you_mean(name, [c.name for c in self.table.columns])
            raise SourceError(f"{where}: the table has no column '{name}'{hint}")
        column: sa.Column[Any] = self.table.columns[name]
        return column

    def _child(self, name: str, column: str) -> sa.Column[Any]:
        table = self.source.related(name, f"{self._where()}: purge.children")
        if column not in table.columns:
            raise SourceError(
                f"{self._where()}: purge.children: table '{name}' has no column '{column}'"
            )
        return table.columns[column]

    def _anonymised_column(self, name: str, strategy: Strategy) -> sa.Column[Any]:
        """The column ``name``, if ``strategy`` can anonymise it
        (:func:`anonymise.checked_column`)."""
        where = f"{self._where()}: anonymise.{name} = '{strategy}'"
        return anonymise.checked_column(self._column(name, where), strategy, self.key, where)

    def prepare(self, actions: Collection[Action]) -> None:
        """Before anything is written: each write the actions need is one the database
        allows this user (:meth:`_writes`), and a purge would not be blocked by a foreign
        key the config does not declare as child rows; else say which, by name
        (:mod:`keepfor.connectors.sqlprobe`)."""
        probe_writes(self.source, self._writes(actions))
        if Action.PURGE in actions:
            blocking = blocking_foreign_keys(self.source, self.children)
            if blocking:
                name, table, columns = blocking[0]
                raise SourceError(
                    f"{self._where()}: foreign key {name} of table '{table}' ({columns}) "
                    "refers to this table and would block a purge; declare its rows under "
                    f'[sources.NAME.purge] children = ["{table}.{columns}"], or give the '
                    "foreign key ON DELETE CASCADE"
                )

    def _writes(self, actions: Collection[Action]) -> list[Write]:
        """Each statement the actions need, as one that changes no row: (action, what the
        statement does, the statement)."""
        writes: list[Write] = []
        if Action.PURGE in actions:
            for table in (*(child.table for child in self.children), self.table):
                writes.append(("purge", f"DELETE on '{table.name}'", sa.delete(table)))
        if Action.ANONYMISE in actions and self.anonymise:
            columns = {column: column for column, _ in self.anonymise.values()}
            names = ", ".join(column.name for column in columns)
            update = sa.update(self.table).values(columns)
            writes.append(("anonymise", f"UPDATE of {names}", update))
        if Action.FLAG in actions and self.flag_column is not None:
            update = sa.update(self.table).values({self.flag_column: self.flag_column})
            writes.append(("flag", f"UPDATE of {self.flag_column.name}", update))
        return [(action, what, statement.where(sa.false())) for action, what, statement in writes]

    # -- what a person approved ------------------------------------------------------------

    def approved(self, recheck: Predicate, size: int) -> list[ActionBatch]:
        """Batches of the records approved in review, with the disposal approved."""
        try:
            with self.source.engine.connect() as conn:
                name, key = self.source.name, self.source.key
                return review.approved_batches(conn, name, key, recheck, size)
        except SQLAlchemyError as error:
            raise db_error(self._where(), self.source.url, error) from None

    # -- one batch ----------------------------------------------------------------------

    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        return self.apply_round((batch,), at)[0]

    def apply_round(self, batches: Sequence[ActionBatch], at: Instant) -> list[BatchResult]:
        """The round's batches in one transaction: a page of the table is written once
        for the round, not once per rule (a batch's own statements as always). On SQLite
        the transaction takes the write lock first, so that no hold can be added between
        the re-check's look for the holds table and the act; that look, and the marks',
        is made in this transaction (another connection would wait for its lock)."""
        if self.trail is None:
            raise SourceError(f"{self._where()}: a dry run acts on nothing")
        what = ", ".join(f"{b.action.value} of rule '{b.rule}'" for b in batches)
        try:
            with self.source.engine.begin() as conn, self.source.writing(conn):
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                self._round.clear()
                done = self._act_round(conn, batches, self.trail)
        except IntegrityError as error:
            raise SourceError(
                f"{self._where()}: {what} was refused by the database (a foreign key or "
                f"constraint): {first_line(error)}; nothing of this batch was done"
            ) from None
        except SQLAlchemyError as error:
            raise db_error(self._where(), self.source.url, error) from None
        return [
            BatchResult({k: Outcome.DONE if k in acted else Outcome.SKIPPED for k in b.keys})
            for b, acted in zip(batches, done, strict=True)
        ]

    def _act_round(
        self, conn: sa.Connection, batches: Sequence[ActionBatch], trail: Trail
    ) -> list[set[Any]]:
        """Act on the round's batches and audit them, in ``conn``'s transaction; the keys
        acted on, per batch. Purges the database re-checks and deletes in one statement
        (but on PostgreSQL, whose statement writes the audit too) are one ``DELETE`` for the
        round, each batch audited under its rule: one pass over the round's pages."""
        one = batches[0]
        together = len(batches) > 1 and not self._purges_in_sql(conn, one)
        if not together or not all(self._deletes_returning(conn, b) for b in batches):
            return [set(self._act_and_audit(conn, batch, trail)) for batch in batches]
        gone = set(self._delete_returning(conn, [k for b in batches for k in b.keys], one))
        text = self.source.key.text
        out = []
        for batch in batches:
            done = [key for key in batch.keys if key in gone]
            trail.write(conn, batch, [text(key) for key in done])
            out.append(set(done))
        return out

    def _deletes_returning(self, conn: sa.Connection, batch: ActionBatch) -> bool:
        """A purge without child rows, where one statement re-checks, deletes and says
        what it deleted."""
        return batch.action is Action.PURGE and not self.children and conn.dialect.delete_returning

    def _delete_returning(
        self, conn: sa.Connection, keys: Sequence[Any], batch: ActionBatch
    ) -> list[Any]:
        """Delete those of ``keys`` that ``batch``'s re-check still selects; the keys deleted."""
        rechecked = sa.and_(self._among(conn, keys), self._rechecked(batch))
        statement = sa.delete(self.table).where(rechecked).returning(self.key)
        return list(conn.execute(statement).scalars())

    def _act_and_audit(self, conn: sa.Connection, batch: ActionBatch, trail: Trail) -> list[Any]:
        """Act on the batch and write its audit entries, in ``conn``'s transaction; the
        keys acted on. A plain purge on PostgreSQL is one statement that re-checks,
        deletes and audits (:mod:`keepfor.audit.insql`)."""
        if self._purges_in_sql(conn, batch):
            key_text = as_text(self.key, conn.dialect.name).label("key_text")
            deleted = (
                sa.delete(self.table)
                .where(self._among(conn, batch.keys), self._rechecked(batch))
                .returning(self.key.label("key"), key_text)
                .cte("d")
            )
            return trail.purge_in_sql(conn, batch, deleted)
        done = self._act(conn, batch)
        text = self.source.key.text
        trail.write(conn, batch, [text(k) for k in done])
        return done

    def _rechecked(self, batch: ActionBatch) -> sa.ColumnElement[bool]:
        """The batch's re-check as SQL, built once a round (its batches share it; each
        building costs milliseconds, and looks for the holds table again)."""
        where = self._round.get(batch.recheck)
        if where is None:
            where = self._round[batch.recheck] = self.source.where(batch.recheck)
        return where

    def _purges_in_sql(self, conn: sa.Connection, batch: ActionBatch) -> bool:
        """A purge without child rows nor a review behind it, on PostgreSQL, of a key whose
        text the database writes as Python does (integers, variable-length text)."""
        kind = self.key.type
        plain_key = isinstance(kind, sa.Integer) or (
            isinstance(kind, sa.String) and not isinstance(kind, sa.CHAR)
        )
        return (
            batch.action is Action.PURGE
            and not batch.reviewed
            and not self.children
            and conn.dialect.name == "postgresql"
            and plain_key
        )

    def _among(
        self, conn: sa.Connection, keys: Sequence[Any], column: sa.Column[Any] | None = None
    ) -> sa.ColumnElement[bool]:
        """The key (or ``column``) is one of ``keys`` (:func:`keysets.among`)."""
        return keysets.among(conn, self.key if column is None else column, keys)

    def _live(self, conn: sa.Connection, batch: ActionBatch) -> list[Any]:
        """The batch's keys that are still selected by its predicate, locked."""
        query = sa.select(self.key).where(self._among(conn, batch.keys), self._rechecked(batch))
        if conn.dialect.name in ("postgresql", "mysql", "mariadb"):
            query = query.with_for_update()
        live = list(conn.execute(query).scalars())
        if batch.action is Action.PURGE or not live:
            return live
        texts = {self.source.key.text(k): k for k in live}
        done = state.already_acted(conn, batch.source, batch.action.value, texts)
        return [key for text, key in texts.items() if text not in done]

    def _act(self, conn: sa.Connection, batch: ActionBatch) -> list[Any]:
        if self._deletes_returning(conn, batch):
            return self._delete_returning(conn, batch.keys, batch)
        live = self._live(conn, batch)
        if not live:
            return live
        if batch.action is Action.PURGE:
            for child in self.children:
                conn.execute(sa.delete(child.table).where(self._among(conn, live, child)))
            conn.execute(sa.delete(self.table).where(self._among(conn, live)))
        elif batch.action is Action.ANONYMISE:
            self._anonymise(conn, live)
        elif batch.action is Action.FLAG and self.flag_column is not None:
            assert self.trail is not None
            stamp = self.trail.clock.now()
            kind = self.flag_column.type
            if not isinstance(kind, sa.DateTime | sa.Date):
                value: Any = True
            elif conn.dialect.name == "postgresql" and getattr(kind, "timezone", False):
                value = stamp
            else:
                value = stamp.replace(tzinfo=None)
            flagged = sa.update(self.table).where(self._among(conn, live))
            conn.execute(flagged.values({self.flag_column: value}))
        # review: the mark written with the audit entry is the queue's entry
        return live

    def _anonymise(self, conn: sa.Connection, live: Sequence[Any]) -> None:
        """Each anonymised column of the ``live`` rows set by its strategy: in SQL, or
        hashed (:mod:`keepfor.connectors.anonymise`)."""
        plain, hashed = anonymise.set_values(self.anonymise.values())
        if plain:
            conn.execute(sa.update(self.table).where(self._among(conn, live)).values(plain))
        if hashed:
            assert self.trail is not None
            rows = self._among(conn, live)
            secret, name = self.trail.key, self.source.name
            anonymise.hash_values(conn, self.table, self.key, rows, hashed, secret, name)
