"""The store's keys and texts in a NO PAD binary collation on MariaDB/MySQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Revision 0001 made them ``utf8mb4_bin``, which on MariaDB ignores trailing spaces: ``k``
and ``k `` were one key to the unique index, and ``category = 'order'`` matched a stored
``order ``, while the engine tells them apart. Now ``utf8mb4_nopad_bin`` (MariaDB) or
``utf8mb4_0900_bin`` (MySQL 8): byte for byte. Nothing changes on SQLite and PostgreSQL,
which compare exactly already. One ``ALTER TABLE`` per table (each rebuilds it).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from keepfor.exact import MYSQL, nopad_collation

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "VARCHAR(255)"

COLUMNS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "keepfor_customers": (("key", KEY, False), ("name", KEY, True)),
    "keepfor_records": (
        ("key", KEY, False),
        ("customer_key", KEY, True),
        ("category", KEY, False),
    ),
    "keepfor_record_fields": (("name", KEY, False), ("value_text", "TEXT", True)),
}
"""Per table, its text columns: name, type, nullable."""


def _collate(collation: str | None) -> None:
    """Every text column of the store in ``collation`` (None: the server's NO PAD one)."""
    bind = op.get_bind()
    if bind.dialect.name not in MYSQL:
        return
    chosen = collation or nopad_collation(bind.dialect)
    for table, columns in COLUMNS.items():
        modify = ", ".join(
            f"MODIFY `{name}` {kind} CHARACTER SET utf8mb4 COLLATE {chosen} "
            + ("NULL" if nullable else "NOT NULL")
            for name, kind, nullable in columns
        )
        op.execute(f"ALTER TABLE {table} {modify}")


def upgrade() -> None:
    _collate(None)


def downgrade() -> None:
    _collate("utf8mb4_bin")
