"""SQL built once and used for many columns: the same rows as the expression built
anew for each column, the build run once, and parameters bound, never inlined."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from keepfor.connectors import fragments
from keepfor.connectors.fragments import column_fragment

CALLS: list[str] = []


def _between(
    column: sa.ColumnElement[Any], low: sa.ColumnElement[Any], high: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """A column's text in a range, its first letter one of a list (an IN list the
    compiler expands), a constant used twice."""
    CALLS.append("built")
    text = sa.type_coerce(column, sa.String())
    return sa.and_(
        text >= low,
        text <= high,
        sa.func.substr(text, 1, 1).in_(["a", "b", "c"]),
        sa.func.length(text) != 7,
        sa.func.length(text) > sa.func.length(sa.literal("x")) - 7,
    )


@pytest.fixture
def table() -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    words = sa.Table(
        "words",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("first", sa.String),
        sa.Column("second", sa.String),
    )
    meta.create_all(engine)
    rows = [
        ("apple", "cherry"),
        ("banana", "apricot"),
        ("carrot", "zebra"),
        ("avocado", "berry"),
        (None, "bean"),
        ("cab", None),
        ("dates", "ceiling"),
    ]
    with engine.begin() as conn:
        conn.execute(words.insert(), [{"first": a, "second": b} for a, b in rows])
    return engine, words


def _ids(engine: sa.Engine, table: sa.Table, where: sa.ColumnElement[bool]) -> list[int]:
    with engine.connect() as conn:
        query = sa.select(table.c.id).where(where).order_by(table.c.id)
        return [row[0] for row in conn.execute(query)]


@pytest.mark.parametrize(
    ("low", "high"), [("a", "c"), ("b", "cz"), ("apple", "apricot"), ("z", "a")]
)
def test_same_rows_as_the_expression(table: tuple[sa.Engine, sa.Table], low: str, high: str):
    engine, words = table
    for column in (words.c.first, words.c.second):
        built = _between(column, sa.literal(low), sa.literal(high))
        reused = column_fragment(_between, column, "sqlite", low, high)
        assert _ids(engine, words, reused) == _ids(engine, words, built)
    # two columns, other values, one statement: each fragment binds its own values
    both = sa.and_(
        column_fragment(_between, words.c.first, "sqlite", low, high),
        column_fragment(_between, words.c.second, "sqlite", "a", "z"),
    )
    expected = sa.and_(
        _between(words.c.first, sa.literal(low), sa.literal(high)),
        _between(words.c.second, sa.literal("a"), sa.literal("z")),
    )
    assert _ids(engine, words, both) == _ids(engine, words, expected)


def test_built_and_compiled_once(table: tuple[sa.Engine, sa.Table]):
    engine, words = table
    fragments._pieces.cache_clear()
    CALLS.clear()
    for low, high in [("a", "b"), ("b", "c"), ("c", "d")]:
        for column in (words.c.first, words.c.second):
            _ids(engine, words, column_fragment(_between, column, "sqlite", low, high))
    assert CALLS == ["built"]


def test_every_value_bound_never_inlined(table: tuple[sa.Engine, sa.Table]):
    _, words = table
    where = column_fragment(_between, words.c.second, "sqlite", "a'b", "zz")
    compiled = sa.select(words.c.id).where(where).compile(dialect=sqlite.dialect())
    sql = compiled.string
    assert "'" not in sql
    assert "words.second" in sql
    assert sql.count("?") == len(compiled.positiontup or ())
    values = [compiled.params[name] for name in compiled.positiontup or ()]
    assert values[:2] == ["a'b", "zz"]
    assert {"a", "b", "c", 7} <= set(values)


def test_literal_binds_render_the_values(table: tuple[sa.Engine, sa.Table]):
    """What ``--show-query`` prints: the values as literals, quotes doubled."""
    _, words = table
    where = column_fragment(_between, words.c.first, "sqlite", "a'b", "zz")
    sql = str(
        sa.select(words.c.id)
        .where(where)
        .compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    )
    assert "words.first >= 'a''b'" in sql
    assert "IN ('a', 'b', 'c')" in sql


def test_a_fragment_inside_a_fragment(table: tuple[sa.Engine, sa.Table]):
    """The text-date checks nest (the cutoff's comparison holds the form's check)."""
    engine, words = table

    def outer(column: sa.ColumnElement[Any], low: sa.ColumnElement[Any]) -> Any:
        inner = column_fragment(_between, column, "sqlite", "a", "c")
        return sa.or_(inner, sa.type_coerce(column, sa.String()) >= low)

    reused = column_fragment(outer, words.c.first, "sqlite", "d")
    built = sa.or_(_between(words.c.first, sa.literal("a"), sa.literal("c")), words.c.first >= "d")
    assert _ids(engine, words, reused) == _ids(engine, words, built) == [1, 2, 7]


def test_a_condition_stays_a_condition(table: tuple[sa.Engine, sa.Table]):
    """Negated and tested as a condition (``NOT (...)``, ``WHEN (...)``), never as a
    value compared with 0 or 1, which SQLite computes in full, without short-circuiting
    (that made the report 2.5 times slower)."""
    _, words = table
    where = column_fragment(_between, words.c.first, "sqlite", "a", "b")
    negated = str(sa.not_(where).compile(dialect=sqlite.dialect()))
    tested = str(sa.case((where, 1), else_=0).compile(dialect=sqlite.dialect()))
    assert negated.startswith("NOT (")
    assert "= 0" not in negated
    assert tested.startswith("CASE WHEN (")
    assert "= 1" not in tested


def test_its_table_is_the_statements_from(table: tuple[sa.Engine, sa.Table]):
    """A statement that names its table only through a fragment still reads from it."""
    engine, words = table
    query = sa.select(sa.func.count()).where(
        column_fragment(_between, words.c.first, "sqlite", "a", "c")
    )
    assert "FROM words" in str(query.compile(dialect=sqlite.dialect()))
    with engine.connect() as conn:
        assert conn.execute(query).scalar() == 2
