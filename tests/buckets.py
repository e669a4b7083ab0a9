"""The law every source obeys, and tables that hold what real databases hold.

:func:`assert_every_record_in_one_bucket`: the database's bucket counts add up to its row
count; each bucket's predicate selects exactly the records the engine puts in that
bucket (evaluating each record as the source reads it back); no record is in two.

:func:`raw_rows` generates rows as applications store them: dates as text in every form
of the grammar (``T`` or a space, seconds or not, fractions, ``Z`` or offsets), texts
that are not dates, empty strings, JSON texts, booleans as 0/1 integers and other
integers or strings where a boolean is needed, PostgreSQL's ``infinity``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st

from keepfor.abc import RecordSource
from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping
from keepfor.engine import Instant, RuleSet, evaluate
from keepfor.engine.cutoffs import All
from keepfor.engine.evaluate import Evaluator
from keepfor.report.counts import bucket_predicates, count_source
from keepfor.report.model import Report
from tests.differential import LOCAL_ZONE, records

RAW_TABLE = "kf_diff_raw"
OFFSETS = (0, 330, -180, 840, -720, 60)
"""Minutes east of UTC that instants are written with."""


def assert_every_record_in_one_bucket(
    source: RecordSource, rules: RuleSet, at: Instant, rows: int, held: Collection[str] = ()
) -> dict[str, str]:
    """Check the law on ``source`` (holding ``rows`` records, those whose key's text is
    in ``held`` covered by an active hold); the bucket of each key."""
    source.check(rules)
    predicates = bucket_predicates(rules, at)
    counts = source.count({"total": All(()), **predicates})
    assert counts["total"] == rows
    assert sum(counts[name] for name in predicates) == rows, counts
    seen: dict[str, str] = {}
    for name, predicate in predicates.items():
        selected = list(source.select(predicate, rules.fields()))
        assert len(selected) == counts[name], name
        for found, record in selected:
            key = source.key.text(found)
            assert key not in seen, (key, seen.get(key), name)
            seen[key] = name
            status = evaluate(rules, record, at).status.value
            if key in held and status != "unreadable":
                status = "held"  # a hold beats every rule; an unreadable value stays so
            assert status == name, (key, record)
    assert len(seen) == rows
    # the report counts from groups the database makes of every record: the same buckets
    report = Report(at=at, rules=rules, sources=[source.name])
    count_source(report, rules, source, at, Evaluator(rules))
    counted = report.counts[source.name]
    assert counted.total == rows
    for name in predicates:
        assert getattr(counted, name) == list(seen.values()).count(name), name
    return seen


class Typeless(sa.types.UserDefinedType[Any]):
    """A SQLite column declared with no type: it keeps whatever it is given."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return ""


def raw_table(meta: sa.MetaData, dialect: str) -> sa.Table:
    """Dates as text (typed ``DATE`` for ``d1`` on the servers), a flag as an integer
    (typeless on SQLite)."""
    text = sa.Text if dialect == "postgresql" else sa.String(64)
    return sa.Table(
        RAW_TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(16), nullable=False, unique=True),
        sa.Column("category", text),
        sa.Column("flag", Typeless() if dialect == "sqlite" else sa.Integer),
        sa.Column("d1", sa.Date),
        sa.Column("d2", text),
        sa.Column("t1", text),
        sa.Column("l1", sa.DateTime if dialect == "sqlite" else text),
    )


@contextmanager
def raw_source(db_url: str) -> Iterator[SqlTableSource]:
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    raw_table(meta, engine.dialect.name)
    meta.drop_all(engine)
    meta.create_all(engine)
    engine.dispose()
    kinds = {"d2": ColumnKind.DATE, "t1": ColumnKind.INSTANT, "l1": ColumnKind.LOCAL}
    mapping = TableMapping(
        table=RAW_TABLE, key="key", zones={"l1": LOCAL_ZONE.key}, kinds=kinds, source="raw"
    )
    source = SqlTableSource(db_url, mapping)
    try:
        yield source
    finally:
        source.close()


