"""verify finds every kind of tampering and names where it starts; export reads periods."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.audit import VerifyResult, append, entry_hash, export, verify
from keepfor.audit.entry import LIMITS, AuditEntry
from keepfor.audit.table import audit, batches, db_time, ensure, head
from keepfor.database import create_engine
from keepfor.errors import SourceError
from tests.audit.conftest import AT, appended, pending

SIZES = (4, 3, 3)
"""Three batches: entries 1-4, 5-7 and 8-10."""


@pytest.fixture
def trail(engine: sa.Engine) -> list[AuditEntry]:
    return appended(engine, *SIZES)


@pytest.fixture
def tampered(engine: sa.Engine, trail: list[AuditEntry]) -> Iterator[Callable[..., VerifyResult]]:
    """``tampered(change)``: run ``change(conn)``, verify, and roll the change back."""

    def run(change: Callable[[sa.Connection], object]) -> VerifyResult:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                change(conn)
                return verify(conn, chunk=3)  # small chunks: the walk crosses them
            finally:
                transaction.rollback()

    yield run
    with engine.connect() as conn:
        assert verify(conn).ok  # every change was rolled back


def _set(conn: sa.Connection, number: int, /, **values: Any) -> None:
    """Change columns of the entry ``number``."""
    if "time" in values:
        values["time"] = db_time(values["time"], conn.dialect)
    conn.execute(audit.update().where(audit.c.sequence == number).values(**values))


def _renumber(conn: sa.Connection, old: int, new: int) -> None:
    conn.execute(audit.update().where(audit.c.sequence == old).values(sequence=new))


def _bad(result: VerifyResult, sequence: int, fragment: str) -> None:
    assert not result.ok, result
    assert result.first_bad == sequence, result
    assert result.problem is not None
    assert fragment in result.problem, result


def test_an_intact_trail(engine: sa.Engine, trail: list[AuditEntry]) -> None:
    with engine.connect() as conn:
        result = verify(conn, chunk=3)
    assert result == VerifyResult(10, result.digest)
    assert result.ok


@pytest.mark.parametrize("field", ["source", "record", "rule_id", "pack_version", "outcome"])
def test_a_changed_field(tampered: Callable[..., VerifyResult], field: str) -> None:
    _bad(tampered(lambda conn: _set(conn, 6, **{field: "f" * 20})), 6, "entry 6 was changed")


def test_a_changed_time(tampered: Callable[..., VerifyResult]) -> None:
    later = AT + timedelta(seconds=5, microseconds=1)
    _bad(tampered(lambda conn: _set(conn, 6, time=later)), 6, "entry 6 was changed")


def test_a_changed_hash(tampered: Callable[..., VerifyResult]) -> None:
    _bad(tampered(lambda conn: _set(conn, 6, hash="0" * 64)), 6, "entry 6 was changed")


def test_a_change_with_its_hash_recomputed_fails_its_batch(
    tampered: Callable[..., VerifyResult], trail: list[AuditEntry]
) -> None:
    forged = AuditEntry(**{**trail[5].as_dict(), "time": trail[5].time, "outcome": "skipped"})
    fixed = entry_hash(6, forged)
    result = tampered(lambda conn: _set(conn, 6, outcome="skipped", hash=fixed))
    _bad(result, 5, "the batch digest does not match")


def test_a_removed_entry(tampered: Callable[..., VerifyResult]) -> None:
    gone = tampered(lambda conn: conn.execute(audit.delete().where(audit.c.sequence == 6)))
    _bad(gone, 6, "entry 6 is missing")
    last = tampered(lambda conn: conn.execute(audit.delete().where(audit.c.sequence == 10)))
    _bad(last, 10, "entry 10 is missing")


def test_a_removed_last_batch(tampered: Callable[..., VerifyResult]) -> None:
    def remove(conn: sa.Connection) -> None:
        conn.execute(audit.delete().where(audit.c.sequence >= 8))
        conn.execute(batches.delete().where(batches.c.first_sequence == 8))

    _bad(tampered(remove), 8, "entries 8..10 are missing (removed from the end)")


def test_a_removed_batch_record(tampered: Callable[..., VerifyResult]) -> None:
    remove = batches.delete().where(batches.c.first_sequence == 5)
    _bad(tampered(lambda conn: conn.execute(remove)), 5, "no batch covers it")


def test_an_entry_inserted_at_the_end(
    tampered: Callable[..., VerifyResult], trail: list[AuditEntry]
) -> None:
    extra = pending(1, start=99)[0]
    row = {**_row(extra), "sequence": 11, "hash": entry_hash(11, extra)}
    _bad(tampered(lambda conn: _insert(conn, row)), 11, "entry 11 is covered by no batch")


def test_an_entry_inserted_in_the_middle(
    tampered: Callable[..., VerifyResult], trail: list[AuditEntry]
) -> None:
    extra = pending(1, start=99)[0]

    def insert(conn: sa.Connection) -> None:
        for sequence in range(10, 5, -1):
            _renumber(conn, sequence, sequence + 1)
        _insert(conn, {**_row(extra), "sequence": 6, "hash": entry_hash(6, extra)})

    result = tampered(insert)
    assert not result.ok
    assert result.first_bad in (6, 7), result  # the entry after it no longer fits


def test_an_entry_inserted_before_the_first(tampered: Callable[..., VerifyResult]) -> None:
    extra = pending(1, start=99)[0]
    row = {**_row(extra), "sequence": 0, "hash": entry_hash(1, extra)}
    _bad(tampered(lambda conn: _insert(conn, row)), 0, "entry 0 is out of place")


@pytest.mark.parametrize(("a", "b"), [(6, 7), (3, 9)])
def test_reordered_entries(tampered: Callable[..., VerifyResult], a: int, b: int) -> None:
    def swap(conn: sa.Connection) -> None:
        _renumber(conn, a, -1)
        _renumber(conn, b, a)
        _renumber(conn, -1, b)

    _bad(tampered(swap), a, f"entry {a} was changed")


def test_a_changed_batch_digest(tampered: Callable[..., VerifyResult]) -> None:
    change = batches.update().where(batches.c.first_sequence == 5).values(digest="1" * 64)
    _bad(tampered(lambda conn: conn.execute(change)), 5, "the batch digest does not match")


def test_a_head_moved_past_the_end(tampered: Callable[..., VerifyResult]) -> None:
    change = head.update().values(last_sequence=12)
    _bad(tampered(lambda conn: conn.execute(change)), 11, "entries 11..12 are missing")


def test_a_head_with_another_digest(tampered: Callable[..., VerifyResult]) -> None:
    change = head.update().values(digest="2" * 64)
    _bad(tampered(lambda conn: conn.execute(change)), 10, "does not end where its head says")


def test_a_dropped_table(engine: sa.Engine, trail: list[AuditEntry]) -> None:
    batches.drop(engine)
    with engine.connect() as conn:
        _bad(verify(conn), 1, "the table keepfor_audit_batch is missing")


def test_an_empty_trail_and_no_trail(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn, pytest.raises(SourceError, match="no audit trail"):
            verify(conn)
        with engine.begin() as conn:
            ensure(conn)
        with engine.connect() as conn:
            assert verify(conn) == VerifyResult(0, "0" * 64)
    finally:
        engine.dispose()


def test_export_reads_a_period(engine: sa.Engine, trail: list[AuditEntry]) -> None:
    with engine.connect() as conn:
        everything = list(export(conn, chunk=3))
        middle = list(export(conn, AT + timedelta(seconds=1), AT + timedelta(seconds=3)))
        assert list(export(conn, source="customers")) == []
    assert everything == trail
    assert [e.sequence for e in middle] == [2, 3, 6, 7, 9, 10]  # each batch starts at AT


def test_a_period_s_bounds_hold_for_an_entry_on_a_whole_second(engine: sa.Engine) -> None:
    """An entry written at midnight exactly is in the day that starts then, not in the
    one before (on SQLite its time is stored as the bounds are compared: with its zero
    fraction of a second)."""
    midnight = datetime(2026, 11, 22, tzinfo=UTC)
    with engine.begin() as conn:
        written = append(conn, pending(2, at=midnight))
    with engine.connect() as conn:
        day = list(export(conn, midnight, midnight + timedelta(days=1)))
        before = list(export(conn, midnight - timedelta(days=1), midnight))
        assert verify(conn).ok
    assert day == written
    assert before == []


def _row(entry: object) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}  # type: ignore[attr-defined]


def _insert(conn: sa.Connection, row: dict[str, Any]) -> None:
    conn.execute(audit.insert().values(**{**row, "time": db_time(row["time"], conn.dialect)}))


_COLUMNS = ["time", "hash", "sequence", *LIMITS]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sequence=st.integers(1, sum(SIZES)),
    column=st.sampled_from(_COLUMNS),
    text=st.text(st.sampled_from("abcdef0123456789XYZ -"), min_size=1, max_size=40),
    shift=st.integers(-(10**9), 10**9).filter(bool),
)
def test_any_single_field_tamper_is_found_at_its_entry(
    tampered: Callable[..., VerifyResult],
    trail: list[AuditEntry],
    sequence: int,
    column: str,
    text: str,
    shift: int,
) -> None:
    old = trail[sequence - 1]
    value: Any
    if column == "time":
        value = old.time + timedelta(microseconds=shift)
    elif column == "sequence":
        value = sequence + 1000
    elif column == "hash":
        value = (text * 64)[:64]
    else:
        value = text[: LIMITS[column]]
    if value == getattr(old, column):
        return
    result = tampered(lambda conn: _set(conn, sequence, **{column: value}))
    assert not result.ok
    assert result.first_bad == sequence, (column, value, result)


@pytest.mark.parametrize(
    "made",
    [
        ("keepfor_audit",),
        ("keepfor_audit", "keepfor_audit_batch"),
        ("keepfor_audit", "keepfor_audit_batch", "keepfor_audit_head"),  # its row not yet
        ("keepfor_audit_head",),
    ],
)
def test_a_trail_whose_tables_were_being_made_is_empty(db_url: str, made: tuple[str]) -> None:
    """A sweep that died while making the trail's tables (MariaDB commits each CREATE
    TABLE on its own) left some without the others, holding nothing: an empty trail,
    intact, which the next ``ensure`` completes."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for table in (audit, batches, head):
                if table.name in made:
                    table.create(conn)
        with engine.connect() as conn:
            assert verify(conn) == VerifyResult(0, "0" * 64)
        with engine.begin() as conn:
            ensure(conn)
        with engine.connect() as conn:
            assert verify(conn) == VerifyResult(0, "0" * 64)
    finally:
        engine.dispose()


@pytest.mark.parametrize("written", ["entry", "batch", "head"])
def test_a_missing_table_beside_anything_written_is_a_fault(db_url: str, written: str) -> None:
    """Where an entry, a batch or a moved head is there, a missing table was removed."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            ensure(conn)
        appended(engine, 1)
        kept = {"entry": audit, "batch": batches, "head": head}[written]
        with engine.begin() as conn:
            for table in (audit, batches, head):
                if table is not kept:
                    table.drop(conn)
        with engine.connect() as conn:
            result = verify(conn)
        assert (result.ok, result.first_bad) == (False, 1)
        assert result.problem is not None
        assert result.problem.startswith("the table keepfor_audit")
    finally:
        engine.dispose()
