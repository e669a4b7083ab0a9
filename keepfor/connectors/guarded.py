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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, UnaryExpression

from keepfor.engine.predicates import Any_, Never, Predicate

__all__ = ["LEAF", "SEARCH", "any_equal", "by_part", "guarded_switch"]

SEARCH = 8
"""Parts from which a switch looks its texts up instead of testing them in turn."""
LEAF = 3
"""Texts a search tests in turn."""

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
    left = _common_left(tests)
    if left is None:
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
    Where many parts differ, the texts are searched instead (:func:`_searched`).
    ``equals``: the field equals a text; ``two_valued``: a test as the switch's negation
    needs it (NULL as false under a NOT)."""
    compile_part = _once(compile_part)
    tests = {text: equals(text) for text, _ in cases}
    groups = by_part(cases)
    left = _common_left(list(tests.values()))
    searchable = sum(_searchable(text) for text in tests)
    if left is not None and len(groups) >= SEARCH and searchable >= SEARCH:
        return _searched(left, cases, otherwise, compile_part, two_valued)
    guarded = [
        sa.and_(two_valued(any_equal([tests[t] for t in texts])), compile_part(part))
        for texts, part in groups
    ]
    if otherwise in (Never(), Any_(())):
        return sa.or_(*guarded)
    some = sa.func.coalesce(any_equal(list(tests.values())), sa.false())
    return sa.or_(*guarded, sa.and_(sa.not_(some), compile_part(otherwise)))


def _once(compile_part: Compile) -> Compile:
    """``compile_part``, each part compiled once (the search and the cases share it)."""
    done: dict[Predicate, sa.ColumnElement[bool]] = {}

    def compiled(part: Predicate) -> sa.ColumnElement[bool]:
        if part not in done:
            done[part] = compile_part(part)
        return done[part]

    return compiled


def _common_left(tests: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[object] | None:
    """The one expression every test compares with a constant, else None (the same
    expression, not only the same object: a column compared byte for byte is wrapped
    anew by each test)."""
    left = _compared(tests[0])
    if left is None:
        return None
    for test in tests[1:]:
        other = _compared(test)
        if other is None or (other is not left and not other.compare(left)):
            return None
    return left


def _searched(
    left: sa.ColumnElement[object],
    cases: Sequence[tuple[str, Predicate]],
    otherwise: Predicate,
    compile_part: Compile,
    two_valued: Callable[[sa.ColumnElement[bool]], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """The switch as the evaluator runs it: a record whose value is a text, byte for byte,
    meets that text's part, any other record ``otherwise``. A binary search finds the
    text (log2(n) comparisons, short-circuited; a value that is no text fails the last
    one), so a record no longer pays a test per case; ``otherwise``, where there is one,
    takes one ``IN`` lookup.

    The search compares the value without the column's affinity and collation (under a
    ``NOCASE`` collation ``'Order' = 'order'``, which no rule means), and only among
    texts of code points 1 to 255, which every encoding of a SQLite database (UTF-8,
    UTF-16le, UTF-16be) orders as Python does; other texts are tested in turn."""
    plain: UnaryExpression[object] = UnaryExpression(left, operator=operators.custom_op("+"))
    value: sa.ColumnElement[Any] = sa.collate(plain, "binary")
    texts = sorted(((t, p) for t, p in cases if _searchable(t)), key=_text)
    # not NULL: every comparison below is true or false, as a NOT needs
    arms = [sa.and_(value.is_not(None), _search(value, texts, compile_part))]
    rest = [(t, p) for t, p in cases if not _searchable(t)]
    arms += [sa.and_(two_valued(value == t), compile_part(p)) for t, p in rest]
    if otherwise not in (Never(), Any_(())):
        known = sa.func.coalesce(value.in_([t for t, _ in cases]), sa.false())
        arms.append(sa.and_(sa.not_(known), compile_part(otherwise)))
    return sa.or_(*arms)


def _searchable(text: str) -> bool:
    """Code points 1 to 255 only: ordered alike in Python and every SQLite encoding."""
    return all(0 < ord(c) < 256 for c in text)


def _text(case: tuple[str, Predicate]) -> str:
    return case[0]


def _search(
    value: sa.ColumnElement[Any],
    texts: Sequence[tuple[str, Predicate]],
    compile_part: Compile,
) -> sa.ColumnElement[bool]:
    """The part of the text ``value`` is, for a value that is one of ``texts`` (sorted)."""
    if len(texts) <= LEAF:
        return sa.or_(*(sa.and_(value == t, compile_part(p)) for t, p in texts))
    middle = len(texts) // 2
    below = value < texts[middle][0]
    return sa.or_(
        sa.and_(below, _search(value, texts[:middle], compile_part)),
        sa.and_(sa.not_(below), _search(value, texts[middle:], compile_part)),
    )
