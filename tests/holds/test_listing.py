"""The active holds of a source in one query, on SQLite, PostgreSQL and MariaDB, matched
to a record by its key's text or its customer's, byte for byte; a source that keeps no
holds, or a database without the holds table, has none and gets none made."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor import holds
from keepfor.abc import Keyed, RecordKey, RecordSource
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate
from keepfor.holds.listing import ActiveHolds, holds_of_source, value_text
from keepfor.holds.store import active_holds

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)


def test_active_holds_in_one_query(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert active_holds(conn, "orders", TODAY) == []  # no table: none, none made
            assert not holds.exists(conn)
        with engine.begin() as conn:
            holds.ensure(conn)
        with engine.begin() as conn:
            one = holds.add(conn, "orders", record_key="42", reason="claim", by="a", at=AT)
            two = holds.add(conn, "orders", customer="C-7", reason="asked", by="b", at=AT,
                            until=TODAY)  # fmt: skip
            gone = holds.add(conn, "orders", record_key="43", reason="x", by="c", at=AT)
            holds.add(conn, "other", record_key="42", reason="elsewhere", by="d", at=AT)
            holds.release(conn, "orders", gone.id, reason="settled", by="e", at=AT)
        with engine.connect() as conn:
            assert [h.id for h in active_holds(conn, "orders", TODAY)] == [one.id, two.id]
            tomorrow = date(2026, 11, 23)  # the customer's hold held through today only
            assert [h.id for h in active_holds(conn, "orders", tomorrow)] == [one.id]
            assert active_holds(conn, "nobody", TODAY) == []
    finally:
        engine.dispose()


def _hold(id_: int, key: str | None = None, customer: str | None = None) -> holds.Hold:
    return holds.Hold(id_, "orders", key, customer, f"reason {id_}", "alice", AT)


def test_a_record_gets_the_reasons_of_the_holds_on_its_key_or_its_customer() -> None:
    active = ActiveHolds.of([_hold(3, customer="C"), _hold(1, key="abc"), _hold(2, key="abc")])
    assert active
    assert active.names_customers
    assert [h.id for h in active.holding("abc", "C")] == [1, 2, 3]
    assert active.reasons("abc", None) == (
        "hold 1 (record abc) by alice since 2026-11-22: reason 1",
        "hold 2 (record abc) by alice since 2026-11-22: reason 2",
    )
    assert active.reasons("x", "C") == ("hold 3 (customer C) by alice since 2026-11-22: reason 3",)
    # byte for byte, as the push-down compares: no case folding, trailing spaces count
    assert active.reasons("ABC", "c") == ()
    assert active.reasons("abc ", "C ") == ()
    keys_only = ActiveHolds.of([_hold(1, key="abc")])
    assert keys_only
    assert not keys_only.names_customers
    assert not ActiveHolds.of([])


def test_a_customer_value_as_text() -> None:
    assert value_text("C-7") == "C-7"
    assert value_text(7) == "7"
    assert value_text(b"\x01\xab") == "01ab"
    assert value_text(None) is None
    assert value_text("") is None


class _NoHolds(RecordSource):
    """A source of keepfor's kind that keeps no holds (no database of keepfor's)."""

    name = "plain"

    def open(self) -> None: ...

    def close(self) -> None: ...

    @property
    def key(self) -> RecordKey:
        return RecordKey("id")

    def check(self, rules: RuleSet) -> None: ...

    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Keyed]:
        raise AssertionError("a source without holds is not read for them")

    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        return dict.fromkeys(predicates, 0)

    def dry_run_query(self, predicate: Predicate) -> str:
        return ""


def test_a_source_that_keeps_no_holds_has_none() -> None:
    assert not holds_of_source(_NoHolds(), TODAY)


def test_a_file_source_without_its_state_db_has_none_and_makes_none(tmp_path: Path) -> None:
    from keepfor.connectors.streamed import StreamedSource

    class _File(StreamedSource):
        def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
            return iter(())

        @property
        def key(self) -> RecordKey:
            return RecordKey("id")

        def open(self) -> None: ...

    state = tmp_path / "keepfor.db"
    source = _File("export", None, f"sqlite:///{state}")  # type: ignore[arg-type]
    assert not holds_of_source(source, TODAY)
    assert not state.exists()
    source.close()


def test_a_database_failure_is_one_line_without_the_password(tmp_path: Path) -> None:
    from keepfor.connectors.sql import SqlTableSource, TableMapping
    from keepfor.errors import SourceError

    url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("CREATE TABLE keepfor_holds (id INTEGER PRIMARY KEY)"))  # broken
    engine.dispose()
    source = SqlTableSource(url, TableMapping(table="t", source="t"))
    source.open()
    try:
        with pytest.raises(SourceError, match="source 't': reading its holds from database"):
            holds_of_source(source, TODAY)
    finally:
        source.close()
