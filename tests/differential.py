"""Hypothesis strategies for differential tests: rule sets and records over one fixed
set of fields, so that the same cases run through the Python evaluator, the cutoff
predicate and every database.

Fields:
  ``category`` text, ``flag`` boolean (either may be null: SQL's three-valued logic),
  ``d1``, ``d2`` dates, ``t1`` an instant (aware datetime),
  ``l1`` a naive local time in Europe/Paris (as a database DATETIME column holds it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import strategies as st

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack

CATEGORIES = ("a", "b", "c", "d")
"""Rules test the first three (three or more texts of one field make a Switch), or no
category at all; records have any of the four, or none."""
DATE_FIELDS = ("d1", "d2")
INSTANT_FIELDS = ("t1",)
LOCAL_FIELDS = ("l1",)
LOCAL_ZONE = ZoneInfo("Europe/Paris")
ANCHOR_FIELDS = DATE_FIELDS + INSTANT_FIELDS + LOCAL_FIELDS
PACK_ZONES = ("Europe/London", "UTC", "America/New_York", "Asia/Kolkata")

_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
# whole seconds: every database keeps them exactly
_instants = _instants.map(lambda t: t.replace(microsecond=0))
_locals = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda t: t.replace(microsecond=0)
)


@st.composite
def periods(draw: st.DrawFn) -> str:
    years = draw(st.integers(0, 7))
    months = draw(st.integers(0, 18))
    days = draw(st.sampled_from([0, 0, 1, 30, 45]))
    if not (years or months or days):
        return "P0D"
    return "P" + "".join(f"{n}{u}" for n, u in ((years, "Y"), (months, "M"), (days, "D")) if n)


@st.composite
def anchors(draw: st.DrawFn) -> Any:
    field = draw(st.sampled_from(ANCHOR_FIELDS))
    kind = draw(st.sampled_from([None, None, "financial_year", "calendar_year", "month"]))
    return field if kind is None else {"end_of": kind, "of": field}


def terms(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.builds(lambda a, p: {"from": a, "for": p}, anchors(), periods())
    if depth == 0:
        return _maybe_optional(leaf)
    composite = st.builds(
        lambda kind, parts: {kind: parts},
        st.sampled_from(["latest_of", "earliest_of"]),
        st.lists(terms(depth - 1), min_size=1, max_size=3),
    )
    return _maybe_optional(st.one_of(leaf, leaf, composite))


def _maybe_optional(
    strategy: st.SearchStrategy[dict[str, Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda term, optional: {**term, "optional": True} if optional else term,
        strategy,
        st.booleans(),
    )


@st.composite
def rule_dicts(draw: st.DrawFn, index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f"r{index}",
        "applies_to": draw(
            st.sampled_from(CATEGORIES[:3]).map(lambda c: {"category": c})
            | st.booleans().map(lambda b: {"flag": b})
        ),
        "retain": draw(terms()),
        "boundary": draw(st.sampled_from(["after", "on"])),
        "then": draw(st.sampled_from(["flag", "anonymise", "purge", "review"])),
    }
    if "flag" not in rule["applies_to"] and draw(st.booleans()):
        rule["where"] = {"flag": draw(st.booleans())}
    if draw(st.booleans()):
        rule["financial_year_end"] = draw(st.sampled_from(["03-31", "04-05", "12-31", "06-30"]))
    return rule


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    packs = []
    count = 0
    for p in range(draw(st.integers(1, 2))):
        rules = []
        for _ in range(draw(st.integers(1, 4))):
            rules.append(draw(rule_dicts(count)))
            count += 1
        for rule in rules:
            if "financial_year_end" in rule and "financial_year" not in repr(rule["retain"]):
                del rule["financial_year_end"]
        packs.append(
            parse_pack(
                {
                    "pack": f"p{p}",
                    "version": "1",
                    "timezone": draw(st.sampled_from(PACK_ZONES)),
                    "financial_year_end": draw(st.sampled_from(["03-31", "04-05"])),
                    "rules": rules,
                }
            )
        )
    return RuleSet(tuple(packs))


def category_rules() -> RuleSet:
    """Three categories, one of them twice, and a rule on another field that applies to
    every category (so every case of the Switch holds it too)."""
    rules: list[dict[str, Any]] = [
        {"id": f"r{k}", "applies_to": {"category": c}, "retain": {"from": "d1", "for": p}}
        for k, (c, p) in enumerate([("a", "P1Y"), ("b", "P2M"), ("c", "P10D"), ("a", "P3M")])
    ]
    retain = {"from": "t1", "for": "P1M"}
    rules.append({"id": "flagged", "applies_to": {"flag": True}, "retain": retain})
    for rule in rules:
        rule["then"] = "purge"
    return RuleSet((parse_pack({"pack": "s", "version": "1", "timezone": "UTC", "rules": rules}),))


BAD_DATE_TEXTS = (
    "31/12/2015",
    "05/01/2015",
    "2019-5-1",
    "20150105",
    "2019-02-30",
    "n/a",
    " 2019-05-01",
    "2019-05-01T24:00",
    "2019-05-01T10:00+15:00",
    "0000-01-01",
)
"""Texts that are not dates: day-first, unpadded, compact, impossible, padded, words."""

BAD_BOOLEANS = (0, 1, 2, -1, "yes", "true", "", 1.0)
"""Values where a condition needs true or false (0 and 1 too: a rule's true is no 1)."""

_UNHASHABLE = st.sampled_from(([1], {"a": 1}, []))


@st.composite
def records(draw: st.DrawFn, key: int, bad: bool = False) -> dict[str, Any]:
    """A generated record; with ``bad``, some values are of the wrong kind for the rules
    (texts that are not dates, non-booleans where a condition needs one, lists)."""
    wrong = st.integers(0, 5).map(lambda n: n == 0) if bad else st.just(False)
    record: dict[str, Any] = {
        "key": f"k{key:04d}",
        "category": draw(st.none() | st.sampled_from(CATEGORIES)),
        "flag": draw(st.none() | st.booleans()),
    }
    if draw(wrong):
        record["flag"] = draw(st.sampled_from(BAD_BOOLEANS) | _UNHASHABLE)
    if draw(wrong):
        record["category"] = draw(_UNHASHABLE | st.just(1))
    for name in DATE_FIELDS:
        record[name] = draw(st.none() | _days)
    for name in INSTANT_FIELDS:
        record[name] = draw(st.none() | _instants)
    for name in LOCAL_FIELDS:
        local = draw(st.none() | _locals)
        record[name] = None if local is None else local.replace(tzinfo=LOCAL_ZONE)
    for name in ANCHOR_FIELDS:
        if draw(wrong):
            record[name] = draw(st.sampled_from(BAD_DATE_TEXTS) | st.just("") | _UNHASHABLE)
    return record


@st.composite
def record_lists(draw: st.DrawFn, max_size: int = 25, bad: bool = False) -> list[dict[str, Any]]:
    size = draw(st.integers(0, max_size))
    return [draw(records(i, bad)) for i in range(size)]


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def near(day: date) -> st.SearchStrategy[datetime]:
    """Instants within a day or two of midnight of ``day``, where off-by-one errors live."""
    return st.integers(-48 * 60, 48 * 60).map(
        lambda minutes: (
            datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=minutes)
        )
    )


