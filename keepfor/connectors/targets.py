"""The action target of a source, and keepfor's tables in its database: what ``keepfor
sweep``, ``keepfor erase`` and the daemon each act through, made in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import ActionTarget, Clock, RecordSource
from keepfor.actions.settings import ActionSettings
from keepfor.actions.trail import Trail
from keepfor.connectors.sql import SqlTableSource, db_error
from keepfor.connectors.store import StoreSource
from keepfor.connectors.streamed import StreamedSource
from keepfor.engine import RuleSet
from keepfor.errors import SourceError

if TYPE_CHECKING:
    from keepfor.daemon.lock import SourceLock

__all__ = [
    "acting_on",
    "check_config",
    "engine_of",
    "prepare_tables",
    "sweeping_lock",
    "target_for",
]


def target_for(source: RecordSource, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
    """The target of an opened source (a user's table, or keepfor's store) with its
    action settings checked; ``trail`` None: a dry run's, which acts on nothing."""
    if isinstance(source, StreamedSource):
        return source.target(settings, trail)
    if isinstance(source, StoreSource):
        from keepfor.connectors.storewrite import StoreTarget

        return StoreTarget(source, settings, trail)
    if not isinstance(source, SqlTableSource):
        raise SourceError(f"source '{source.name}': keepfor cannot act on it")
    from keepfor.connectors.sqlwrite import SqlTableTarget

    return SqlTableTarget(source, settings, trail)


def check_config(
    source: RecordSource, settings: ActionSettings, rules: RuleSet, *, apply: bool
) -> list[str]:
    """An opened source and its action settings checked against the rules as a sweep
    checks them before reading (:func:`keepfor.actions.sweep.check_swept`), by ``keepfor
    validate`` and a daemon's start: a :class:`SourceError` names the first fault; what
    a dry run's sweep only warns of is returned."""
    from keepfor.actions.sweep import SweptSource, check_swept

    warnings: list[str] = []
    make = partial(target_for, settings=settings, trail=None)
    check_swept(SweptSource(source, settings, make), rules, apply=apply, warnings=warnings)
    return warnings


def engine_of(source: RecordSource) -> sa.Engine | None:
    """The database of keepfor's own tables for a source (its own, or its state_db's);
    None for a source that has none."""
    if isinstance(source, SqlTableSource | StoreSource):
        return source.engine
    if isinstance(source, StreamedSource) and source.marks.url is not None:
        engine: sa.Engine = source.marks.engine
        return engine
    return None


def prepare_tables(source: RecordSource) -> None:
    """keepfor's tables for acting and auditing in the source's database, before the
    first batch (where they are missing)."""
    if isinstance(source, StreamedSource) and source.marks.url is not None:
        from keepfor.actions.remote import ensure_journal

        try:
            with source.marks.engine.begin() as conn:
                ensure_journal(conn)
        except SQLAlchemyError as error:
            raise db_error(f"{source.where()}: state_db", source.marks.url, error) from None
        return
    if isinstance(source, SqlTableSource | StoreSource):
        where = source.where_text if isinstance(source, SqlTableSource) else "the store"
        try:
            with source.engine.begin() as conn:
                Trail.ensure(conn)
        except SQLAlchemyError as error:
            raise db_error(where, source.url, error) from None


def sweeping_lock(source: RecordSource, clock: Clock) -> SourceLock:
    """The source's sweeping lock, taken (the one a daemon takes for each run): two
    sweepers never act on one source at once. Held elsewhere: one line, nothing done."""
    from keepfor.daemon.lock import lock_for

    engine = engine_of(source)
    if engine is None:
        raise SourceError(f"source '{source.name}': keepfor cannot act on it")
    lock = lock_for(engine, source.name, clock)
    if not lock.acquire():
        raise SourceError(
            f"source '{source.name}': another keepfor (a daemon's run or a sweep) is acting "
            "on it now; nothing was done. Run again when it has finished"
        )
    return lock


@contextlib.contextmanager
def acting_on(source: RecordSource, clock: Clock | None) -> Iterator[None]:
    """An ``--apply``'s hold on a source, once its config is checked: keepfor's tables
    made and the sweeping lock taken, released at the end; ``clock`` None: the caller
    holds the lock already (a daemon's run takes it before it starts)."""
    prepare_tables(source)
    if clock is None:
        yield
        return
    lock = sweeping_lock(source, clock)
    try:
        yield
    finally:
        lock.release()
