"""Sweeping an export file: the file is never edited; keepfor writes beside it, per
sweep (``S``, the sweep's id, as in the audit trail)::

    contacts.kept-S.csv       every record keepfor has not purged, in the file's order:
                              anonymised ones rewritten per [anonymise], flagged ones
                              with the flag column (property) set where [flag] names one
    contacts.disposed-S.csv   what sweep S purged or anonymised: key, rule, pack,
                              action, disposed_at (UTC); nothing of a record but its key

(``.jsonl`` files for a ``jsonl`` source.) Each is written to a temporary file, flushed
to disk and renamed into place, so it is whole or absent.

**The state database is the truth, the files are derived from it.** A batch is acted
on by one transaction in the state database: its audit entries and a mark per record
(``keepfor_acted``; purges too, so a later read of the same file leaves the purged
records out), with the sweep's row in ``keepfor_file_outputs`` set to ``pending``.
Then both files are written again from the input and *every* mark, and the row is set
to ``written``. Writing them twice gives the same files, so:

- a crash before the commit did nothing (a temporary file at most, removed by the next
  sweep), and the records are still due;
- a crash after it leaves the sweep ``pending``: the next ``sweep --apply`` writes that
  sweep's files (under its own id) before it acts on anything, and acts on nothing twice,
  since the marks say what was done. Until then the sweep's files are missing or one
  batch behind.

A sweep that finds nothing due writes no files. A record that keepfor purged stays out
of every later kept file, even if a new export brings its key back.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import ActionBatch, BatchResult, Outcome
from keepfor.actions import state
from keepfor.actions.remote import StateDbTarget
from keepfor.actions.settings import ActionSettings, StrategyKind
from keepfor.actions.trail import Trail
from keepfor.connectors.anonymise import value_pseudonym
from keepfor.connectors.filerows import RawRow, temporary, write_atomically
from keepfor.connectors.files import FileSource
from keepfor.connectors.streamed import CHUNK
from keepfor.database import making_tables
from keepfor.engine import Action, Instant
from keepfor.errors import SourceError, did_you_mean
from keepfor.holds.table import exact_text

__all__ = ["FileTarget", "outputs"]

metadata = sa.MetaData()

outputs = sa.Table(
    "keepfor_file_outputs",
    metadata,
    sa.Column("source", exact_text(200), primary_key=True),
    sa.Column("sweep_id", sa.String(64), primary_key=True),
    sa.Column("kept", sa.Text(), nullable=False),
    sa.Column("disposed", sa.Text(), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)
"""Each sweep that acted on a file source: its two files, ``pending`` or ``written``."""

_DISPOSALS = (Action.PURGE.value, Action.ANONYMISE.value)
_MARKS = (*_DISPOSALS, Action.FLAG.value)
_DISPOSED_COLUMNS = ("key", "rule", "pack", "action", "disposed_at")


class FileTarget(StateDbTarget):
    """The actions on an export file's records: marks and audit in the state database,
    the kept records and the disposal list in new files beside it."""

    source: FileSource

    def __init__(self, source: FileSource, settings: ActionSettings, trail: Trail | None) -> None:
        """``trail`` None: a dry run's target, which checks the settings and acts on
        nothing."""
        super().__init__(source, settings, trail)
        self._check(settings)

    def _check(self, settings: ActionSettings) -> None:
        """The settings fit a file: no child tables; named columns exist (CSV)."""
        where = self.source.where()
        if settings.children:
            raise SourceError(
                f"{where}: purge.children: a file has no child tables; a purge leaves the "
                "record out of the kept file"
            )
        header = self.source.header
        named = [(f"anonymise.{c}", c) for c in settings.anonymise]
        for what, column in named:
            if column == self.source.settings.key:
                raise SourceError(f"{where}: {what}: the key column cannot be anonymised")
            if header is not None and column not in header:
                hint = did_you_mean(column, header)
                raise SourceError(f"{where}: {what}: the file has no column '{column}'{hint}")
        if settings.flag_column == self.source.settings.key:
            raise SourceError(f"{where}: flag.column: the key column cannot hold the flag")

    @property
    def actions(self) -> frozenset[Action]:
        """Every action but ``archive``: a file has no restorable archive."""
        return frozenset(Action) - {Action.ARCHIVE}

    @property
    def batch_size(self) -> tuple[int, int]:
        """Large: each batch reads the file again and writes the files beside it anew."""
        return 100_000, 1_000_000

    # -- before the first batch -----------------------------------------------------------

    def prepare(self, actions: Collection[Action]) -> None:
        """keepfor's tables in the state database; then finish the files of a sweep that
        was interrupted after acting (see the module)."""
        if self.trail is None:
            return
        try:
            with self.engine.begin() as conn, making_tables(conn):
                Trail.ensure(conn)
                metadata.create_all(conn, checkfirst=True)
        except SQLAlchemyError as error:
            raise self._failed("cannot write its tables", error) from None
        self.recover()

    def recover(self) -> list[str]:
        """Write the files of every ``pending`` sweep of this source and remove
        temporary files a crash left; the sweeps finished."""
        for pattern in (self._name("kept", "*"), self._name("disposed", "*")):
            for path in self._folder.glob(temporary(self._folder / pattern).name):
                path.unlink(missing_ok=True)
        query = sa.select(outputs.c.sweep_id).where(
            outputs.c.source == self.source.name, outputs.c.state == "pending"
        )
        with self.engine.connect() as conn:
            pending = list(conn.execute(query).scalars())
        for sweep_id in pending:
            self.write_files(sweep_id)
        return pending

    # -- one batch -----------------------------------------------------------------------

    def apply(self, batch: ActionBatch, at: Instant) -> BatchResult:
        """Mark and audit the records still due in one transaction, then write the files."""
        if self.trail is None:
            raise SourceError(f"{self.source.where()}: a dry run acts on nothing")
        live = self._live(batch)
        error = None
        if live:
            self._commit(batch, live, self.trail)
            try:
                self.write_files(self.trail.sweep_id)
            except SourceError as failed:
                error = str(failed)  # done and audited; the next sweep writes the files
        outcomes = {k: Outcome.DONE if k in live else Outcome.SKIPPED for k in batch.keys}
        return BatchResult(outcomes, error)

    def _live(self, batch: ActionBatch) -> list[str]:
        """The batch's keys still selected by its predicate (read again now), less those
        the action was already taken on."""
        live = [k.key for k in self.source.recheck(batch.recheck, batch.keys)]
        if not live or batch.action is Action.PURGE:
            return live
        with self.engine.connect() as conn:
            done = state.already_acted(conn, batch.source, batch.action.value, live)
        return [key for key in live if key not in done]

    def _commit(self, batch: ActionBatch, live: list[str], trail: Trail) -> None:
        """The audit entries, the marks (a purge's too) and the sweep's row, at once."""
        now = trail.clock.now()
        try:
            with self.engine.begin() as conn:
                trail.write(conn, batch, live)
                if batch.action is Action.PURGE:
                    state.mark(
                        conn, batch.source, Action.PURGE.value, live, rule=batch.rule,
                        pack=batch.pack, sweep=trail.sweep_id, at=now,
                    )  # fmt: skip
                self._set_state(conn, trail.sweep_id, "pending", now)
        except SQLAlchemyError as error:
            raise self._failed(
                "cannot write the audit; nothing of the batch was done", error
            ) from None

    def _set_state(self, conn: sa.Connection, sweep_id: str, value: str, now: datetime) -> None:
        naive = now.astimezone(UTC).replace(tzinfo=None)
        where = (outputs.c.source == self.source.name) & (outputs.c.sweep_id == sweep_id)
        changed = conn.execute(outputs.update().where(where).values(state=value, updated_at=naive))
        if changed.rowcount == 0:
            conn.execute(
                outputs.insert().values(
                    source=self.source.name,
                    sweep_id=sweep_id,
                    kept=str(self.kept_path(sweep_id)),
                    disposed=str(self.disposed_path(sweep_id)),
                    state=value,
                    updated_at=naive,
                )
            )

    # -- the files -----------------------------------------------------------------------

    @property
    def _folder(self) -> Path:
        return self.source.settings.path.parent

    def _name(self, part: str, sweep_id: str) -> str:
        path = self.source.settings.path
        suffix = path.suffix or f".{self.source.settings.format}"
        return f"{path.stem}.{part}-{sweep_id}{suffix}"

    def kept_path(self, sweep_id: str) -> Path:
        return self._folder / self._name("kept", sweep_id)

    def disposed_path(self, sweep_id: str) -> Path:
        return self._folder / self._name("disposed", sweep_id)

    def write_files(self, sweep_id: str) -> None:
        """The sweep's kept records and disposal list, from the file and the marks; then
        the sweep is ``written``."""
        encoding = self.source.settings.encoding
        try:
            write_atomically(self.kept_path(sweep_id), encoding, self._write_kept)
            write_atomically(
                self.disposed_path(sweep_id),
                encoding,
                lambda out: self._write_disposed(out, sweep_id),
            )
        except OSError as error:
            raise SourceError(
                f"{self.source.where()}: cannot write the files of sweep {sweep_id}: "
                f"{error.strerror or error}; what was done is audited, and the next sweep "
                "writes them"
            ) from None
        now = datetime.now(UTC) if self.trail is None else self.trail.clock.now()
        with self.engine.begin() as conn:
            self._set_state(conn, sweep_id, "written", now)

    def _kept_rows(self) -> Iterator[RawRow | dict[str, Any]]:
        """Every row keepfor has not purged: unchanged (a :class:`RawRow`), or rewritten
        (its new values)."""
        rows = self.source.file.rows()
        while chunk := list(islice(rows, CHUNK)):
            marks = self._marks([row.key for row in chunk])
            for row in chunk:
                acted = marks.get(row.key, {})
                if Action.PURGE.value in acted:
                    continue
                data = row.data
                if Action.ANONYMISE.value in acted:
                    data = self._anonymised(data)
                flagged = acted.get(Action.FLAG.value)
                if flagged is not None and self.settings.flag_column is not None:
                    data = {**data, self.settings.flag_column: _stamp(flagged)}
                yield row if data is row.data else data

    def _marks(self, keys: list[str]) -> dict[str, dict[str, datetime]]:
        """Of these keys, the disposals and flags keepfor took on each, and when."""
        acted = state.acted
        query = sa.select(acted.c.record_key, acted.c.action, acted.c.acted_at).where(
            acted.c.source == self.source.name,
            acted.c.action.in_(_MARKS),
            acted.c.record_key.in_(keys),
        )
        found: dict[str, dict[str, datetime]] = {}
        with self.engine.connect() as conn:
            for key, action, when in conn.execute(query):
                found.setdefault(key, {})[action] = when
        return found

    def _anonymised(self, data: dict[str, Any]) -> dict[str, Any]:
        """A record's values with each anonymised field rewritten by its strategy."""
        out = dict(data)
        empty: Any = "" if self.source.settings.format == "csv" else None
        for column, strategy in self.settings.anonymise.items():
            if column not in out or strategy.kind is StrategyKind.KEEP:
                continue
            value = out[column]
            if strategy.kind is StrategyKind.NULL:
                out[column] = empty
            elif strategy.kind is StrategyKind.FIXED:
                out[column] = strategy.text
            elif value is None or value == "":
                continue
            elif strategy.kind is StrategyKind.TRUNCATE:
                out[column] = str(value)[: strategy.length]
            else:
                assert self.trail is not None
                out[column] = value_pseudonym(self.trail.key, self.source.name, column, value)
        return out

    def _write_kept(self, out: IO[str]) -> None:
        if self.source.settings.format == "jsonl":
            for row in self._kept_rows():
                if isinstance(row, RawRow):
                    out.write(f"{row.text or _json(row.data)}\n")
                else:
                    out.write(f"{_json(row)}\n")
            return
        header = list(self.source.header or [])
        flag = self.settings.flag_column
        if flag is not None and flag not in header:
            header.append(flag)
        writer = csv.writer(out, delimiter=self.source.settings.delimiter)
        writer.writerow(header)
        for row in self._kept_rows():
            data = row.data if isinstance(row, RawRow) else row
            writer.writerow([data.get(column, "") for column in header])

    def _write_disposed(self, out: IO[str], sweep_id: str) -> None:
        acted = state.acted
        query = (
            sa.select(
                acted.c.record_key,
                acted.c.rule_id,
                acted.c.pack_id,
                acted.c.action,
                acted.c.acted_at,
            )
            .where(
                acted.c.source == self.source.name,
                acted.c.sweep_id == sweep_id,
                acted.c.action.in_(_DISPOSALS),
            )
            .order_by(acted.c.acted_at, acted.c.action, acted.c.record_key)
        )
        with self.engine.connect() as conn:
            rows: Iterable[tuple[Any, ...]] = (
                (*row[:4], _stamp(row[4])) for row in conn.execute(query)
            )
            if self.source.settings.format == "jsonl":
                for row in rows:
                    out.write(_json(dict(zip(_DISPOSED_COLUMNS, row, strict=True))) + "\n")
                return
            writer = csv.writer(out, delimiter=self.source.settings.delimiter)
            writer.writerow(_DISPOSED_COLUMNS)
            writer.writerows(rows)


def _stamp(when: datetime) -> str:
    """A UTC instant (stored naive) as ISO 8601 with its Z."""
    return when.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