# -- the records in a database table ---------------------------------------------------

TABLE = "kf_diff_records"


def records_table(meta: sa.MetaData) -> sa.Table:
    """A table with a column per field of the generated records."""
    return sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(16), nullable=False, unique=True),
        sa.Column("category", sa.String(8)),
        sa.Column("flag", sa.Boolean),
        sa.Column("d1", sa.Date),
        sa.Column("d2", sa.Date),
        sa.Column("t1", sa.DateTime(timezone=True)),
        sa.Column("l1", sa.DateTime),
    )


@contextmanager
def table_source(db_url: str) -> Iterator[SqlTableSource]:
    """The generated records' table in the database at ``db_url``, as a source."""
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    records_table(meta)
    meta.create_all(engine)
    engine.dispose()
    mapping = TableMapping(
        table=TABLE, key="key", timezone="UTC", zones={"l1": LOCAL_ZONE.key}, source="diff"
    )
    source = SqlTableSource(db_url, mapping)
    try:
        yield source
    finally:
        source.close()


def _row(index: int, record: dict[str, Any], dialect: str) -> dict[str, Any]:
    row = dict(record, id=index)
    if row["t1"] is not None and dialect != "postgresql":
        row["t1"] = row["t1"].astimezone(UTC).replace(tzinfo=None)
    if row["l1"] is not None:
        row["l1"] = row["l1"].replace(tzinfo=None)
    return row


def load_records(src: SqlTableSource, records: list[dict[str, Any]]) -> None:
    """Replace the table's rows with these records."""
    table = src.table
    with src.engine.begin() as conn:
        conn.execute(table.delete())
        if records:
            dialect = src.engine.dialect.name
            conn.execute(table.insert(), [_row(i, r, dialect) for i, r in enumerate(records)])
