"""Create the benchmark tables: one table of records in four categories, in steady state.

"Steady state": earlier sweeps have already disposed of what was due then, so a table
holds what is still within its retention window plus what has fallen due since the last
sweep. For each category the event dates are spread uniformly over the retention window
(from the latest due event date up to the benchmark instant) and a little before it, so
that about a tenth of the table is due at the benchmark instant, 2026-11-22. The
fraction is checked with a count query and printed.

    .venv/bin/python bench/make_data.py                       # 1M and 4M, SQLite and PostgreSQL
    .venv/bin/python bench/make_data.py --sizes 1000000 --db sqlite

SQLite: one file per size, bench/out/bench_<size>.db, table ``records``.
PostgreSQL: database ``keepfor_bench`` (created if missing, and then remembered in
bench/out/pg_created so that ``run.py --drop`` drops only a database made here),
tables ``records_<size>``. Both also get an empty table (size 0) to measure start-up.

Rows are the same on both databases (fixed seed), so every method's output can be
compared across databases too.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "keepfor_bench"
PG_CREATED = OUT / "pg_created"
SEED = 20261122
NULL = "\\N"  # COPY text format
AT = date(2026, 11, 22)
DUE_SHARE = 0.11  # of each category's dated, matching records; about 10% of all rows end due

# category, share of rows
CATEGORIES = (("order", 0.40), ("enquiry", 0.25), ("quote", 0.20), ("cv", 0.15))
UNRESOLVED = 0.08  # enquiries not resolved yet: waiting, never due
ACCEPTED = 0.30  # accepted quotes: no rule applies, never due

# The latest due event date per category at 2026-11-22 (see pack.yaml and
# handwritten/*.sql for the derivation), and the last event date in the table.
CUTOFF = {
    "order": date(2020, 3, 31),
    "enquiry": date(2025, 11, 21),
    "quote": date(2025, 11, 21),
    "cv": date(2026, 5, 21),
}
LAST = date(2026, 11, 21)

COLUMNS = ("id", "category", "placed_at", "resolved_at", "quoted_at", "accepted", "received_at")
FIELD = {"order": "placed_at", "enquiry": "resolved_at", "quote": "quoted_at", "cv": "received_at"}

PG_SCHEMA = """
CREATE TABLE {t} (
    id          bigint PRIMARY KEY,
    category    text NOT NULL,
    placed_at   date,
    resolved_at timestamptz,
    quoted_at   date,
    accepted    boolean,
    received_at date
)"""

SQLITE_SCHEMA = """
CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    category    TEXT NOT NULL,
    placed_at   DATE,
    resolved_at DATETIME,
    quoted_at   DATE,
    accepted    BOOLEAN,
    received_at DATE
)"""

# The due condition, written by hand (the same as handwritten/*.sql), for the check.
DUE_WHERE = {
    "sqlite": (
        "(category = 'order' AND placed_at <= '2020-03-31')"
        " OR (category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000')"
        " OR (category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21')"
        " OR (category = 'cv' AND received_at <= '2026-05-21')"
    ),
    "postgresql": (
        "(category = 'order' AND placed_at <= '2020-03-31')"
        " OR (category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00+00')"
        " OR (category = 'quote' AND NOT accepted AND quoted_at <= '2025-11-21')"
        " OR (category = 'cv' AND received_at <= '2026-05-21')"
    ),
}


def label(size: int) -> str:
    if size == 0:
        return "empty"
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def sqlite_path(size: int) -> Path:
    return OUT / f"bench_{label(size)}.db"


def pg_table(size: int) -> str:
    return f"records_{label(size)}"


def pg_url(database: str = PG_DB, driver: bool = True) -> str:
    scheme = "postgresql+psycopg" if driver else "postgresql"
    return f"{scheme}://postgres@127.0.0.1:5432/{database}"


def rows(size: int):
    """(id, category, placed_at, resolved_at, quoted_at, accepted, received_at) as text or None.

    Dates are ISO text; ``resolved_at`` is 'YYYY-MM-DD HH:MM:SS' in UTC (to which each
    writer adds what its database needs); ``accepted`` is True/False/None.
    """
    rng = random.Random(SEED)
    spans = {}
    for category, cutoff in CUTOFF.items():
        window = (LAST - cutoff).days  # not due: (cutoff, LAST]
        before = round(window * DUE_SHARE / (1 - DUE_SHARE))  # due: (cutoff - before, cutoff]
        first = cutoff - timedelta(days=before - 1)
        spans[category] = [(first + timedelta(days=i)).isoformat() for i in range(before + window)]
    clock = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
    names = [c for c, _ in CATEGORIES]
    weights = [w for _, w in CATEGORIES]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    random_ = rng.random
    choice_days = {c: (spans[c], len(spans[c])) for c in names}
    for key in range(1, size + 1):
        r = random_()
        category = names[-1]
        for name, bound in zip(names, cumulative, strict=True):
            if r < bound:
                category = name
                break
        days, n = choice_days[category]
        day = days[int(random_() * n)]
        if category == "order":
            yield (key, category, day, None, None, None, None)
        elif category == "enquiry":
            if random_() < UNRESOLVED:
                yield (key, category, None, None, None, None, None)
            else:
                yield (
                    key,
                    category,
                    None,
                    f"{day} {clock[int(random_() * 86400)]}",
                    None,
                    None,
                    None,
                )
        elif category == "quote":
            yield (key, category, None, None, day, random_() < ACCEPTED, None)
        else:
            yield (key, category, None, None, None, None, day)


# -- SQLite ----------------------------------------------------------------------------


def make_sqlite(size: int) -> None:
    path = sqlite_path(size)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(SQLITE_SCHEMA)
    conn.execute("BEGIN")
    batch: list[tuple] = []
    insert = f"INSERT INTO records VALUES ({', '.join('?' * len(COLUMNS))})"
    for key, category, placed, resolved, quoted, accepted, received in rows(size):
        # SQLAlchemy's own DATETIME text form on SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff'
        batch.append(
            (
                key,
                category,
                placed,
                None if resolved is None else resolved + ".000000",
                quoted,
                None if accepted is None else int(accepted),
                received,
            )
        )
        if len(batch) == 100_000:
            conn.executemany(insert, batch)
            batch.clear()
    if batch:
        conn.executemany(insert, batch)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    if size:
        due = conn.execute(f"SELECT count(*) FROM records WHERE {DUE_WHERE['sqlite']}").fetchone()[
            0
        ]
        by = conn.execute("SELECT category, count(*) FROM records GROUP BY 1 ORDER BY 1").fetchall()
        report("sqlite", str(path), size, due, by)
    conn.close()


# -- PostgreSQL ------------------------------------------------------------------------


def ensure_pg_database() -> None:
    with psycopg.connect(pg_url("postgres", driver=False), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{PG_DB}"')
            PG_CREATED.write_text(f"{PG_DB}\n")
            print(f"postgresql: created database {PG_DB}", file=sys.stderr)


def make_pg(size: int) -> None:
    table = pg_table(size)
    with psycopg.connect(pg_url(driver=False), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(PG_SCHEMA.format(t=table))
        statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
            lines: list[str] = []
            for key, category, placed, resolved, quoted, accepted, received in rows(size):
                fields = (
                    str(key),
                    category,
                    placed or NULL,
                    NULL if resolved is None else resolved + "+00",
                    quoted or NULL,
                    NULL if accepted is None else ("t" if accepted else "f"),
                    received or NULL,
                )
                lines.append("\t".join(fields) + "\n")
                if len(lines) == 100_000:
                    copy.write("".join(lines))
                    lines.clear()
            if lines:
                copy.write("".join(lines))
        # steady state: a vacuumed, analysed table (no hint-bit writes during the runs)
        conn.execute(f"VACUUM (FREEZE, ANALYZE) {table}")
        if size:
            due = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {DUE_WHERE['postgresql']}"
            ).fetchone()[0]
            by = conn.execute(
                f"SELECT category, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
            ).fetchall()
            report("postgresql", f"{PG_DB}.{table}", size, due, by)


def report(db: str, where: str, size: int, due: int, by: list[tuple]) -> None:
    mix = ", ".join(f"{c} {n}" for c, n in by)
    print(f"{db}: {where}: {size} rows ({mix}); due at {AT}: {due} = {due / size:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    sizes = [0, *args.sizes]
    if args.db in ("postgresql", "both"):
        ensure_pg_database()
    for size in sizes:
        if args.db in ("sqlite", "both"):
            start = time.perf_counter()
            make_sqlite(size)
            print(f"  sqlite {label(size)}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if args.db in ("postgresql", "both"):
            start = time.perf_counter()
            make_pg(size)
            print(
                f"  postgresql {label(size)}: {time.perf_counter() - start:.1f} s", file=sys.stderr
            )


if __name__ == "__main__":
    main()
