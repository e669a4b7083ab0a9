"""Appending: numbering, hashes, digests, transactions, concurrent appenders."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from keepfor.audit import append, append_records, batch_digest, entry_hash, export, verify
from keepfor.audit.table import GENESIS, audit, batches, head
from tests.audit.conftest import appended, pending


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_appended_entries_verify_and_read_back_exactly(engine: sa.Engine) -> None:
    done = appended(engine, 3, 2)
    assert [e.sequence for e in done] == [1, 2, 3, 4, 5]
    assert all(e.hash == entry_hash(e.sequence, e) for e in done)
    with engine.connect() as conn:
        result = verify(conn)
        assert list(export(conn)) == done
    assert result.ok, result
    assert result.entries == 5


def test_two_transactions_chain_their_batches(engine: sa.Engine) -> None:
    done = appended(engine, 3, 2)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(batches).order_by(batches.c.first_sequence)).all()
        top = conn.execute(sa.select(head)).one()
    first = batch_digest(GENESIS, 1, 3, [e.hash for e in done[:3]])
    second = batch_digest(first, 4, 5, [e.hash for e in done[3:]])
    assert [(r.first_sequence, r.last_sequence, r.previous, r.digest) for r in rows] == [
        (1, 3, GENESIS, first),
        (4, 5, first, second),
    ]
    assert (top.last_sequence, top.digest) == (5, second)


def test_a_rolled_back_transaction_leaves_no_entry(engine: sa.Engine) -> None:
    appended(engine, 2)
    with engine.connect() as conn:
        transaction = conn.begin()
        append(conn, pending(4, start=2))
        assert _count(conn, audit) == 6
        transaction.rollback()
        assert (_count(conn, audit), _count(conn, batches)) == (2, 1)
        assert conn.execute(sa.select(head.c.last_sequence)).scalar_one() == 2
    more = appended(engine, 1)
    assert more[0].sequence == 3
    with engine.connect() as conn:
        assert verify(conn).ok


def test_nothing_to_append_writes_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        assert append(conn, []) == []
        assert append_records(conn, pending(1)[0], []).count == 0
        assert (_count(conn, audit), _count(conn, batches)) == (0, 0)


def test_append_records_writes_what_append_writes(engine: sa.Engine) -> None:
    entries = pending(5)
    same_time = [e.__class__(**{**_fields(e), "time": entries[0].time}) for e in entries]
    with engine.begin() as conn:
        result = append_records(conn, same_time[0], [e.record for e in same_time])
    with engine.connect() as conn:
        read = list(export(conn))
        assert verify(conn).ok
    assert (result.first, result.last, result.count) == (1, 5, 5)
    assert [e.hash for e in read] == [entry_hash(i, e) for i, e in enumerate(same_time, 1)]
    assert result.digest == batch_digest(GENESIS, 1, 5, [e.hash for e in read])


def _fields(entry: object) -> dict[str, object]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}  # type: ignore[attr-defined]


def test_a_missing_head_row_is_made_again_on_an_empty_trail(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(head.delete())
    appended(engine, 2)
    with engine.connect() as conn:
        assert verify(conn).ok


def test_concurrent_appenders_wait_for_each_other(engine: sa.Engine) -> None:
    errors: list[BaseException] = []

    def sweep(number: int) -> None:
        try:
            for batch in range(4):
                with engine.begin() as conn:
                    append(conn, pending(25, start=100 * number + batch, batch=f"t{number}"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        result = verify(conn)
        assert [e.sequence for e in export(conn)] == list(range(1, 301))
    assert result.ok, result
    assert result.entries == 300
