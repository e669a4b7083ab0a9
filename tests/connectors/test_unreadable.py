"""Values as applications store them, read the same by the database and the engine:
each case of the issue "every record accounted for", on every backend where it can be
stored. Nothing drops out: every record lands in its bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack
from keepfor.errors import SourceError
from keepfor.report import build_report
from tests.buckets import Typeless, assert_every_record_in_one_bucket
from tests.report import Collect

TABLE = "kf_unreadable"


def rules(retain: dict[str, Any], *, where: dict[str, Any] | None = None) -> RuleSet:
    rule: dict[str, Any] = {
        "id": "r",
        "applies_to": {"category": "order"},
        "retain": retain,
        "then": "purge",
    }
    if where:
        rule["where"] = where
    pack = {"pack": "p", "version": "1", "timezone": "Europe/London", "rules": [rule]}
    return RuleSet((parse_pack(pack),))


@pytest.fixture
def make(db_url: str) -> Iterator[Any]:
    """make(columns, rows, **mapping): a table of these columns and rows, as a source."""
    sources: list[SqlTableSource] = []
    engine = sa.create_engine(db_url)

    def made(columns: list[sa.Column[Any]], rows: list[dict[str, Any]], **mapping: Any) -> Any:
        meta = sa.MetaData()
        table = sa.Table(
            TABLE,
            meta,
            sa.Column("key", sa.String(16), primary_key=True),
            sa.Column("category", sa.String(16)),
            *columns,
        )
        meta.drop_all(engine)
        meta.create_all(engine)
        untyped = sa.table(TABLE, *(sa.column(c.name) for c in table.columns))
        if rows:
            with engine.begin() as conn:
                conn.execute(untyped.insert(), rows)
        source = SqlTableSource(db_url, TableMapping(table=TABLE, key="key", **mapping))
        sources.append(source)
        return source

    yield made
    for source in sources:
        source.close()
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


def text_column(dialect: str, name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Text if dialect == "postgresql" else sa.String(64))


DAY_FIRST = [
    "31/12/2015",
    "05/01/2015",
    "20150105",
    "2019-5-1",
    "n/a",
    "2019-02-30",
    " ",
    "0000-01-01",
    "0001",
]


@pytest.mark.parametrize("declared", ["text", "date"])
@pytest.mark.parametrize("value", DAY_FIRST)
def test_text_that_is_no_date_is_unreadable_not_lost(
    make: Any, db_url: str, value: str, declared: str
) -> None:
    """In a text column, and (SQLite) in a DATE column, whose numeric affinity turns
    '20150105' into a number and would compare '0001' as 1."""
    dialect = sa.make_url(db_url).get_backend_name()
    if declared == "date" and dialect != "sqlite":
        pytest.skip("only SQLite keeps text in a DATE column")
    column = (
        sa.Column("placed_at", sa.Date) if declared == "date" else text_column(dialect, "placed_at")
    )
    rows = [
        {"key": "bad", "category": "order", "placed_at": value},
        {"key": "iso", "category": "order", "placed_at": "2015-12-31"},
        {"key": "new", "category": "order", "placed_at": "2026-01-01"},
        {"key": "none", "category": "order", "placed_at": ""},
    ]
    kinds = {"placed_at": ColumnKind.DATE}
    source = make([column], rows, kinds=kinds)
    ruleset = rules({"from": "placed_at", "for": "P6Y"})
    at = datetime(2026, 11, 22, tzinfo=UTC)
    assert assert_every_record_in_one_bucket(source, ruleset, at, 4) == {
        "bad": "unreadable",
        "iso": "due",
        "new": "retained",
        "none": "waiting",
    }


@pytest.mark.parametrize(
    "value",
    [
        "2023-03-31T00:00:00",
        "2023-03-31 00:00:00",
        "2023-03-31T00:00",
        "2023-03-31 00:00:00.000000",
        "2023-03-30T23:00:00Z",
        "2023-03-31T00:00:00+00:00",
        "2023-03-31T05:30:00+05:30",
        "2023-03-31",
    ],
)
def test_every_form_of_a_date_due_today_is_due(make: Any, db_url: str, value: str) -> None:
    """The forms applications write (``T`` sorts after a space: compared as text, the
    first was missed on SQLite); at 2023-03-31T23:30Z it is 1 April in London."""
    dialect = sa.make_url(db_url).get_backend_name()
    column = (
        sa.Column("placed_at", sa.DateTime)
        if dialect == "sqlite"
        else text_column(dialect, "placed_at")
    )
    kinds = {} if dialect == "sqlite" else {"placed_at": ColumnKind.LOCAL}
    rows = [{"key": "k", "category": "order", "placed_at": value}]
    source = make([column], rows, kinds=kinds)
    ruleset = rules({"from": "placed_at", "for": "P1D"})  # kept through 1 April: due 2 April
    before = datetime(2023, 4, 1, 22, 59, tzinfo=UTC)  # 23:59 on 1 April in London
    after = datetime(2023, 4, 1, 23, 0, tzinfo=UTC)  # midnight: 2 April in London
    assert assert_every_record_in_one_bucket(source, ruleset, before, 1) == {"k": "retained"}
    assert assert_every_record_in_one_bucket(source, ruleset, after, 1) == {"k": "due"}


def test_a_datetime_fraction_never_rounds_into_the_next_day(make: Any, db_url: str) -> None:
    """SQLite's date functions round to the millisecond; keepfor drops the fraction."""
    dialect = sa.make_url(db_url).get_backend_name()
    rows = [{"key": "k", "category": "order", "placed_at": "2023-03-31T22:59:59.9999+00:00"}]
    source = make([text_column(dialect, "placed_at")], rows, kinds={"placed_at": "instant"})
    ruleset = rules({"from": "placed_at", "for": "P0D"}, where=None)
    # 23:59:59.9999 on 31 March in London (BST): due on 31 March, boundary after: 1 April
    at = datetime(2023, 3, 31, 23, 0, tzinfo=UTC)  # 1 April 00:00 in London
    assert assert_every_record_in_one_bucket(source, ruleset, at, 1) == {"k": "due"}
    at = datetime(2023, 3, 31, 22, 59, tzinfo=UTC)
    assert assert_every_record_in_one_bucket(source, ruleset, at, 1) == {"k": "retained"}


