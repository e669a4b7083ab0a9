"""Many categories, few of them in the table: a switch whose cases of one part share one
test (:mod:`keepfor.connectors.guarded`) selects what the evaluator says, on every
backend, for records of the rules' categories, of other categories, and of none."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.guarded import any_equal, by_part
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import RuleSet, Status, evaluate, parse_pack
from keepfor.engine.cutoffs import All, Never, Not, due_predicate, holds, unreadable_predicate
from tests.differential import instants, load_records, record_lists, table_source

MANY = ("Ā", "āb", "Ωx", "ω", "é", "ÿ", *(f"c{k:02d}" for k in range(20)))
"""The rules' categories; the records hold a few of them. ``é`` and ``ÿ`` are searched
(code points under 256), the others are not: a UTF-16le database orders them otherwise
than Python (``Ā`` before ``1``)."""
TERMS = ({"from": "d1", "for": "P1Y"}, {"from": "d2", "for": "P3M"}, {"from": "t1", "for": "P10D"})


@st.composite
def many_rules(draw: st.DrawFn) -> RuleSet:
    """A rule per category, all alike but for a few terms (one test per part) or all
    different (a search), some with a condition on ``flag``, and maybe a rule of no
    category (so the switch's ``otherwise`` counts)."""
    rules: list[dict[str, Any]] = []
    alike = draw(st.booleans())
    categories = draw(st.lists(st.sampled_from(MANY), min_size=8, max_size=24, unique=True))
    for k, category in enumerate(categories):
        rule: dict[str, Any] = {"id": f"r{k}", "applies_to": {"category": category}}
        term = draw(st.sampled_from(TERMS))
        rule["retain"] = term if alike else {**term, "for": f"P{k + 1}D"}
        if draw(st.integers(0, 5)) == 0:
            rule["where"] = {"flag": draw(st.booleans())}
        rules.append(rule)
    if draw(st.booleans()):
        rules.append({"id": "flagged", "applies_to": {"flag": True}, "retain": TERMS[0]})
    for rule in rules:
        rule["then"] = "purge"
    pack = {"pack": "m", "version": "1", "timezone": "Europe/London", "rules": rules}
    return RuleSet((parse_pack(pack),))


_categories = st.none() | st.sampled_from((*MANY[2:8], MANY[-1], "zz", "C01", "c0", "", "Ω"))


@st.composite
def held_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records of a few of the categories, of others, of none."""
    records = draw(record_lists())
    for record in records:
        if isinstance(record["category"], str | None):
            record["category"] = draw(_categories)
    return records


@pytest.fixture
def source(db_url: str) -> Iterator[SqlTableSource]:
    with table_source(db_url) as src:
        yield src


def _selected(source: SqlTableSource, predicate: Any, rules: RuleSet) -> set[str]:
    return {key for key, _ in source.select(predicate, rules.fields())}


@given(rules=many_rules(), records=held_records(), at=instants)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_many_categories_select_what_the_evaluator_says(
    source: SqlTableSource, rules: RuleSet, records: list[dict[str, Any]], at: datetime
) -> None:
    load_records(source, records)
    source.check(rules)
    due, unreadable = due_predicate(rules, at), unreadable_predicate(rules)
    statuses = {r["key"]: evaluate(rules, r, at).status for r in records}
    assert _selected(source, due, rules) == {k for k, s in statuses.items() if s is Status.DUE}
    bad = {k for k, s in statuses.items() if s is Status.UNREADABLE}
    assert _selected(source, unreadable, rules) == bad
    # under a NOT, a NULL test must not drop a record
    not_due = {r["key"] for r in records if not holds(due, r)}
    assert _selected(source, Not(due), rules) == not_due


def _rules(count: int) -> RuleSet:
    rules = [
        {"id": f"r{k}", "applies_to": {"category": f"cat-{k}"}, "retain": TERMS[k % 3]}
        for k in range(count)
    ]
    for rule in rules:
        rule["then"] = "purge"
    return RuleSet((parse_pack({"pack": "m", "version": "1", "timezone": "UTC", "rules": rules}),))


def test_alike_cases_compile_to_one_in_test_each(source: SqlTableSource) -> None:
    """200 categories of three terms: three tests per switch, not 200, and the SQL grows
    by the texts only (each date check is written once per term, not per category)."""
    if source.dialect != "sqlite":
        pytest.skip("a CASE on PostgreSQL and MariaDB")
    at = datetime(2026, 11, 22, tzinfo=UTC)
    sizes = {}
    for count in (20, 200):
        rules = _rules(count)
        source.check(rules)
        sql = source.dry_run_query(unreadable_predicate(rules)) + source.dry_run_query(
            due_predicate(rules, at)
        )
        assert sql.count(" IN (") >= 3
        sizes[count] = len(sql)
    assert sizes[200] < sizes[20] + 180 * 40


def test_cases_are_grouped_by_part_in_order() -> None:
    a, b = Never(), Not(Never())
    assert by_part([("x", a), ("y", b), ("z", a)]) == [(["x", "z"], a), (["y"], b)]


def test_any_equal_is_one_in_only_for_one_expression_and_constants() -> None:
    t = sa.table("t", sa.column("c"), sa.column("d"))
    folded = any_equal([t.c.c == "a", t.c.c == "b"])
    assert str(folded.compile(compile_kwargs={"literal_binds": True})) == "t.c IN ('a', 'b')"
    assert " OR " in str(any_equal([t.c.c == "a", t.c.d == "b"]))
    assert " OR " in str(any_equal([t.c.c == "a", t.c.c != "b"]))
    assert any_equal([t.c.c == "a"]).compare(t.c.c == "a")


@pytest.mark.parametrize("declared", ["TEXT COLLATE NOCASE", "TEXT COLLATE RTRIM", "INTEGER", ""])
def test_sqlite_in_means_what_the_equalities_mean(declared: str) -> None:
    """SQLite gives an ``IN`` list the left side's affinity and collation, as it gives
    ``=`` with a constant: the one test holds for exactly the rows the equalities do,
    whatever the column's declared type and collation (NULL for NULL)."""
    engine = sa.create_engine("sqlite://")
    values = ["order", "ORDER", "order ", "5", 5, 5.0, b"order", None, "", "Quote"]
    texts = [["order", "quote"], ["5", "x", "ORDER"], ["", "order "], ["Order", "5.0"]]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE t (k INTEGER PRIMARY KEY, c {declared})")
        conn.execute(
            sa.text("INSERT INTO t (k, c) VALUES (:k, :c)"),
            [{"k": k, "c": v} for k, v in enumerate(values)],
        )
        t = sa.table("t", sa.column("k"), sa.column("c"))
        for group in texts:
            tests = [t.c.c == text for text in group]
            one = conn.execute(sa.select(t.c.k, any_equal(tests)).order_by(t.c.k)).all()
            each = conn.execute(sa.select(t.c.k, sa.or_(*tests)).order_by(t.c.k)).all()
            assert one == each, (declared, group)


def _sqlite_source(tmp_path: Any, declared: str, encoding: str) -> SqlTableSource:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA encoding = '{encoding}'")
        db.execute(f"CREATE TABLE t (key TEXT PRIMARY KEY, category {declared}, kind, d1 DATE)")
        rows = [(f"k{k}", value, "x" if k % 2 else None) for k, value in enumerate(_ODD)]
        db.executemany("INSERT INTO t VALUES (?, ?, ?, '2020-01-01')", rows)
    return SqlTableSource(f"sqlite:///{path}", TableMapping(table="t", key="key"))


_ODD = [*MANY, "C01", "c01 ", "é ", "É", "ā", "ωx", 1, "1", 1.0, b"c01", None, "", "zz"]
"""Values a column may hold: each text, and near misses by case, by trailing space, by
type (a number where ``c01``... is a text), by encoding (a blob of the same bytes)."""


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16le", "UTF-16be"])
@pytest.mark.parametrize("declared", ["TEXT", "TEXT COLLATE NOCASE", "INTEGER", ""])
def test_a_search_is_the_evaluators_switch(tmp_path: Any, declared: str, encoding: str) -> None:
    """Where the texts are searched, a record meets the part of the text its value is,
    byte for byte, as in Python: in every encoding, whatever the column's collation and
    affinity (a NOCASE column's ``C01`` is no ``c01`` to a rule), NULL and blobs too."""
    rules = [
        {"id": f"r{k}", "applies_to": {"category": c}, "retain": {"from": "d1", "for": f"P{k}D"}}
        for k, c in enumerate([*MANY, "1"])
    ]
    # a rule of no category: what a record of no case's text meets
    rules.append({"id": "all", "applies_to": {"kind": "x"}, "retain": {"from": "d1", "for": "P5D"}})
    for rule in rules:
        rule["then"] = "purge"
    pack = parse_pack({"pack": "m", "version": "1", "timezone": "UTC", "rules": rules})
    ruleset = RuleSet((pack,))
    source = _sqlite_source(tmp_path, declared, encoding)
    at = datetime(2020, 1, 20, tzinfo=UTC)
    try:
        source.open()
        source.check(ruleset)
        due = due_predicate(ruleset, at)
        assert "COLLATE binary) IN (" in source.dry_run_query(due)
        records = list(source.select(All(()), ["category", "kind", "d1"]))
        assert len(records) == len(_ODD)
        statuses = {key: evaluate(ruleset, record, at).status for key, record in records}
        expected = {key for key, status in statuses.items() if status is Status.DUE}
        assert _selected(source, due, ruleset) == expected
        assert _selected(source, Not(due), ruleset) == {k for k, _ in records} - expected
    finally:
        source.close()