def load_raw(source: SqlTableSource, rows: list[dict[str, Any]]) -> None:
    """Replace the rows, values written as they are (no type converts them on the way)."""
    untyped = sa.table(RAW_TABLE, *(sa.column(c.name) for c in source.table.columns))
    with source.engine.begin() as conn:
        conn.execute(untyped.delete())
        if rows:
            conn.execute(untyped.insert(), rows)


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@st.composite
def _moment_text(draw: st.DrawFn, value: datetime, naive: bool) -> str:
    """A datetime in one of the grammar's forms: with an offset, or (``naive``) as the
    wall-clock time it already holds."""
    if not naive:
        offset = timezone(timedelta(minutes=draw(st.sampled_from(OFFSETS))))
        value = value.astimezone(offset)
    if value.second == 0 and draw(st.booleans()):
        body = value.strftime("%Y-%m-%d" + draw(st.sampled_from("T ")) + "%H:%M")
    else:
        body = value.replace(tzinfo=None).isoformat(sep=draw(st.sampled_from("T ")))
        if draw(st.booleans()):
            body += "." + "0" * draw(st.integers(1, 6))
    if len(body) > 13 and draw(st.integers(0, 7)) == 0:
        # a text of the same hour, length and offset that may be no date ('10:3a'): it
        # can sort between two dates of its group, and must still be unreadable
        spot = draw(st.integers(13, len(body) - 1))
        body = body[:spot] + draw(st.sampled_from("a x/:9")) + body[spot + 1 :]
    if naive:
        return body
    if value.utcoffset() == timedelta(0) and draw(st.booleans()):
        return body + "Z"
    return body + value.isoformat()[-6:]


@st.composite
def _cell(draw: st.DrawFn, value: Any, naive: bool = False) -> Any:
    if isinstance(value, datetime):
        return draw(_moment_text(value, naive))
    if isinstance(value, date):
        return value.isoformat()
    return _as_text(value)


@st.composite
def _collated(draw: st.DrawFn, text: Any) -> Any:
    """A text, sometimes as a collation that ignores case or trailing spaces would take
    it for the same (``'ORDER'``, ``'order '``): never the rules' ``order``. A twin row
    holding it puts the two in one group where a collation would merge them."""
    if not isinstance(text, str) or draw(st.integers(0, 5)):
        return text
    return draw(st.sampled_from([text.upper(), text.title(), text + " ", text + "  "]))


@st.composite
def raw_rows(draw: st.DrawFn, dialect: str, max_size: int = 25) -> list[dict[str, Any]]:
    """Rows of :func:`raw_table` as ``dialect`` can hold them."""
    rows = []
    for i in range(draw(st.integers(0, max_size))):
        record = draw(records(i, bad=True))
        flag = record["flag"]
        if isinstance(flag, bool):
            flag = int(flag)
        elif dialect != "sqlite" and not isinstance(flag, int | None):
            flag = 2  # an integer column holds no text
        elif isinstance(flag, (list, dict)):
            flag = json.dumps(flag)
        d1 = record["d1"]
        if dialect == "sqlite":
            d1 = draw(_cell(d1))
        elif not isinstance(d1, date | None):  # a typed DATE: only PostgreSQL has bad ones
            infinite = st.sampled_from(["infinity", "-infinity"])
            d1 = draw(infinite) if dialect == "postgresql" else None
        rows.append(
            {
                "id": i + 1,
                "key": record["key"],
                "category": _as_text(record["category"]),
                "flag": flag,
                "d1": d1,
                "d2": draw(_cell(record["d2"])),
                "t1": draw(_cell(record["t1"])),
                "l1": draw(_cell(record["l1"], naive=True)),
            }
        )
        twin = draw(_collated(rows[-1]["category"]))
        if twin != rows[-1]["category"]:  # the same values but the category's case or spaces
            rows.append({**rows[-1], "id": 1000 + i, "key": f"t{i}", "category": twin})
    return rows
