"""A trailing space makes another key, customer or text, as it does for the engine, on
every backend: a hold on ``abc`` does not hold ``abc `` (in the report's buckets, the
sweep and ``explain`` alike), the store keeps ``k`` and ``k `` as two records, and
``category: order`` does not match a stored ``order ``. (MariaDB's ``utf8mb4_bin`` pads
with spaces; keepfor compares in a NO PAD binary collation there.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor import holds
from keepfor.abc import ActionTarget, RecordSource
from keepfor.actions.settings import ActionSettings
from keepfor.actions.sweep import SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.clock import FixedClock
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.connectors.store import StoreSource
from keepfor.engine import Action, RuleSet, parse_pack
from keepfor.holds.listing import ActiveHolds, holds_of
from keepfor.report import build_report
from keepfor.store import upgrade
from keepfor.store.importer import import_records
from tests.buckets import assert_every_record_in_one_bucket
from tests.report import Collect

TABLE = "kf_trailing"
AT = date(2026, 11, 22)
TODAY = AT
WHEN = datetime(2026, 11, 22, 9, tzinfo=UTC)
RULES = RuleSet(
    (
        parse_pack(
            {
                "pack": "p",
                "version": "1",
                "timezone": "UTC",
                "rules": [
                    {
                        "id": "orders",
                        "applies_to": {"category": "order"},
                        "retain": {"from": "placed_at", "for": "P6Y"},
                        "then": "purge",
                    }
                ],
            }
        ),
    )
)
ROWS = [  # key, customer, category
    ("abc", "X", "order"),
    ("abc ", "X", "order"),
    ("c1", "C", "order"),
    ("c2", "C ", "order"),
    ("spaced", "Y", "order "),
]
HELD = {"abc", "c1"}
"""Held by the holds on key ``abc`` and on customer ``C``."""
BUCKETS = {"abc": "held", "c1": "held", "abc ": "due", "c2": "due", "spaced": "unmatched"}


def _exact_column(dialect: str) -> str:
    """A user's column that keeps ``abc`` and ``abc `` apart (MariaDB's default pads)."""
    if dialect == "mysql":
        return "VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    return "VARCHAR(16)"


def _older_holds_table(conn: sa.Connection) -> None:
    """Make ``keepfor_holds`` as an older keepfor made it on MariaDB: ``utf8mb4_bin``."""
    bin_ = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    conn.execute(
        sa.text(
            f"ALTER TABLE keepfor_holds MODIFY source VARCHAR(200) {bin_} NOT NULL, "
            f"MODIFY record_key VARCHAR(255) {bin_}, MODIFY customer VARCHAR(255) {bin_}"
        )
    )


def _place_holds(engine: sa.Engine, source: str, older: bool) -> list[holds.Hold]:
    with engine.begin() as conn:
        holds.ensure(conn)
    with engine.begin() as conn:
        if older:
            _older_holds_table(conn)
        return [
            holds.add(conn, source, record_key="abc", reason="claim", by="a", at=WHEN),
            holds.add(conn, source, customer="C", reason="asked", by="b", at=WHEN),
        ]


@pytest.fixture(params=["new", "older"])
def older(request: pytest.FixtureRequest, db_url: str) -> bool:
    """Holds in the table keepfor makes, or (MariaDB) in one an older keepfor made."""
    if request.param == "older" and not db_url.startswith("mysql"):
        pytest.skip("only MariaDB's holds tables were made in another collation")
    return bool(request.param == "older")


@pytest.fixture
def table_source(db_url: str, older: bool) -> Iterator[SqlTableSource]:
    engine = sa.create_engine(db_url)
    text = _exact_column(engine.dialect.name)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {TABLE} (k {text} PRIMARY KEY, customer {text}, "
                f"category {text}, placed_at DATE)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} (k, customer, category, placed_at) "
                "VALUES (:k, :c, :g, '2015-01-01')"
            ),
            [{"k": k, "c": c, "g": g} for k, c, g in ROWS],
        )
    _place_holds(engine, "shop", older)
    engine.dispose()
    src = SqlTableSource(db_url, TableMapping(table=TABLE, key="k", source="shop"))
    yield src
    src.close()


def _write_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    lines = [
        {"key": k, "customer": c, "category": g, "placed_at": "2015-01-01"} for k, c, g in ROWS
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def store_source(db_url: str, older: bool, tmp_path: Path) -> Iterator[StoreSource]:
    upgrade(db_url)
    engine = sa.create_engine(db_url)
    try:
        assert import_records(engine, _write_jsonl(tmp_path)).count == len(ROWS)
    finally:
        engine.dispose()
    src = StoreSource(db_url)
    _place_holds(src.engine, src.name, older)
    yield src
    src.close()


def _explain_holds(source: RecordSource, key: str) -> list[str]:
    """What ``explain`` finds holding the record: ``key:`` or ``customer:`` and the value."""
    found = holds_of(source, source.key.parse(key), TODAY)
    return [f"key:{h.record_key}" if h.record_key else f"customer:{h.customer}" for h in found]


def _check_agree(source: RecordSource) -> None:
    """The report's buckets, the push-down's selections and ``explain`` agree."""
    buckets = assert_every_record_in_one_bucket(source, RULES, WHEN, len(ROWS), HELD)
    assert buckets == BUCKETS
    source.open()
    try:
        assert _explain_holds(source, "abc") == ["key:abc"]
        assert _explain_holds(source, "abc ") == []
        assert _explain_holds(source, "c1") == ["customer:C"]
        assert _explain_holds(source, "c2") == []
    finally:
        source.close()


def test_a_hold_on_abc_does_not_hold_abc_space_in_a_table(table_source: SqlTableSource) -> None:
    _check_agree(table_source)
    _check_listed(table_source)


def test_a_hold_on_abc_does_not_hold_abc_space_in_the_store(store_source: StoreSource) -> None:
    _check_agree(store_source)
    _check_listed(store_source)


def _check_listed(source: RecordSource) -> None:
    """The report lists the held records, each with the reason of the hold that holds it
    (matched byte for byte, as the push-down matches them), and counts as many."""
    writer = Collect()
    source.open()
    try:
        report = build_report(RULES, [source], WHEN, writer)
    finally:
        source.close()
    listed = {row.key: [r.rsplit(": ", 1)[1] for r in row.reasons] for row in writer.held_rows}
    assert listed == {"abc": ["claim"], "c1": ["asked"]}
    assert report.counts[source.name].held == len(writer.held_rows) == report.held_seen[source.name]


def _sweep(source: Any, make: Any) -> Any:
    trail = Trail(b"0123456789abcdef-test-key", RULES, FixedClock(WHEN))
    settings = ActionSettings(max_disposal_share=1.0)
    source.open()
    try:
        with source.engine.begin() as conn:
            Trail.ensure(conn)

        def target(opened: RecordSource) -> ActionTarget:
            return make(opened, settings, trail)

        return run_sweep(RULES, [SweptSource(source, settings, target)], AT, apply=True)
    finally:
        source.close()


def test_a_sweep_purges_abc_space_and_keeps_abc(table_source: SqlTableSource) -> None:
    result = _sweep(table_source, SqlTableTarget)
    tally = result.sources["shop"]
    assert (tally.held, tally.count(Action.PURGE)) == (2, 2)
    with table_source.engine.connect() as conn:
        left = set(conn.execute(sa.text(f"SELECT k FROM {TABLE}")).scalars())
    assert left == {"abc", "c1", "spaced"}


def test_a_sweep_of_the_store_purges_abc_space_and_keeps_abc(store_source: StoreSource) -> None:
    from keepfor.connectors.storewrite import StoreTarget

    result = _sweep(store_source, StoreTarget)
    tally = result.sources["store"]
    assert (tally.held, tally.count(Action.PURGE)) == (2, 2)
    with store_source.engine.connect() as conn:
        left = set(conn.execute(sa.text("SELECT k.* FROM keepfor_records k")).mappings())
    assert {row["key"] for row in left} == {"abc", "c1", "spaced"}


def test_the_store_keeps_k_and_k_space_apart(db_url: str, tmp_path: Path) -> None:
    upgrade(db_url)
    engine = sa.create_engine(db_url)
    path = tmp_path / "k.jsonl"
    rows = [
        {"key": "k", "category": "order", "customer": "c", "note": "a"},
        {"key": "k ", "category": "order ", "customer": "c ", "note": "a "},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    try:
        assert import_records(engine, path).count == 2
        again = tmp_path / "again.jsonl"
        again.write_text(json.dumps({"key": "k ", "category": "quote"}) + "\n", encoding="utf-8")
        assert import_records(engine, again, replace=True).count == 1
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT k.* FROM keepfor_records k ORDER BY k.id")
            ).mappings()
            assert [(r["key"], r["category"]) for r in stored] == [
                ("k", "order"),
                ("k ", "quote"),
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("older", [False, True], ids=["new", "older"])
def test_the_review_queue_tells_abc_from_abc_space(db_url: str, older: bool) -> None:
    """Disposing of ``abc`` marks its approved item done, not that of ``abc `` (nor of
    ``ABC``), in the queue keepfor makes and (MariaDB) in one an older keepfor made."""
    from keepfor.actions import review

    engine = sa.create_engine(db_url)
    if older and engine.dialect.name != "mysql":
        engine.dispose()
        pytest.skip("only MariaDB's queues were made in another collation")
    try:
        with engine.begin() as conn:
            review.ensure(conn)
        with engine.begin() as conn:
            if older:  # the database's default collation: case-blind, PAD SPACE
                conn.execute(
                    sa.text(
                        "ALTER TABLE keepfor_review MODIFY source VARCHAR(200) NOT NULL "
                        "COLLATE utf8mb4_general_ci, MODIFY record_key VARCHAR(255) NOT NULL "
                        "COLLATE utf8mb4_general_ci"
                    )
                )
            keys = ["abc", "abc ", "ABC"]
            review.queue(conn, "shop", keys, rule="r", pack="p", sweep="s", at=WHEN)
            ids = [item.id for item in review.items(conn, "shop")]
            review.decide(conn, ids, approve=True, by="a", reason="ok", at=WHEN)
            review.done(conn, "shop", ["abc"])
            status = {item.record_key: item.status.value for item in review.items(conn, "shop")}
        assert status == {"abc": "done", "abc ": "approved", "ABC": "approved"}
    finally:
        engine.dispose()


def test_keepfor_marks_abc_and_abc_space_apart_in_a_realigned_table(db_url: str) -> None:
    """``ensure`` realigns keepfor's tables an older keepfor made on MariaDB in
    ``utf8mb4_bin`` (whose unique key saw ``abc`` and ``abc `` as one): both are marked,
    and a hold on one holds only it."""
    from keepfor.actions import state

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            state.ensure(conn)
            holds.ensure(conn)
        if engine.dialect.name == "mysql":
            bin_ = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        f"ALTER TABLE keepfor_acted MODIFY source VARCHAR(200) {bin_}, "
                        f"MODIFY record_key VARCHAR(255) {bin_}"
                    )
                )
                _older_holds_table(conn)
        with engine.begin() as conn:
            state.ensure(conn)
            holds.ensure(conn)
        with engine.begin() as conn:
            for key in ("abc", "abc "):
                state.mark(conn, "shop", "flag", [key], rule="r", pack="p", sweep="s", at=WHEN)
            holds.add(conn, "shop", record_key="abc ", reason="r", by="b", at=WHEN)
        with engine.connect() as conn:
            assert state.already_acted(conn, "shop", "flag", ["abc", "abc "]) == {"abc", "abc "}
            active = ActiveHolds.of(holds.active_holds(conn, "shop", TODAY))
            assert active.holding("abc", None) == []
            assert [h.record_key for h in active.holding("abc ", None)] == ["abc "]
            if engine.dialect.name == "mysql":
                collations = conn.execute(
                    sa.text(
                        "SELECT DISTINCT COLLATION_NAME FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN "
                        "('keepfor_acted', 'keepfor_holds') AND COLUMN_NAME IN "
                        "('source', 'record_key', 'customer')"
                    )
                ).scalars()
                assert list(collations) == ["utf8mb4_nopad_bin"]
    finally:
        engine.dispose()
