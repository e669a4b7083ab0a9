"""The interfaces' own values: keys read from and written as text, batches that refuse
what they cannot mean, and every backend an implementation of its interface."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import keepfor.abc as abc
from keepfor.clock import FixedClock, SystemClock
from keepfor.connectors.sql import SqlTableSource
from keepfor.connectors.store import StoreSource
from keepfor.engine import Action
from keepfor.engine.cutoffs import All
from keepfor.engine.evaluate import Evaluator
from keepfor.errors import UsageError
from keepfor.report.formats import FORMATS


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        (abc.RecordKey("id", int), "42", 42),
        (abc.RecordKey("id", int), "-7", -7),
        (abc.RecordKey("no", str), "0042", "0042"),
        (abc.RecordKey("no", str), "a,b", "a,b"),
        (abc.RecordKey("amount", Decimal), "10.50", Decimal("10.50")),
    ],
)
def test_a_key_is_read_from_text_as_its_type_and_written_back(
    key: abc.RecordKey, text: str, value: Any
) -> None:
    parsed = key.parse(text)
    assert parsed == value
    assert type(parsed) is type(value)
    assert key.text(parsed) == text


@pytest.mark.parametrize("text", ["4x", "", "1.5", "0x10"])
def test_text_that_is_no_key_of_the_type_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="'id'"):
        abc.RecordKey("id", int).parse(text)


def test_bytes_keys_are_written_as_hex() -> None:
    assert abc.RecordKey("k", bytes).text(b"\x00\xff") == "00ff"


def test_a_batch_needs_distinct_keys() -> None:
    def batch(keys: tuple[Any, ...]) -> abc.ActionBatch:
        return abc.ActionBatch("s", "r", "p", Action.PURGE, keys, All(()))

    assert batch((1, 2)).keys == (1, 2)
    for bad in [(), (1, 1)]:
        with pytest.raises(ValueError, match="key"):
            batch(bad)


def test_a_batch_result_counts_its_outcomes() -> None:
    result = abc.BatchResult({1: abc.Outcome.DONE, 2: abc.Outcome.SKIPPED, 3: abc.Outcome.DONE})
    assert result.count(abc.Outcome.DONE) == 2
    assert result.count(abc.Outcome.FAILED) == 0


def test_every_backend_implements_its_interface() -> None:
    assert issubclass(SqlTableSource, abc.RecordSource)
    assert issubclass(StoreSource, abc.RecordSource)
    # each format makes its writer (html's module is imported only when asked for)
    assert all(isinstance(make(io.StringIO()), abc.ReportWriter) for make in FORMATS.values())
    clocks: list[abc.Clock] = [SystemClock(), FixedClock(datetime(2026, 1, 1, tzinfo=UTC))]
    assert all(c.now().tzinfo is not None for c in clocks)
    evaluator: abc.Evaluator = Evaluator(())
    assert callable(evaluator)


def test_making_a_store_source_does_no_io(tmp_path: Any) -> None:
    source = StoreSource(f"sqlite:///{tmp_path / 'none.db'}")
    source.close()
    assert list(tmp_path.iterdir()) == []
