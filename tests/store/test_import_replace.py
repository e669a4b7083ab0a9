"""``replace=True`` (``db import --replace``): a re-export refreshes the store, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from keepfor.clock import FixedClock
from keepfor.store import ImportFailed, ImportResult, Record, import_records, open_store, upgrade
from keepfor.store import importer as importer_module
from tests.store.test_importer import counts, jsonl, records, write

FIRST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 2, 5, 9, 0, tzinfo=UTC)

EXPORT = [
    {
        "key": "ord-1",
        "category": "order",
        "customer": "cus-1",
        "placed_at": "2019-05-14",
        "channel": "web",
    },
    {"key": "ord-2", "category": "order", "customer": "cus-1", "placed_at": "2020-01-02"},
    {"key": "enq-1", "category": "enquiry", "customer": "cus-2", "resolved_at": None},
]

REEXPORT = [
    # ord-1: a field changes, one is removed, one is added, the customer changes
    {
        "key": "ord-1",
        "category": "order",
        "customer": "cus-3",
        "placed_at": "2019-05-15",
        "refunded": True,
    },
    # enq-1: the category and every field change; no customer any more
    {"key": "enq-1", "category": "complaint", "resolved_at": "2024-06-20T10:00:00Z"},
    # new records
    {"key": "quo-1", "category": "quote", "customer": "cus-1", "quoted_at": "2025-10-06"},
]


@pytest.fixture
def store(db_url: str) -> Iterator[sa.Engine]:
    upgrade(db_url)
    engine = open_store(db_url)
    yield engine
    engine.dispose()


def imported_at(engine: sa.Engine) -> dict[str, tuple[int | None, datetime]]:
    with Session(engine) as session:
        return {r.key: (r.id, r.imported_at) for r in session.exec(select(Record)).all()}


def test_replace_updates_existing_records_and_inserts_the_rest(
    store: sa.Engine, tmp_path: Path
) -> None:
    import_records(store, write(tmp_path, "a.jsonl", jsonl(*EXPORT)), clock=FixedClock(FIRST))
    ids_before = {key: record_id for key, (record_id, _) in imported_at(store).items()}
    result = import_records(
        store, write(tmp_path, "b.jsonl", jsonl(*REEXPORT)), replace=True, clock=FixedClock(LATER)
    )
    assert result == ImportResult(count=3, customers_created=1, replaced=2)
    assert (result.inserted, result.replaced) == (1, 2)
    assert records(store) == {
        "ord-1": {
            "key": "ord-1",
            "customer": "cus-3",
            "category": "order",
            "placed_at": date(2019, 5, 15),
            "refunded": True,
        },
        "ord-2": {
            "key": "ord-2",
            "customer": "cus-1",
            "category": "order",
            "placed_at": date(2020, 1, 2),
        },
        "enq-1": {
            "key": "enq-1",
            "customer": None,
            "category": "complaint",
            "resolved_at": datetime(2024, 6, 20, 10, 0, tzinfo=UTC),
        },
        "quo-1": {
            "key": "quo-1",
            "customer": "cus-1",
            "category": "quote",
            "quoted_at": date(2025, 10, 6),
        },
    }
    after = imported_at(store)
    assert {key: when for key, (_, when) in after.items()} == {
        "ord-1": LATER,
        "ord-2": FIRST,
        "enq-1": LATER,
        "quo-1": LATER,
    }
    for key in ("ord-1", "ord-2", "enq-1"):  # updated in place: the same record
        assert after[key][0] == ids_before[key]
    assert counts(store) == (3, 4, 5)


def test_replace_with_nothing_in_the_store_inserts(store: sa.Engine, tmp_path: Path) -> None:
    result = import_records(store, write(tmp_path, "a.jsonl", jsonl(*EXPORT)), replace=True)
    assert (result.count, result.inserted, result.replaced) == (3, 3, 0)


def test_the_same_file_twice_with_replace_changes_nothing(store: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", jsonl(*EXPORT))
    import_records(store, path)
    before = records(store)
    assert import_records(store, path, replace=True).replaced == 3
    assert records(store) == before
    assert counts(store) == (2, 3, 3)


def test_without_replace_an_existing_key_is_refused(store: sa.Engine, tmp_path: Path) -> None:
    import_records(store, write(tmp_path, "a.jsonl", jsonl(*EXPORT)))
    with pytest.raises(ImportFailed) as caught:
        import_records(store, write(tmp_path, "b.jsonl", jsonl(*REEXPORT)))
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "key"), (2, "key")]
    assert caught.value.problems[0].reason.endswith("(give --replace to update it)")


@pytest.mark.parametrize(
    ("bad_row", "field", "reason"),
    [
        (
            {"key": "ord-2", "category": "order", "placed_at": "31/12/2015"},
            "placed_at",
            "is not an ISO 8601 date",
        ),
        ({"key": "ord-1", "category": "order"}, "key", "'ord-1' is already used on line 1"),
        ({"key": "ord-9", "category": None}, "category", "the record has no category"),
    ],
)
def test_replace_is_all_or_nothing(
    store: sa.Engine, tmp_path: Path, bad_row: dict[str, object], field: str, reason: str
) -> None:
    import_records(store, write(tmp_path, "a.jsonl", jsonl(*EXPORT)))
    before = (records(store), counts(store), imported_at(store))
    path = write(tmp_path, "b.jsonl", jsonl(*REEXPORT, bad_row))
    with pytest.raises(ImportFailed) as caught:
        import_records(store, path, replace=True)
    assert caught.value.count == 1
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (4, field)
    assert reason in problem.reason
    assert (records(store), counts(store), imported_at(store)) == before


def test_replace_across_batches(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer_module, "BATCH_SIZE", 7)
    first = [{"key": f"r-{i}", "category": "order", "at": "2020-01-02"} for i in range(0, 40, 2)]
    import_records(store, write(tmp_path, "a.jsonl", jsonl(*first)))
    every = [{"key": f"r-{i}", "category": "enquiry", "n": i} for i in range(40)]
    result = import_records(store, write(tmp_path, "b.jsonl", jsonl(*every)), replace=True)
    assert (result.inserted, result.replaced) == (20, 20)
    got = records(store)
    assert len(got) == 40
    assert all(
        got[f"r-{i}"] == {"key": f"r-{i}", "customer": None, "category": "enquiry", "n": i}
        for i in range(40)
    )
    assert counts(store) == (0, 40, 40)


def test_a_failure_while_replacing_rolls_everything_back(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error in a later batch undoes the updates of the earlier ones."""
    import_records(store, write(tmp_path, "a.jsonl", jsonl(*EXPORT)))
    before = records(store)
    monkeypatch.setattr(importer_module, "BATCH_SIZE", 1)
    real = importer_module._insert_fields
    calls = 0

    def fail_on_the_third_batch(conn: sa.Connection, rows: list[Any], ids: dict[str, int]) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
        real(conn, rows, ids)

    monkeypatch.setattr(importer_module, "_insert_fields", fail_on_the_third_batch)
    with pytest.raises(importer_module.StoreError, match="nothing was imported"):
        import_records(store, write(tmp_path, "b.jsonl", jsonl(*REEXPORT)), replace=True)
    assert records(store) == before
