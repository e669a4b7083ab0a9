"""SQL built once and used for many columns and values.

A text date's checks are an expression of several hundred nodes over one column.
Building it with SQLAlchemy and compiling it again for every column of every statement
was most of a report's fixed cost on SQLite (57 of the 96 ms spent after the imports,
for a table with four date columns). :func:`column_fragment` builds the expression once
per dialect, over a stand-in column, compiles it once, and keeps the text in pieces: the
SQL around the column, the column's slots, and the constants as bound parameters (never
literals in the SQL). Each use renders its own column into the slots, in the statement's
own context (:class:`Fragment`), binds the same constants, and binds its own values where
the expression has placeholders for them (a cutoff's texts).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Fragment", "column_fragment"]

_SLOT = "kf_fragment_column"
_VALUE = "kf_fragment_value_"
_COLUMN = object()
"""A piece that stands for the column."""

Piece = str | sa.BindParameter[Any] | int | object
"""SQL text, a constant bound, the ``n``-th value, or the column."""
Build = Callable[..., sa.ColumnElement[Any]]


class Fragment(sa.ColumnElement[Any]):
    """A compiled expression of one column, rendered for ``column`` in its statement."""

    inherit_cache = False  # statements holding one are one-off (compiled_cache=None)

    def __init__(
        self,
        column: sa.ColumnElement[Any],
        pieces: Sequence[Piece],
        built: sa.ColumnElement[Any],
        values: Sequence[sa.BindParameter[Any]],
    ) -> None:
        self.column = column
        self.pieces = pieces
        self.type = built.type
        # a condition (AND, OR, a comparison) is negated and tested as one: NOT x, not
        # x = 0, which SQLite would compute as a value, without short-circuiting
        self._is_implicitly_boolean = built._is_implicitly_boolean
        self.values = values

    @property
    def _from_objects(self) -> list[Any]:
        """Its column's table: a statement finds its FROM, and correlates, as it would
        for the expression itself."""
        found: list[Any] = self.column._from_objects
        return found


@compiles(Fragment)
def _render(element: Fragment, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    parts = []
    for piece in element.pieces:
        if isinstance(piece, str):
            parts.append(piece)
        elif piece is _COLUMN:
            parts.append(column)
        elif isinstance(piece, int):
            parts.append(compiler.process(element.values[piece], **kw))
        elif isinstance(piece, sa.BindParameter):
            parts.append(compiler.process(piece, **kw))
    return "(" + "".join(parts) + ")"


def column_fragment(
    build: Build, column: sa.ColumnElement[Any], dialect: str, *values: Any
) -> Fragment:
    """``build(column, *placeholders)``, built and compiled once per ``build``, dialect
    and number of values, then bound to ``values``. ``build`` must depend on nothing but
    its arguments (its constants are the same at every call), be the same object, or an
    equal one (a bound class method), at every call, and use each placeholder where a
    value of its type goes (the placeholders' types are taken from where they are used)."""
    pieces, built, types = _pieces(build, dialect, len(values))
    bound = [
        # where the expression says no type, the value's own (as a literal would have)
        sa.bindparam(None, value, type_=None if kind._isnull else kind, unique=True)
        for value, kind in zip(values, types, strict=True)
    ]
    return Fragment(column, pieces, built, bound)


@functools.cache
def _pieces(
    build: Build, dialect: str, count: int
) -> tuple[tuple[Piece, ...], sa.ColumnElement[Any], list[Any]]:
    placeholders: list[sa.BindParameter[Any]] = [
        sa.bindparam(f"{_VALUE}{i}", None) for i in range(count)
    ]
    expression = build(sa.column(_SLOT), *placeholders)
    compiled = expression.compile(
        dialect=_named(dialect), compile_kwargs={"render_postcompile": True}
    )
    slots = {f"{_VALUE}{i}": i for i in range(count)}
    binds = {  # an expanded IN list's items are in params only, as name_1, name_2 ...
        name: sa.bindparam(None, value, type_=_type(compiled.binds.get(name)), unique=True)
        for name, value in compiled.params.items()
        if name not in slots
    }
    pieces: list[Piece] = []
    tokens = re.split(rf"((?<![:\w]):\w+|\b{_SLOT}\b)", compiled.string)
    for i, token in enumerate(tokens):
        if i % 2 == 0:  # SQL text between the column's slots and the parameters
            if token:
                pieces.append(token)
        elif token == _SLOT:
            pieces.append(_COLUMN)
        elif token[1:] in slots:
            pieces.append(slots[token[1:]])
        else:
            pieces.append(binds[token[1:]])  # a KeyError: a parameter this module missed
    types = [compiled.binds[f"{_VALUE}{i}"].type for i in range(count)]
    return tuple(pieces), expression, types


def _type(bind: sa.BindParameter[Any] | None) -> Any:
    return None if bind is None else bind.type


@functools.cache
def _named(dialect: str) -> sa.engine.Dialect:
    """The dialect, its parameters named (``:name``), so that they can be found."""
    kind = sa.dialects.registry.load(dialect)
    named: sa.engine.Dialect = kind(paramstyle="named")
    return named
