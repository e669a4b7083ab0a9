"""What the order of a purge's keys costs: the due records of the benchmark tables
deleted in batches of keys (one transaction each, the hand-written predicate as the
re-check, as keepfor's batches re-check), the keys in the order a sweep would read them
(each rule's together, groups all over the table), each rule's sorted, in keepfor's
rounds (all rules' keys merged into one key order, a transaction per batch's size of
keys, each rule's keys among them a statement), or all sorted in one statement per
batch whatever their rule, against the bare ``DELETE``.

Each method runs on a fresh copy of the table: SQLite ``bench/out/bench_<size>.db``
copied; PostgreSQL ``keepfor_bench.records_<size>`` copied to ``delete_order_copy``
(primary key, ``VACUUM (FREEZE, ANALYZE)``, ``CHECKPOINT``; dropped after). Whole
statements timed with ``time.perf_counter``; every method deletes the same rows
(checked); the cost per row is (t(4M) - t(1M)) / 3M of the fastest of ``--repeat``.
Figures in docs/benchmarks.md.

    .venv/bin/python bench/delete_order.py [--db sqlite|postgresql] [--sizes 1m 4m] [--repeat 2]
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
from typing import Any

import psycopg

OUT = Path(__file__).parent / "out"
PG_URL = "postgresql://postgres@127.0.0.1:5432/keepfor_bench"
RULES = {  # bench/handwritten/sweep_*.sql's predicate, one term per rule
    "sqlite": {
        "order": "category = 'order' AND placed_at <= '2020-03-31'",
        "enquiry": "category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000'",
        "quote": "category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21'",
        "cv": "category = 'cv' AND received_at <= '2026-05-21'",
    },
    "postgresql": {
        "order": "category = 'order' AND placed_at <= '2020-03-31'",
        "enquiry": "category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00+00'",
        "quote": "category = 'quote' AND NOT accepted AND quoted_at <= '2025-11-21'",
        "cv": "category = 'cv' AND received_at <= '2026-05-21'",
    },
}

Batches = list[list[list[int]]]  # transactions, each of statements, each of keys
Method = Callable[[Any, str], int]  # (connection, table) -> rows deleted


def _where(db: str) -> str:
    return " OR ".join(f"({term})" for term in RULES[db].values())


def _rule_keys(conn: Any, db: str, table: str) -> list[list[int]]:
    """Each rule's due keys, shuffled (a sweep reads them by group, all over the table)."""
    rng = random.Random(1)
    out = []
    for term in RULES[db].values():
        found = [row[0] for row in conn.execute(f"SELECT id FROM {table} WHERE {term}")]
        rng.shuffle(found)
        out.append(found)
    return out


def _orders(rules: list[list[int]], size: int) -> dict[str, Batches]:
    def cut(keys: list[int]) -> Batches:
        return [[keys[i : i + size]] for i in range(0, len(keys), size)]

    every = sorted((k, i) for i, keys in enumerate(rules) for k in keys)
    rounds: Batches = []  # keepfor's: every `size` keys merged, each rule's a statement
    for start in range(0, len(every), size):
        parts: dict[int, list[int]] = {}
        for key, i in every[start : start + size]:
            parts.setdefault(i, []).append(key)
        rounds.append(list(parts.values()))
    return {
        f"each rule's keys as read, {size:,} a transaction": [b for k in rules for b in cut(k)],
        f"each rule's keys sorted, {size:,} a transaction": [
            b for k in rules for b in cut(sorted(k))
        ],
        f"rounds: all rules' merged, {size:,} a transaction, a statement per rule": rounds,
        f"every key sorted, {size:,} a statement (rules mixed)": cut([k for k, _ in every]),
    }


