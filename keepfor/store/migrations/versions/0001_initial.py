"""The store's first tables: customers, records and their typed field values.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written by hand so it says exactly what it creates; the schema test checks the
result equals ``keepfor.store.models`` on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = 255


def _instant() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """An instant in UTC: timestamptz on PostgreSQL, DATETIME(6) (UTC) on MariaDB/MySQL."""
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _string() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """A key-sized string, compared byte for byte on MariaDB/MySQL (case matters)."""
    return sa.String(KEY).with_variant(
        mysql.VARCHAR(KEY, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def _text() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """Free text, binary utf8mb4 on MariaDB/MySQL."""
    return sa.Text().with_variant(
        mysql.TEXT(charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def upgrade() -> None:
    op.create_table(
        "keepfor_customers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", _string(), nullable=False),
        sa.Column("name", _string(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
    )
    op.create_index("ix_keepfor_customers_key", "keepfor_customers", ["key"], unique=True)

    op.create_table(
        "keepfor_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", _string(), nullable=False),
        sa.Column("customer_key", _string(), nullable=True),
        sa.Column("category", _string(), nullable=False),
        sa.Column("imported_at", _instant(), nullable=False),
    )
    op.create_index("ix_keepfor_records_key", "keepfor_records", ["key"], unique=True)
    op.create_index("ix_keepfor_records_customer_key", "keepfor_records", ["customer_key"])
    op.create_index("ix_keepfor_records_category", "keepfor_records", ["category"])

    op.create_table(
        "keepfor_record_fields",
        sa.Column(
            "record_id",
            sa.Integer,
            sa.ForeignKey(
                "keepfor_records.id",
                ondelete="CASCADE",
                name="fk_keepfor_record_fields_record_id",
            ),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("name", _string(), primary_key=True),
        sa.Column("value_text", _text(), nullable=True),
        sa.Column("value_number", sa.Double, nullable=True),
        sa.Column("value_bool", sa.Boolean, nullable=True),
        sa.Column("value_date", sa.Date, nullable=True),
        sa.Column("value_instant", _instant(), nullable=True),
    )
    op.create_index(
        "ix_keepfor_record_fields_name_date", "keepfor_record_fields", ["name", "value_date"]
    )
    op.create_index(
        "ix_keepfor_record_fields_name_instant",
        "keepfor_record_fields",
        ["name", "value_instant"],
    )


def downgrade() -> None:
    op.drop_table("keepfor_record_fields")
    op.drop_table("keepfor_records")
    op.drop_table("keepfor_customers")
