"""What the order of a purge's keys costs on SQLite: the due records of the benchmark
tables deleted in batches of keys (one transaction each, the hand-written predicate as
the re-check, as keepfor's batches re-check), the keys in the order a sweep reads them
(each rule's together, groups in any order) or sorted, against the bare ``DELETE``.

Each method runs on a fresh copy of ``bench/out/bench_<size>.db`` (made by
``make_data.py``), whole statements timed with ``time.perf_counter``; every method
deletes the same rows (checked). Figures in docs/benchmarks.md.

    .venv/bin/python bench/delete_order.py [--sizes 1m 4m]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).parent / "out"
RULES = {  # bench/handwritten/sweep_sqlite.sql's predicate, one term per rule
    "order": "category = 'order' AND placed_at <= '2020-03-31'",
    "enquiry": "category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000'",
    "quote": "category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21'",
    "cv": "category = 'cv' AND received_at <= '2026-05-21'",
}
WHERE = " OR ".join(f"({term})" for term in RULES.values())

Method = Callable[[sqlite3.Connection], int]


def _rule_keys(db: Path, *, sort: bool) -> list[int]:
    """The due keys, each rule's together; within a rule sorted, or shuffled (a sweep
    reads them by group, whose keys lie all over the table)."""
    conn = sqlite3.connect(db)
    keys: list[int] = []
    rng = random.Random(1)
    for term in RULES.values():
        found = [row[0] for row in conn.execute(f"SELECT id FROM records WHERE {term}")]
        if sort:
            found.sort()
        else:
            rng.shuffle(found)
        keys += found
    conn.close()
    return keys


def _batches(keys: list[int], size: int) -> Method:
    def delete(conn: sqlite3.Connection) -> int:
        done = 0
        for i in range(0, len(keys), size):
            batch = keys[i : i + size]
            conn.execute("BEGIN")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS k (k)")
            conn.execute("DELETE FROM temp.k")
            conn.executemany("INSERT INTO temp.k VALUES (?)", [(k,) for k in batch])
            sql = f"DELETE FROM records WHERE id IN (SELECT k FROM temp.k) AND ({WHERE})"
            done += conn.execute(sql).rowcount
            conn.execute("COMMIT")
        return done

    return delete


def _bare(conn: sqlite3.Connection) -> int:
    conn.execute("BEGIN")
    done = conn.execute(f"DELETE FROM records WHERE {WHERE}").rowcount
    conn.execute("COMMIT")
    return done


def _time(source: Path, method: Method) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copy(source, copy)
        conn = sqlite3.connect(copy, isolation_level=None)
        start = time.perf_counter()
        done = method(conn)
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1m", "4m"])
    args = parser.parse_args()
    for size in args.sizes:
        db = OUT / f"bench_{size}.db"
        read, ordered = _rule_keys(db, sort=False), _rule_keys(db, sort=True)
        methods: list[tuple[str, Method]] = [("the bare DELETE", _bare)]
        methods += [("every key sorted, 10,000", _batches(sorted(read), 10_000))]
        for n in (10_000, 50_000, 100_000):
            methods.append((f"each rule's keys as read, {n:,}", _batches(read, n)))
        for n in (10_000, 50_000):
            methods.append((f"each rule's keys sorted, {n:,}", _batches(ordered, n)))
        counts = set()
        for name, method in methods:
            elapsed, done = _time(db, method)
            counts.add(done)
            print(f"{size} | {name} | {elapsed:.2f} s | {done} rows")
        assert len(counts) == 1, f"the methods deleted different counts: {counts}"


if __name__ == "__main__":
    main()
