"""A user's table as a source: reflection checks, counts and streaming, on every backend."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import RecordKey
from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping
from keepfor.engine import RuleSet, parse_pack
from keepfor.engine.cutoffs import All, Equals, Never, Present, due_predicate
from keepfor.errors import SourceError

TABLE = "kf_src_records"

RESOLVED = datetime(2021, 3, 4, 23, 30, tzinfo=UTC)

ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "category": "order",
        "placed_at": date(2019, 5, 1),
        "resolved_at": None,
        "paid": True,
        "note": "a",
        "placed_txt": "2019-05-01",
    },
    {
        "id": 2,
        "category": "order",
        "placed_at": date(2024, 1, 10),
        "resolved_at": None,
        "paid": False,
        "note": "b",
        "placed_txt": "2024-01-10",
    },
    {
        "id": 3,
        "category": "order",
        "placed_at": None,
        "resolved_at": None,
        "paid": False,
        "note": None,
        "placed_txt": None,
    },
    {
        "id": 4,
        "category": "complaint",
        "placed_at": None,
        "resolved_at": RESOLVED,
        "paid": True,
        "note": "c",
        "placed_txt": None,
    },
    {
        "id": 5,
        "category": "complaint",
        "placed_at": None,
        "resolved_at": None,
        "paid": False,
        "note": None,
        "placed_txt": None,
    },
    {
        "id": 6,
        "category": "lead",
        "placed_at": None,
        "resolved_at": None,
        "paid": False,
        "note": None,
        "placed_txt": None,
    },
]


def _tables(meta: sa.MetaData) -> None:
    sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("placed_at", sa.Date),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("paid", sa.Boolean, nullable=False),
        sa.Column("note", sa.String(16)),
        sa.Column("placed_txt", sa.String(16)),
    )
    sa.Table("kf_src_nopk", meta, sa.Column("a", sa.Integer), sa.Column("placed_at", sa.Date))
    sa.Table(
        "kf_src_pair",
        meta,
        sa.Column("a", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("b", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("placed_at", sa.Date),
    )


@pytest.fixture
def url(db_url: str) -> str:
    """``db_url`` with the tables made and loaded (naive UTC instants where no timestamptz)."""
    engine = sa.create_engine(db_url)
    try:
        meta = sa.MetaData()
        _tables(meta)
        meta.create_all(engine)
        rows = [dict(r) for r in ROWS]
        if engine.dialect.name != "postgresql":
            for row in rows:
                if row["resolved_at"] is not None:
                    row["resolved_at"] = row["resolved_at"].astimezone(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(meta.tables[TABLE].insert(), rows)
    finally:
        engine.dispose()
    return db_url


@pytest.fixture
def open_source(url: str) -> Iterator[Callable[..., SqlTableSource]]:
    opened: list[SqlTableSource] = []

    def _open(**mapping: Any) -> SqlTableSource:
        mapping.setdefault("table", TABLE)
        mapping.setdefault("source", "shop")
        source = SqlTableSource(url, TableMapping(**mapping))
        opened.append(source)
        return source

    yield _open
    for source in opened:
        source.close()


def _rules(*rules: dict[str, Any]) -> RuleSet:
    return RuleSet(
        (parse_pack({"pack": "p", "version": "1", "timezone": "UTC", "rules": list(rules)}),)
    )


ORDERS = {
    "id": "orders",
    "applies_to": {"category": "order"},
    "retain": {"from": "placed_at", "for": "P6Y"},
    "then": "purge",
}
COMPLAINTS = {
    "id": "complaints",
    "applies_to": {"category": "complaint"},
    "retain": {"from": "resolved_at", "for": "P3Y"},
    "then": "anonymise",
}


PAIRS = {**ORDERS, "applies_to": {"a": 1}}


def _error(call: Callable[[], object], *fragments: str) -> str:
    with pytest.raises(SourceError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# -- reflection checks -----------------------------------------------------------------


def test_the_table_and_rules_check(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source()
    source.test_connection()
    source.check(_rules(ORDERS, COMPLAINTS))
    assert source.key_column.name == "id"


def test_a_missing_table_with_a_suggestion(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source(table="kf_src_record")
    for call in (source.test_connection, lambda: source.check(_rules(ORDERS))):
        _error(call, "source 'shop'", "table 'kf_src_record'", "no such table", f"'{TABLE}'")


def test_a_missing_column_names_the_rule_and_field(
    open_source: Callable[..., SqlTableSource],
) -> None:
    rule = {**ORDERS, "retain": {"from": "placedat", "for": "P6Y"}}
    _error(
        lambda: open_source().check(_rules(COMPLAINTS, rule)),
        f"table '{TABLE}'",
        "rule 'orders'",
        "field 'placedat'",
        "did you mean 'placed_at'?",
    )


def test_a_missing_match_column_names_the_rule(open_source: Callable[..., SqlTableSource]) -> None:
    rule = {**ORDERS, "where": {"payd": True}}
    _error(
        lambda: open_source().check(_rules(rule)),
        "rule 'orders'",
        "field 'payd'",
        "did you mean 'paid'?",
    )


def test_a_mapped_column_that_is_missing(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source(fields={"placed_at": "ordered_on"})
    _error(
        lambda: source.check(_rules(ORDERS)),
        "rule 'orders'",
        "column 'ordered_on'",
        "field 'placed_at'",
    )


def test_a_field_mapped_to_another_column(open_source: Callable[..., SqlTableSource]) -> None:
    rule = {**ORDERS, "retain": {"from": "ordered_on", "for": "P6Y"}}
    source = open_source(fields={"ordered_on": "placed_at"})
    source.check(_rules(rule))
    (record,) = (r for k, r in source.select(All(()), ["ordered_on"]) if k == 1)
    assert record["ordered_on"] == date(2019, 5, 1)


def test_a_rule_anchoring_on_a_column_that_is_not_a_date(
    open_source: Callable[..., SqlTableSource],
) -> None:
    rule = {**ORDERS, "retain": {"from": "note", "for": "P6Y"}}
    _error(
        lambda: open_source().check(_rules(rule)),
        "rule 'orders'",
        "field 'note'",
        "not a date or datetime",
    )


def test_no_single_column_primary_key(open_source: Callable[..., SqlTableSource]) -> None:
    for table in ("kf_src_nopk", "kf_src_pair"):
        source = open_source(table=table)
        _error(
            partial(source.check, _rules(PAIRS)),
            f"table '{table}'",
            "no single-column primary key",
            "--key",
        )
    keyed = open_source(table="kf_src_pair", key="a")
    keyed.check(_rules(PAIRS))
    assert keyed.key_column.name == "a"


def test_a_key_column_that_is_missing(open_source: Callable[..., SqlTableSource]) -> None:
    _error(lambda: open_source(key="ident").check(_rules(ORDERS)), "column 'ident'")


def test_a_category_constant_folds_other_rules_away(
    open_source: Callable[..., SqlTableSource],
) -> None:
    # complaints are anchored on a column this table does not have
    complaints = {**COMPLAINTS, "retain": {"from": "closed_on", "for": "P3Y"}}
    rules = _rules(ORDERS, complaints)
    _error(lambda: open_source().check(rules), "rule 'complaints'", "field 'closed_on'")
    # a table of orders only: the complaints rule can never match, so its fields are not needed
    source = open_source(constants={"category": "order"})
    source.check(rules)
    due = {k for k, _ in source.select(due_predicate(rules, date(2026, 11, 22)), rules.fields())}
    assert due == {1}  # 2019-05-01 + P6Y: due; 2024-01-10: not yet; other categories: never
    # but a field of the order rule is still checked
    broken = {**ORDERS, "retain": {"from": "placedat", "for": "P6Y"}}
    _error(
        lambda: open_source(constants={"category": "order"}).check(_rules(broken, complaints)),
        "rule 'orders'",
        "field 'placedat'",
    )


# -- counting and showing --------------------------------------------------------------


def test_count(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source()
    counts = source.count(
        {
            "all": All(()),
            "orders": Equals("category", "order"),
            "placed": Present("placed_at"),
            "paid": Equals("paid", True),
            "none": Never(),
        }
    )
    assert counts == {"all": 6, "orders": 3, "placed": 2, "paid": 2, "none": 0}
    assert source.count({}) == {}
    constant = open_source(constants={"category": "order"})
    assert constant.count({"orders": Equals("category", "order")}) == {"orders": 6}
    assert constant.count({"leads": Equals("category", "lead")}) == {"leads": 0}


def test_the_dry_run_query_names_the_table(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source()
    rules = _rules(ORDERS, COMPLAINTS)
    query = source.dry_run_query(due_predicate(rules, date(2026, 11, 22)))
    assert TABLE in query
    assert "WHERE" in query.upper()
    assert "placed_at" in query
    # the cutoff is a literal: the latest order date already due (2020-11-21 + P6Y, kept
    # through 2026-11-21, may go on 2026-11-22)
    assert "2020-11-21" in query


# -- streaming -------------------------------------------------------------------------


def test_select_streams_engine_values_on_every_backend(
    open_source: Callable[..., SqlTableSource],
) -> None:
    source = open_source()
    fields = ["category", "placed_at", "resolved_at", "paid", "note"]
    records = dict(source.select(All(()), fields))
    assert set(records) == {1, 2, 3, 4, 5, 6}
    one, three, four = records[1], records[3], records[4]
    assert set(one) == set(fields)
    assert type(one["placed_at"]) is date
    assert one["placed_at"] == date(2019, 5, 1)
    assert three["placed_at"] is None
    assert isinstance(four["resolved_at"], datetime)
    assert four["resolved_at"].tzinfo is not None
    assert four["resolved_at"] == RESOLVED
    assert one["resolved_at"] is None
    assert one["paid"] is True
    assert records[2]["paid"] is False
    assert one["note"] == "a"


def test_select_applies_the_predicate(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source()
    rules = _rules(ORDERS, COMPLAINTS)
    # 2019-05-01 + P6Y = 2025-05-01, due 2025-05-02; 2021-03-04 + P3Y + 1 day = 2024-03-05
    for day, expected in [
        (date(2024, 3, 4), set()),
        (date(2024, 3, 5), {4}),
        (date(2025, 5, 1), {4}),
        (date(2025, 5, 2), {1, 4}),
    ]:
        got = {k for k, _ in source.select(due_predicate(rules, day), rules.fields())}
        assert got == expected, day


def test_a_constant_is_part_of_every_record(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source(constants={"category": "order"})
    records = list(source.select(Present("placed_at"), ["category", "placed_at"]))
    assert sorted(k for k, _ in records) == [1, 2]
    assert all(r["category"] == "order" for _, r in records)


def test_a_text_column_declared_a_date(
    open_source: Callable[..., SqlTableSource], db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("typeless date columns are a SQLite matter")
    rule = {**ORDERS, "retain": {"from": "placed_txt", "for": "P6Y"}}
    _error(lambda: open_source().check(_rules(rule)), "field 'placed_txt'", "not a date")
    source = open_source(kinds={"placed_txt": ColumnKind.DATE})
    source.check(_rules(rule))
    records = dict(source.select(Present("placed_txt"), ["placed_txt"]))
    assert records[1]["placed_txt"] == date(2019, 5, 1)
    assert type(records[2]["placed_txt"]) is date


# -- URLs ------------------------------------------------------------------------------


def test_a_sqlite_file_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    source = SqlTableSource(f"sqlite:///{missing}", TableMapping(table="t", source="s"))
    assert list(tmp_path.iterdir()) == []  # making a source does no I/O
    _error(
        source.open,
        "source 's'",
        "no such SQLite database file",
        str(missing),
    )
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    [
        "nosuchdb://u@h/db",
        "sqlite+nodriver:///x.db",
        "postgresql+nodriver://u:s3cret@h/db",
        "mysql+mysqldb://u:s3cret@h/db",  # a driver that is not installed
        "not a url",
    ],
)
def test_a_bad_url_or_a_missing_driver(tmp_path: Path, bad: str) -> None:
    message = _error(
        lambda: SqlTableSource(bad, TableMapping(table="t", source="s")),
        "source 's'",
        "table 't'",
    )
    assert "s3cret" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_does_not_answer() -> None:
    # nothing listens on port 9 (discard) of localhost
    source = SqlTableSource(
        "postgresql+psycopg://app:s3cret@127.0.0.1:9/db?connect_timeout=3",
        TableMapping(table="t", source="s"),
    )
    try:
        message = _error(source.test_connection, "source 's'", "127.0.0.1:9", "failed")
        assert "s3cret" not in message
        assert "***" in message
    finally:
        source.close()


# -- open, close, reopen; the key --------------------------------------------------------


def test_a_source_opens_closes_and_reopens(open_source: Callable[..., SqlTableSource]) -> None:
    source = open_source()
    source.open()
    source.open()  # opening an open source does nothing
    first = dict(source.select(Present("placed_at"), ["placed_at"]))
    source.close()
    source.open()  # a long-running process reconnects after an outage
    assert dict(source.select(Present("placed_at"), ["placed_at"])) == first
    assert source.key == RecordKey("id", int)


def test_the_key_is_beside_the_record_so_a_rule_may_read_a_field_called_key(
    open_source: Callable[..., SqlTableSource],
) -> None:
    rule = {**ORDERS, "applies_to": {"key": "order"}}
    source = open_source(fields={"key": "category"})
    source.check(_rules(rule))
    due = dict(source.select(due_predicate(_rules(rule), date(2026, 11, 22)), ["key"]))
    assert due == {1: {"key": "order"}}


def test_a_stream_left_early_leaves_its_connection_clean(
    open_source: Callable[..., SqlTableSource],
) -> None:
    """A read stopped after its first row (``get``, a ``--limit``) closes its result: on
    MariaDB an unbuffered result left open was drained, with a warning, by the
    connection's next statement."""
    source = open_source()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            stream = source.select(All(()), ["category"])
            next(iter(stream))
            stream.close()  # type: ignore[attr-defined]
            assert source.get(1, ["category"]) is not None
        source.close()
        gc.collect()
    assert [str(w.message) for w in caught if "unbuffered" in str(w.message)] == []


def test_a_whole_grouping_gives_the_same_groups_read_in_one_process(
    open_source: Callable[..., SqlTableSource],
) -> None:
    """``whole`` (a report's counts) changes how PostgreSQL reads, never what: its
    parallel workers would only hand every row to the one process that groups them."""
    source = open_source()
    source.open()
    said: list[str] = []
    sa.event.listen(source.engine, "before_cursor_execute", lambda *args: said.append(args[2]))
    fields = ["category", "placed_at", "resolved_at", "paid"]

    def groups(whole: bool) -> list[tuple[Any, ...]]:
        found = source.select_groups(All(()), fields, bound=0, whole=whole)
        return sorted((repr(g.token), g.size) for g in found)

    assert groups(True) == groups(False)
    assert sum(size for _, size in groups(True)) == 6
    settings = [s for s in said if s.startswith("SET LOCAL")]
    if source.dialect == "postgresql":
        assert settings == [
            "SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0",
            "SET LOCAL enable_sort = off; SET LOCAL parallel_tuple_cost = 0.001",
            "SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0",
        ]
    else:
        assert settings == []
