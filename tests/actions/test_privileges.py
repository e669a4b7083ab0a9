"""A sweep the database would not allow is one line before anything is done: a user
without the privilege to delete or update (PostgreSQL, MariaDB), a read-only SQLite
file. Each write is tried on no row first, so the batches never start (exit 2, not
every batch failing with exit 4)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor.actions.trail import Trail
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.errors import SourceError
from keepfor.holds.table import ensure as ensure_holds
from tests.actions.test_sweep import LINES, ROWS, SETTINGS, TABLE, make_tables, sweep_with


def _grant(admin: sa.Engine, user: str, table: str, what: str) -> None:
    quoted = f'"{user}"' if admin.dialect.name == "postgresql" else f"'{user}'@'%'"
    with admin.begin() as conn:
        conn.execute(sa.text(f"GRANT {what} ON {table} TO {quoted}"))


@pytest.fixture
def restricted(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, sa.Engine]]:
    """(the owner's URL, a URL of a user who may only read the records and write
    keepfor's tables, the owner's engine): a role of the test's own, dropped after."""
    url = make_tables(db_url)
    owner = sa.create_engine(url)
    with owner.begin() as conn:
        Trail.ensure(conn)
    with owner.begin() as conn:
        ensure_holds(conn)
    with owner.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
    dialect = owner.dialect.name
    if dialect == "sqlite":
        path = make_url(url).database
        yield url, f"sqlite:///file:{path}?mode=ro&uri=true", owner
        owner.dispose()
        return
    user = f"kf_test_{uuid.uuid4().hex[:8]}"
    with owner.begin() as conn:
        if dialect == "postgresql":
            conn.execute(sa.text(f'CREATE ROLE "{user}" LOGIN'))
        else:
            conn.execute(sa.text(f"CREATE USER '{user}'@'%'"))
    try:
        _grant(owner, user, TABLE, "SELECT")
        _grant(owner, user, LINES, "SELECT")
        for table in sorted(t for t in present if t.startswith("keepfor_")):
            _grant(owner, user, table, "ALL PRIVILEGES")
        if dialect == "postgresql":
            with owner.begin() as conn:
                conn.execute(sa.text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{user}"'))
        yield url, make_url(url).set(username=user, password=None).render_as_string(False), owner
    finally:
        with owner.begin() as conn:
            if dialect == "postgresql":
                conn.execute(sa.text(f'DROP OWNED BY "{user}"'))
                conn.execute(sa.text(f'DROP ROLE "{user}"'))
            else:
                conn.execute(sa.text(f"DROP USER '{user}'@'%'"))
        owner.dispose()


def _untouched(owner: sa.Engine) -> None:
    with owner.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar() == len(ROWS)
        assert conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar() == 0
        names = conn.execute(sa.text(f"SELECT count(*) FROM {TABLE} WHERE name = '(removed)'"))
        assert names.scalar() == 0


def _refused(url: str) -> str:
    source = SqlTableSource(url, TableMapping(table=TABLE, source="shop"))
    with pytest.raises(SourceError) as caught:
        sweep_with(source, SqlTableTarget, apply=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith("; nothing was done"), message
    return message


def test_a_purge_the_user_may_not_do_is_refused_before_any_batch(
    restricted: tuple[str, str, sa.Engine],
) -> None:
    _, url, owner = restricted
    message = _refused(url)
    assert "source 'shop', table 'kf_sweep': the database refuses the purge (DELETE on" in message
    _untouched(owner)


def test_an_anonymise_of_columns_the_user_may_not_update_is_refused(
    restricted: tuple[str, str, sa.Engine],
) -> None:
    """Deletes allowed, and updates of the flag column only: the anonymise's columns
    are named."""
    _, url, owner = restricted
    if owner.dialect.name == "sqlite":
        pytest.skip("a read-only SQLite file refuses the purge first (the test above)")
    user = make_url(url).username
    assert user is not None
    _grant(owner, user, TABLE, "DELETE")
    _grant(owner, user, LINES, "DELETE")
    _grant(owner, user, TABLE, "UPDATE (flagged_at)")
    message = _refused(url)
    assert "the database refuses the anonymise (UPDATE of email, name: " in message
    _untouched(owner)
    _grant(owner, user, TABLE, "UPDATE (email, name)")
    source = SqlTableSource(url, TableMapping(table=TABLE, source="shop"))
    result = sweep_with(source, SqlTableTarget, apply=True, settings=replace(SETTINGS))
    assert result.failures == []
    assert result.sources["shop"].anonymise > 0