def test_booleans_kept_as_integers_are_booleans(make: Any, db_url: str) -> None:
    dialect = sa.make_url(db_url).get_backend_name()
    vip = sa.Column("vip", Typeless() if dialect == "sqlite" else sa.Integer)
    rows = [
        {"key": "one", "category": "order", "vip": 1, "placed_at": date(2015, 1, 1)},
        {"key": "zero", "category": "order", "vip": 0, "placed_at": date(2015, 1, 1)},
        {"key": "two", "category": "order", "vip": 2, "placed_at": date(2015, 1, 1)},
        {"key": "null", "category": "order", "vip": None, "placed_at": date(2015, 1, 1)},
    ]
    if dialect == "sqlite":
        rows += [
            {"key": "text", "category": "order", "vip": "1", "placed_at": "2015-01-01"},
            {"key": "real", "category": "order", "vip": 1.0, "placed_at": "2015-01-01"},
        ]
        for row in rows:
            row["placed_at"] = str(row["placed_at"])
    source = make([vip, sa.Column("placed_at", sa.Date)], rows)
    ruleset = rules({"from": "placed_at", "for": "P1Y"}, where={"vip": True})
    buckets = assert_every_record_in_one_bucket(
        source, ruleset, datetime(2026, 1, 1, tzinfo=UTC), len(rows)
    )
    expected = {"one": "due", "zero": "unmatched", "two": "unreadable", "null": "unmatched"}
    if dialect == "sqlite":
        expected |= {"text": "unreadable", "real": "unreadable"}
    assert buckets == expected


