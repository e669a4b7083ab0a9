"""Reading ahead: a report's counts read by a thread of their own while its due records
are written, with the same result as read in turn, and their errors raised where the
counts are taken."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import Status
from keepfor.errors import SourceError
from keepfor.reading import ReadAhead
from keepfor.report import build_report
from tests.report import AT, TABLE, Collect, load, rules, source


def test_items_in_order_and_the_thread_ends() -> None:
    ahead = ReadAhead(iter(range(1000)), limit=4)
    assert list(ahead) == list(range(1000))
    assert list(ahead) == []
    assert not ahead._thread.is_alive()


def test_an_error_is_raised_where_the_items_are_taken() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise SourceError("source 'x': the database went away")

    ahead = ReadAhead(items())
    assert next(ahead) == 1
    assert next(ahead) == 2
    with pytest.raises(SourceError, match="went away"):
        next(ahead)
    with pytest.raises(StopIteration):
        next(ahead)


def test_close_stops_the_reading_and_closes_the_iterator() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    with ReadAhead(items(), limit=2) as ahead:
        assert next(ahead) == 0
    assert closed.wait(5), "the iterator was not closed"
    ahead._thread.join(5)
    assert not ahead._thread.is_alive()


def test_only_sources_with_a_connection_per_read_read_ahead(tmp_path: Path) -> None:
    mapping = TableMapping(source="t", table="t", fields={})
    in_memory = SqlTableSource("sqlite://", mapping)
    on_file = SqlTableSource(f"sqlite:///{tmp_path / 'k.db'}", mapping)
    try:
        assert not in_memory.reads_ahead()  # one connection, or one database per thread
        assert on_file.reads_ahead()
    finally:
        in_memory.close()
        on_file.close()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql", "mariadb"], indirect=True)
def test_counts_read_ahead_equal_counts_read_in_turn(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same report, its counts read ahead and read after the rows."""
    load(db_url)
    with source(db_url) as src:
        assert src.reads_ahead()
        ahead = build_report(rules(), [src], AT, Collect(aggregates=True))
        monkeypatch.setattr(SqlTableSource, "reads_ahead", lambda self: False)
        in_turn = build_report(rules(), [src], AT, Collect(aggregates=True))
    assert ahead.counts == in_turn.counts
    assert ahead.forecast == in_turn.forecast
    assert ahead.by_month == in_turn.by_month
    assert ahead.waiting == in_turn.waiting
    assert ahead.unmatched == in_turn.unmatched
    counts = ahead.counts[src.name]
    assert counts.total > 0
    assert counts.due > 0
    assert counts.total == sum(getattr(counts, s.value) for s in Status)  # held among them


def test_a_failed_report_leaves_no_thread_reading(tmp_path: Path) -> None:
    """The table gone after the source was opened: the rows' statement fails, and so
    does the counts' read ahead; the report stops with the database's one line, and the
    thread that read ahead ends."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    load(url)
    with source(url) as src:
        src.open()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {TABLE} RENAME TO gone"))
        engine.dispose()
        with pytest.raises(SourceError) as caught:
            build_report(rules(), [src], AT, Collect(aggregates=True))
    assert "\n" not in str(caught.value)
    assert "no such table" in str(caught.value)
    for thread in threading.enumerate():
        if thread.name == "keepfor-read-ahead":
            thread.join(5)
            assert not thread.is_alive()