def _sqlite_batches(batches: Batches) -> Method:
    def delete(conn: sqlite3.Connection, table: str) -> int:
        done = 0
        for statements in batches:
            conn.execute("BEGIN")
            for keys in statements:
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS k (k)")
                conn.execute("DELETE FROM temp.k")
                conn.executemany("INSERT INTO temp.k VALUES (?)", [(k,) for k in keys])
                where = f"id IN (SELECT k FROM temp.k) AND ({_where('sqlite')})"
                done += conn.execute(f"DELETE FROM {table} WHERE {where}").rowcount
            conn.execute("COMMIT")
        return done

    return delete


def _pg_batches(batches: Batches) -> Method:
    def delete(conn: psycopg.Connection, table: str) -> int:
        done = 0
        for statements in batches:
            with conn.transaction():
                for keys in statements:
                    sql = f"DELETE FROM {table} WHERE id = ANY(%s) AND ({_where('postgresql')})"
                    done += conn.execute(sql, (keys,)).rowcount
        return done

    return delete


def _bare(db: str) -> Method:
    def delete(conn: Any, table: str) -> int:
        if db == "sqlite":
            conn.execute("BEGIN")
        done = conn.execute(f"DELETE FROM {table} WHERE {_where(db)}").rowcount
        if db == "sqlite":
            conn.execute("COMMIT")
        return int(done)

    return delete


def _time_sqlite(size: str, method: Method) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copy(OUT / f"bench_{size}.db", copy)
        conn = sqlite3.connect(copy, isolation_level=None)
        start = time.perf_counter()
        done = method(conn, "records")
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed, done


def _time_pg(size: str, method: Method) -> tuple[float, int]:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS delete_order_copy")
        conn.execute("SET max_parallel_workers_per_gather = 0")  # keep the id order
        conn.execute(f"CREATE TABLE delete_order_copy AS SELECT * FROM records_{size}")
        conn.execute("RESET max_parallel_workers_per_gather")
        conn.execute("ALTER TABLE delete_order_copy ADD PRIMARY KEY (id)")
        conn.execute("VACUUM (FREEZE, ANALYZE) delete_order_copy")
        conn.execute("CHECKPOINT")
        try:
            start = time.perf_counter()
            done = method(conn, "delete_order_copy")
            return time.perf_counter() - start, done
        finally:
            conn.execute("DROP TABLE IF EXISTS delete_order_copy")


def _keys(db: str, size: str) -> list[list[int]]:
    if db == "sqlite":
        with sqlite3.connect(OUT / f"bench_{size}.db") as conn:
            return _rule_keys(conn, db, "records")
    with psycopg.connect(PG_URL) as conn:
        return _rule_keys(conn, db, f"records_{size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", nargs="+", default=["1m", "4m"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    size = args.batch_size or (10_000 if args.db == "sqlite" else 50_000)
    sqlite = args.db == "sqlite"
    timed, wrap = (_time_sqlite, _sqlite_batches) if sqlite else (_time_pg, _pg_batches)
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):
        for rows in args.sizes:
            methods = {"the bare DELETE": _bare(args.db)}
            for name, batches in _orders(_keys(args.db, rows), size).items():
                methods[name] = wrap(batches)
            counts = set()
            for name, method in methods.items():
                elapsed, done = timed(rows, method)
                counts.add(done)
                key = (name, rows)
                best[key] = min(best.get(key, elapsed), elapsed)
                print(f"{args.db} | {rows} | {name} | {elapsed:.2f} s | {done} rows", flush=True)
            assert len(counts) == 1, f"the methods deleted different counts: {counts}"
    if args.sizes == ["1m", "4m"]:
        print(f"\n| {args.db}: keys of a batch | 1M s | 4M s | µs per row | vs the bare DELETE |")
        print("| --- | ---: | ---: | ---: | ---: |")
        bare = (best[("the bare DELETE", "4m")] - best[("the bare DELETE", "1m")]) / 3
        for name in methods:
            one, four = best[(name, "1m")], best[(name, "4m")]
            per = (four - one) / 3
            print(f"| {name} | {one:.2f} | {four:.2f} | {per:.3f} | {per / bare:.1f}x |")


if __name__ == "__main__":
    main()