def test_postgresql_infinity_is_unreadable(make: Any, db_url: str) -> None:
    if sa.make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("infinity is PostgreSQL's")
    rows = [
        {"key": "inf", "category": "order", "placed_at": "infinity"},
        {"key": "ninf", "category": "order", "placed_at": "-infinity"},
        {"key": "bc", "category": "order", "placed_at": "0044-03-15 BC"},
        {"key": "far", "category": "order", "placed_at": "10000-01-01"},
        {"key": "ok", "category": "order", "placed_at": "2015-01-01"},
    ]
    source = make([sa.Column("placed_at", sa.Date)], rows)
    ruleset = rules({"from": "placed_at", "for": "P1Y"})
    buckets = assert_every_record_in_one_bucket(source, ruleset, date(2026, 1, 1), 5)
    assert buckets == {
        "inf": "unreadable",
        "ninf": "unreadable",
        "bc": "unreadable",
        "far": "unreadable",
        "ok": "due",
    }


def test_mariadb_zero_dates_are_unreadable(make: Any, db_url: str) -> None:
    if sa.make_url(db_url).get_backend_name() not in ("mysql", "mariadb"):
        pytest.skip("zero dates are MariaDB's")
    source = make(
        [sa.Column("placed_at", sa.Date)],
        [{"key": "ok", "category": "order", "placed_at": "2015-01-01"}],
    )
    with source.engine.begin() as conn:
        conn.execute(sa.text("SET SESSION sql_mode = ''"))
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} VALUES ('zero', 'order', '0000-00-00'), "
                "('month', 'order', '2019-00-10')"
            )
        )
    ruleset = rules({"from": "placed_at", "for": "P1Y"})
    buckets = assert_every_record_in_one_bucket(source, ruleset, date(2026, 1, 1), 3)
    assert buckets == {"ok": "due", "zero": "unreadable", "month": "unreadable"}


def test_epoch_numbers_where_the_config_says_so(make: Any, db_url: str) -> None:
    dialect = sa.make_url(db_url).get_backend_name()
    column = sa.Column("stamp", Typeless() if dialect == "sqlite" else sa.BigInteger)
    # 1680303600 is 2023-03-31T23:00:00Z: 1 April in London
    rows = [
        {"key": "a", "category": "order", "stamp": 1680303599},
        {"key": "b", "category": "order", "stamp": 1680303600},
        {"key": "far", "category": "order", "stamp": 10**12},
    ]
    if dialect == "sqlite":
        rows.append({"key": "text", "category": "order", "stamp": "1680303600"})
    source = make([column], rows, kinds={"stamp": ColumnKind.EPOCH})
    ruleset = rules({"from": "stamp", "for": "P0D"})
    at = date(2023, 4, 1)
    expected = {"a": "due", "b": "retained", "far": "unreadable"}
    if dialect == "sqlite":
        expected["text"] = "unreadable"
    assert assert_every_record_in_one_bucket(source, ruleset, at, len(rows)) == expected


def test_a_boolean_field_in_a_text_column_is_refused_naming_it(make: Any, db_url: str) -> None:
    dialect = sa.make_url(db_url).get_backend_name()
    source = make([text_column(dialect, "vip"), sa.Column("placed_at", sa.Date)], [])
    ruleset = rules({"from": "placed_at", "for": "P1Y"}, where={"vip": True})
    with pytest.raises(SourceError, match=r"rule 'r' compares with true or false field 'vip'"):
        source.check(ruleset)


def test_mariadb_timestamp_columns_hold_utc_instants(make: Any, db_url: str) -> None:
    """A TIMESTAMP is kept in UTC and read back in UTC (keepfor's sessions), whatever the
    source's zone of wall-clock times."""
    if sa.make_url(db_url).get_backend_name() not in ("mysql", "mariadb"):
        pytest.skip("MariaDB's TIMESTAMP")
    from sqlalchemy.dialects import mysql

    rows = [{"key": "k", "category": "order", "stamp": "2026-03-31 22:30:00"}]
    source = make([sa.Column("stamp", mysql.TIMESTAMP)], rows, timezone="America/New_York")
    pack = parse_pack(
        {
            "pack": "p",
            "version": "1",
            "timezone": "UTC",
            "rules": [
                {
                    "id": "r",
                    "applies_to": {"category": "order"},
                    "boundary": "on",
                    "retain": {"from": "stamp", "for": "P0D"},
                    "then": "purge",
                }
            ],
        }
    )
    # 22:30 UTC on 31 March: due on 31 March (read as New York time it would be 1 April)
    assert assert_every_record_in_one_bucket(source, RuleSet((pack,)), date(2026, 3, 31), 1) == {
        "k": "due"
    }


