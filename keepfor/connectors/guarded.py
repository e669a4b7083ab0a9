"""A :class:`Switch` as SQLite runs it fast: an OR of guarded cases, where the cases that
need the same thing share one guard.

SQLite computes a ``CASE`` branch as a value, without short-circuiting its ANDs, so there
a switch is an OR of ``test AND part``, and every record pays one test per case. A pack
of many record types, most of which a table does not hold, has many cases and few
distinct parts (the same date checks, the same cutoffs): the cases of one part become
one ``IN`` test, which SQLite looks up in a b-tree once per record instead of comparing
each text. ``x IN (a, b)`` means ``x = a OR x = b`` there: the list takes the left
side's affinity and collation, as ``=`` with a constant does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from keepfor.engine.predicates import Any_, Never, Predicate

__all__ = ["any_equal", "by_part", "guarded_switch"]

Compile = Callable[[Predicate], sa.ColumnElement[bool]]
"""Compiles a part (in the switch's own negation)."""


def by_part(cases: Sequence[tuple[str, Predicate]]) -> list[tuple[list[str], Predicate]]:
    """The cases' texts grouped by the part they choose, in the order first seen."""
    groups: dict[Predicate, list[str]] = {}
    for text, part in cases:
        groups.setdefault(part, []).append(text)
    return [(texts, part) for part, texts in groups.items()]


def any_equal(tests: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    """Some test holds: one ``IN`` where every test compares one expression with a
    constant (the same truth, NULL included), else their OR."""
    if len(tests) == 1:
        return tests[0]
    left = _compared(tests[0])
    if left is None or any(_compared(test) is not left for test in tests[1:]):
        return sa.or_(*tests)
    values = [test.right.value for test in tests if isinstance(test, BinaryExpression)]
    found: sa.ColumnElement[bool] = left.in_(values)
    return found


def _compared(test: sa.ColumnElement[bool]) -> sa.ColumnElement[object] | None:
    """The left side of ``left = constant``, else None."""
    if (
        isinstance(test, BinaryExpression)
        and test.operator is operators.eq
        and isinstance(test.right, BindParameter)
        and isinstance(test.right.value, str)
    ):
        left: sa.ColumnElement[object] = test.left
        return left
    return None


def guarded_switch(
    equals: Callable[[str], sa.ColumnElement[bool]],
    cases: Sequence[tuple[str, Predicate]],
    otherwise: Predicate,
    compile_part: Compile,
    two_valued: Callable[[sa.ColumnElement[bool]], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """``OR(test AND part)`` over the parts, each test true where the field equals one of
    the part's texts; a record that equals no text (or is NULL) meets ``otherwise``.
    ``equals``: the field equals a text; ``two_valued``: a test as the switch's negation
    needs it (NULL as false under a NOT)."""
    tests = {text: equals(text) for text, _ in cases}
    guarded = [
        sa.and_(two_valued(any_equal([tests[t] for t in texts])), compile_part(part))
        for texts, part in by_part(cases)
    ]
    if otherwise in (Never(), Any_(())):
        return sa.or_(*guarded)
    some = sa.func.coalesce(any_equal(list(tests.values())), sa.false())
    return sa.or_(*guarded, sa.and_(sa.not_(some), compile_part(otherwise)))
