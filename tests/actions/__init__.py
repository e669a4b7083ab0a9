"""Tests of sweeps, erasure and their batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa


def filled_table(
    url: str, name: str, columns: Sequence[sa.Column[Any]], rows: list[dict[str, Any]]
) -> str:
    """Make table ``name`` of ``columns`` in the database at ``url``, holding ``rows``
    (an integer ``id`` key first); ``url`` back, for a fixture to return."""
    engine = sa.create_engine(url)
    try:
        table = sa.Table(
            name,
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            *columns,
        )
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
    finally:
        engine.dispose()
    return url