@pytest.mark.parametrize(
    ("low", "bad", "high"),
    [
        ("2025-01-01T10:20:00", "2025-01-01T10:3a:00", "2025-01-01T10:40:00"),
        ("2025-01-01 10:20:00", "2025-01-01 10:3 :00", "2025-01-01 10:40:00"),
        ("2025-01-01T10:20:00Z", "2025-01-01T10:2x:00Z", "2025-01-01T10:40:00Z"),
        ("2025-01-01T10:20+01:00", "2025-01-01T10:2_+01:00", "2025-01-01T10:40+01:00"),
        ("2025-01-01T10:20:00.1", "2025-01-01T10:30:00.x", "2025-01-01T10:40:00.1"),
    ],
)
def test_a_text_that_is_no_date_between_two_dates_of_its_hour_is_unreadable(
    make: Any, db_url: str, low: str, bad: str, high: str
) -> None:
    """The database groups datetimes texts by their hour, length and offset and the engine
    decides a group by its lowest and highest text: a text that is no date may sort
    between two that are, and must still be unreadable, in the counts and in the rows
    a report lists, never due with its group."""
    dialect = sa.make_url(db_url).get_backend_name()
    rows = [
        {"key": "low", "category": "order", "placed_at": low},
        {"key": "bad", "category": "order", "placed_at": bad},
        {"key": "high", "category": "order", "placed_at": high},
    ]
    source = make([text_column(dialect, "placed_at")], rows, kinds={"placed_at": "instant"})
    ruleset = rules({"from": "placed_at", "for": "P1Y"})
    at = datetime(2026, 11, 22, tzinfo=UTC)
    expected = {"low": "due", "bad": "unreadable", "high": "due"}
    assert assert_every_record_in_one_bucket(source, ruleset, at, 3) == expected
    listed = Collect()
    report = build_report(ruleset, [source], at, listed)
    assert sorted(row.key for row in listed.rows) == ["high", "low"]
    assert [row.key for row in listed.bad] == ["bad"]
    assert report.counts[source.name].unreadable == 1


@st.composite
def _texts_of_one_hour(draw: st.DrawFn) -> list[str]:
    """Datetime texts of one hour, one form and one offset, some with one character
    changed (which may leave a date, or not): what a group of the database holds."""
    tail = draw(st.sampled_from([":{m}", ":{m}:{s}", ":{m}:{s}.{f}"]))
    suffix = draw(st.sampled_from(["", "Z", "+01:00", "-05:30"]))
    sep = draw(st.sampled_from("T "))
    texts = []
    for _ in range(draw(st.integers(2, 8))):
        m, s = draw(st.integers(0, 59)), draw(st.integers(0, 59))
        text = f"2025-01-01{sep}10" + tail.format(m=f"{m:02}", s=f"{s:02}", f="1234") + suffix
        if draw(st.booleans()):
            spot = draw(st.integers(13, len(text) - len(suffix) - 1))
            text = text[:spot] + draw(st.sampled_from("a x/:9.")) + text[spot + 1 :]
        texts.append(text)
    return texts


@given(texts=_texts_of_one_hour())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_texts_of_one_hour_each_land_in_their_own_bucket(
    make: Any, db_url: str, texts: list[str]
) -> None:
    """The law over texts the database groups together (one hour, length and offset):
    each is due or unreadable as the engine reads it, in the counts too."""
    dialect = sa.make_url(db_url).get_backend_name()
    rows = [{"key": f"k{i}", "category": "order", "placed_at": t} for i, t in enumerate(texts)]
    source = make([text_column(dialect, "placed_at")], rows, kinds={"placed_at": "instant"})
    at = datetime(2026, 11, 22, tzinfo=UTC)
    assert_every_record_in_one_bucket(
        source, rules({"from": "placed_at", "for": "P1Y"}), at, len(rows)
    )
