"""What a SQL table's database will refuse, asked before a sweep writes anything
(:meth:`keepfor.connectors.sqlwrite.SqlTableTarget.prepare`): a write the user may not
make, and a foreign key that would block a purge. Apart from the target, which acts on
the table, because these read the database's privileges and schema, not its records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.connectors.sql import SqlTableSource, db_error
from keepfor.database import first_line
from keepfor.errors import SourceError

__all__ = ["Write", "blocking_foreign_keys", "probe_writes"]

Write = tuple[str, str, sa.Delete | sa.Update]
"""(action, what the statement does, a statement that changes no row)."""


def probe_writes(source: SqlTableSource, writes: Sequence[Write]) -> None:
    """Run each write on no row, in a transaction rolled back: a database checks the
    user's privileges (and a read-only file) whatever the rows, so a sweep that could
    do nothing is one line, exit 2, instead of every batch failing (exit 4)."""
    if not writes:
        return
    try:
        with source.engine.connect() as conn, conn.begin() as transaction:
            for action, what, statement in writes:
                try:
                    conn.execute(statement)
                except SQLAlchemyError as error:
                    raise SourceError(
                        f"{source.where_text}: the database refuses the {action} "
                        f"({what}: {first_line(error)}); nothing was done"
                    ) from None
            transaction.rollback()
    except SQLAlchemyError as error:
        raise db_error(source.where_text, source.url, error) from None


def blocking_foreign_keys(
    source: SqlTableSource, children: Sequence[sa.Column[Any]]
) -> list[tuple[str, str, str]]:
    """(constraint, table, columns) of each foreign key to the source's table that
    neither a declared child (``children``) nor ON DELETE CASCADE / SET NULL takes care
    of."""
    table = source.table
    declared = {(c.table.name, c.name) for c in children}
    found: list[tuple[str, str, str]] = []
    try:
        inspector = sa.inspect(source.engine)
        for name in inspector.get_table_names(schema=table.schema):
            for key in inspector.get_foreign_keys(name, schema=table.schema):
                if key.get("referred_table") != table.name:
                    continue
                columns = key.get("constrained_columns") or []
                ondelete = str((key.get("options") or {}).get("ondelete") or "").upper()
                handled = ondelete in ("CASCADE", "SET NULL", "SET DEFAULT")
                if handled or all((name, c) in declared for c in columns):
                    continue
                label = f"'{key['name']}'" if key.get("name") else "(unnamed)"
                found.append((label, name, ", ".join(columns)))
    except SQLAlchemyError as error:
        raise db_error(source.where_text, source.url, error) from None
    return found
