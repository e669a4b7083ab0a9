"""The sweep benchmark: `keepfor sweep --apply` purging the due records, audit included,
against a bare hand-written DELETE of the same rows, as whole processes.

    .venv/bin/python bench/make_data.py          # once: the tables (see that file)
    .venv/bin/python bench/sweep.py              # 1M and 4M, SQLite and PostgreSQL, 3 runs
    .venv/bin/python bench/sweep.py --repeat 5 --db postgresql --keepfor-src /tmp/kfsnap
    .venv/bin/python bench/sweep.py --drop-only  # drop keepfor_sweep (if made here)

The pack is ``sweep_pack.yaml`` (``pack.yaml`` with every rule purging), so the due set
at 2026-11-22 (101,251 rows at 1M, 403,982 at 4M) is what both methods delete.

Every run starts from a fresh copy of the table, made before the clock starts:

* SQLite: ``bench/out/bench_<size>.db`` copied to ``bench/out/sweep-run.db`` (deleted
  after the run);
* PostgreSQL: a database of its own, ``keepfor_sweep`` (created here and remembered in
  ``bench/out/sweep_pg_created``; ``keepfor_bench`` is only read), holding each size's
  rows once as ``source_<size>`` (copied from ``keepfor_bench.records_<size>``); per run
  ``CREATE TABLE sweep_<size> AS SELECT * FROM source_<size>``, its primary key,
  ``VACUUM (FREEZE, ANALYZE)`` and a ``CHECKPOINT``, and keepfor's own tables dropped,
  so each sweep is the first one; the copy is dropped after the run.

The two methods, each one process under ``/usr/bin/time`` (peak RSS, CPU), with
``time.perf_counter`` around it (wall):

* **keepfor**: ``keepfor sweep --rules bench/sweep_pack.yaml --db URL --table T
  --at 2026-11-22 --apply --format json`` with ``KEEPFOR_AUDIT_KEY`` set (default batch
  size, unless ``--batch-size``);
* **delete**: ``handwritten/sweep_sqlite.sql`` through ``sqlite3``,
  ``handwritten/sweep_postgresql.sql`` through ``psql``: one DELETE, no audit.

After every run (outside the clock) the remaining rows are checked: their count and the
sum of their ids must be the table's less the due rows', the same for both methods. After
a keepfor run its JSON must say every due row was purged (none skipped or failed), and
``keepfor_audit`` must hold exactly one ``purge`` entry per deleted row: as many entries
as due rows, and their records exactly the keyed pseudonyms of the due ids. With
``--verify`` (default on the first repeat) ``keepfor audit verify`` runs too.

Repeats are interleaved (keepfor, delete, keepfor, delete, ...); medians are reported,
and cost per row = (t(4M) - t(1M)) / 3M from them, as in run.py; bench/out/sweep.md and
sweep.json hold the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_data import (  # noqa: E402
    DUE_WHERE,
    OUT,
    label,
    pg_table,
    pg_url,
    sqlite_path,
)

VENV = ROOT / ".venv" / "bin"
KEEPFOR = str(VENV / "keepfor")
PYTHON = str(VENV / "python")
PACK = str(HERE / "sweep_pack.yaml")
AT = "2026-11-22"
DATABASES = ("sqlite", "postgresql")
METHODS = ("keepfor", "delete")
AUDIT_KEY = "sweep-benchmark-audit-key-0123456789abcdef"
"""KEEPFOR_AUDIT_KEY of the runs (a benchmark's, not a secret)."""
SWEEP_DB = "keepfor_sweep"
SWEEP_CREATED = OUT / "sweep_pg_created"
RUN_DB = OUT / "sweep-run.db"
KEEPFOR_TABLES = (
    "keepfor_audit",
    "keepfor_audit_batch",
    "keepfor_audit_head",
    "keepfor_acted",
    "keepfor_review",
)
KEEPFOR_SRC: str | None = None
BATCH_SIZE: int | None = None


@dataclass
class Run:
    db: str
    size: int
    method: str
    wall: float
    user: float
    sys: float
    rss_kb: int
    load: float
    remaining: int
    checks: str


@dataclass(frozen=True)
class Expected:
    """What a correct purge leaves, and the due ids (for the audit's pseudonyms)."""

    total: int
    due: tuple[int, ...]
    remaining: int
    remaining_sum: int


# -- the copies ------------------------------------------------------------------------


def sweep_url(driver: bool = True) -> str:
    return pg_url(SWEEP_DB, driver=driver)


def run_table(db: str, size: int) -> str:
    return "records" if db == "sqlite" else f"sweep_{label(size)}"


def pg_setup(sizes: list[int]) -> None:
    """keepfor_sweep with ``source_<size>`` copied from keepfor_bench (once)."""
    with psycopg.connect(pg_url("postgres", driver=False), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SWEEP_DB,))
        if exists.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{SWEEP_DB}"')
            SWEEP_CREATED.write_text(f"{SWEEP_DB}\n")
            print(f"postgresql: created database {SWEEP_DB}", flush=True)
        elif not SWEEP_CREATED.exists():
            sys.exit(f"database {SWEEP_DB} exists and was not made by sweep.py: not touching it")
    with (
        psycopg.connect(pg_url(driver=False), autocommit=True) as bench,
        psycopg.connect(sweep_url(driver=False), autocommit=True) as mine,
    ):
        for size in sizes:
            source = f"source_{label(size)}"
            found = mine.execute("SELECT to_regclass(%s)", (source,)).fetchone()
            if found and found[0] is not None:
                continue
            start = time.perf_counter()
            mine.execute(  # make_data.py's schema
                f"CREATE TABLE {source} (id bigint PRIMARY KEY, category text NOT NULL, "
                "placed_at date, resolved_at timestamptz, quoted_at date, accepted boolean, "
                "received_at date)"
            )
            columns = "id, category, placed_at, resolved_at, quoted_at, accepted, received_at"
            with (
                bench.cursor().copy(
                    f"COPY (SELECT {columns} FROM {pg_table(size)} ORDER BY id) "
                    "TO STDOUT (FORMAT binary)"
                ) as out,
                mine.cursor().copy(f"COPY {source} ({columns}) FROM STDIN (FORMAT binary)") as into,
            ):
                for block in out:
                    into.write(block)
            mine.execute(f"VACUUM (FREEZE, ANALYZE) {source}")
            print(f"postgresql: {source} copied ({time.perf_counter() - start:.1f} s)", flush=True)


def prepare(db: str, size: int) -> None:
    """A fresh copy of the size's table (and no keepfor tables) for the next run."""
    if db == "sqlite":
        cleanup(db, size)
        shutil.copyfile(sqlite_path(size), RUN_DB)
        return
    table = run_table(db, size)
    with psycopg.connect(sweep_url(driver=False), autocommit=True) as conn:
        for name in (table, *KEEPFOR_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute("SET max_parallel_workers_per_gather = 0")  # keep the id order
        conn.execute(f"CREATE TABLE {table} AS SELECT * FROM source_{label(size)}")
        conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        conn.execute(f"VACUUM (FREEZE, ANALYZE) {table}")
        conn.execute("CHECKPOINT")


def cleanup(db: str, size: int) -> None:
    """Drop what prepare and a run made (only in the database made here)."""
    if db == "sqlite":
        for path in (RUN_DB, RUN_DB.with_name(RUN_DB.name + "-journal")):
            path.unlink(missing_ok=True)
        return
    with psycopg.connect(sweep_url(driver=False), autocommit=True) as conn:
        for name in (run_table(db, size), *KEEPFOR_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {name}")


def drop() -> None:
    """Drop keepfor_sweep, only if this script created it."""
    if not SWEEP_CREATED.exists():
        print(f"{SWEEP_DB} was not created by sweep.py: left alone")
        return
    with psycopg.connect(pg_url("postgres", driver=False), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SWEEP_DB}"')
    SWEEP_CREATED.unlink()
    print(f"dropped database {SWEEP_DB}")


# -- the runs --------------------------------------------------------------------------


def url_of(db: str) -> str:
    return f"sqlite:///{RUN_DB}" if db == "sqlite" else sweep_url()


def command(db: str, size: int, method: str) -> tuple[list[str], dict[str, str], Path | None]:
    """(argv, extra environment, file fed on stdin)."""
    if method == "keepfor":
        argv = [KEEPFOR, "sweep", "--rules", PACK, "--db", url_of(db)]
        argv += ["--table", run_table(db, size), "--at", AT, "--apply", "--format", "json"]
        if BATCH_SIZE:
            argv += ["--batch-size", str(BATCH_SIZE)]
        env = {"KEEPFOR_AUDIT_KEY": AUDIT_KEY}
        if KEEPFOR_SRC:
            env["PYTHONPATH"] = KEEPFOR_SRC
        return argv, env, None
    if db == "sqlite":
        return ["sqlite3", "-batch", str(RUN_DB)], {}, HERE / "handwritten" / "sweep_sqlite.sql"
    sql = str(HERE / "handwritten" / "sweep_postgresql.sql")
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"table={run_table(db, size)}"]
    return [*argv, "-f", sql, sweep_url(driver=False)], {}, None


def measure(db: str, size: int, method: str, index: int, expected: Expected, verify: bool) -> Run:
    prepare(db, size)
    argv, env, stdin = command(db, size, method)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        wrapped = ["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name, *argv]
        load = os.getloadavg()[0]
        with stdin.open("rb") if stdin else open(os.devnull, "rb") as feed:
            start = time.perf_counter()
            done = subprocess.run(
                wrapped, stdin=feed, capture_output=True, env={**os.environ, **env}
            )
            wall = time.perf_counter() - start
        if done.returncode != 0:
            cleanup(db, size)
            sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
        user, system, rss = timing.read().split()[-3:]
    try:
        remaining, checks = check(db, size, method, expected, done.stdout, verify)
    finally:
        cleanup(db, size)
    run = Run(db, size, method, wall, float(user), float(system), int(rss), load, remaining, checks)
    print(
        f"  {db:<10} {label(size):>3} {method:<7} #{index + 1}: {wall:7.2f} s wall, "
        f"{run.user + run.sys:6.2f} s cpu, {run.rss_kb / 1024:6.1f} MB  (load {load:.2f})  "
        f"{checks}",
        flush=True,
    )
    return run


# -- the checks ------------------------------------------------------------------------


def query(db: str, sql: str) -> list[tuple]:
    if db == "sqlite":
        import sqlite3

        with sqlite3.connect(RUN_DB) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(sweep_url(driver=False)) as conn:
        return conn.execute(sql).fetchall()


def expected_of(db: str, size: int) -> Expected:
    """The original table's due ids and what a correct purge leaves."""
    if db == "sqlite":
        import sqlite3

        with sqlite3.connect(f"file:{sqlite_path(size)}?mode=ro", uri=True) as conn:
            total, total_sum = conn.execute("SELECT count(*), sum(id) FROM records").fetchone()
            due = conn.execute(f"SELECT id FROM records WHERE {DUE_WHERE['sqlite']}").fetchall()
    else:
        with psycopg.connect(sweep_url(driver=False)) as conn:
            source = f"source_{label(size)}"
            total, total_sum = conn.execute(f"SELECT count(*), sum(id) FROM {source}").fetchone()
            due = conn.execute(
                f"SELECT id FROM {source} WHERE {DUE_WHERE['postgresql']}"
            ).fetchall()
    ids = tuple(int(r[0]) for r in due)
    return Expected(int(total), ids, int(total) - len(ids), int(total_sum) - sum(ids))


def check(
    db: str,
    size: int,
    method: str,
    expected: Expected,
    stdout: bytes,
    verify: bool,
    tally: bool = True,
) -> tuple[int, str]:
    table = run_table(db, size)
    count, total = query(db, f"SELECT count(*), sum(id) FROM {table}")[0]
    if (count, int(total)) != (expected.remaining, expected.remaining_sum):
        sys.exit(
            f"{db} {label(size)} {method}: {count} rows (id sum {total}) remain; expected "
            f"{expected.remaining} (id sum {expected.remaining_sum})"
        )
    notes = f"remaining {count} ok"
    if method != "keepfor":
        return count, notes
    if tally:
        said = json.loads(stdout)["sources"][table]
        want = {"purge": len(expected.due), "failed": 0, "skipped": 0, "anonymise": 0}
        got = {k: said.get(k) for k in want}
        if got != want:
            sys.exit(f"{db} {label(size)} keepfor: JSON says {got}, expected {want}")
    from keepfor.audit import Pseudonymiser

    rows = query(db, "SELECT record, action, outcome, source FROM keepfor_audit")
    name = Pseudonymiser(AUDIT_KEY.encode(), table)
    wanted = {name(str(key)) for key in expected.due}
    records = [r[0] for r in rows]
    bad = [r for r in rows if (r[1], r[2], r[3]) != ("purge", "done", table)]
    if len(records) != len(expected.due) or set(records) != wanted or bad:
        sys.exit(
            f"{db} {label(size)} keepfor: audit has {len(records)} entries "
            f"({len(set(records))} records, {len(set(records) & wanted)} of the due ids', "
            f"{len(bad)} not purge/done/{table}); expected one per each of "
            f"{len(expected.due)} deleted rows"
        )
    notes += f", audit {len(records)} = 1 per deleted row"
    if verify:
        done = subprocess.run(
            [KEEPFOR, "audit", "verify", "--db", url_of(db)],
            capture_output=True,
            text=True,
            env={**os.environ, "KEEPFOR_AUDIT_KEY": AUDIT_KEY},
        )
        if done.returncode != 0:
            sys.exit(f"keepfor audit verify failed:\n{done.stdout}{done.stderr}")
        notes += ", audit verify ok"
    return count, notes


# -- the figures -----------------------------------------------------------------------


def table_lines(runs: list[Run]) -> list[str]:
    lines = [
        "| database | rows | method | wall s (median) | wall s (runs) | cpu s (median) "
        "| peak RSS MB |",
        "| --- | ---: | --- | ---: | --- | ---: | ---: |",
    ]
    groups: dict[tuple[str, int, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.db, r.size, r.method), []).append(r)
    for (db, size, method), group in groups.items():
        walls = ", ".join(f"{r.wall:.2f}" for r in group)
        wall = statistics.median(r.wall for r in group)
        cpu = statistics.median(r.user + r.sys for r in group)
        rss = max(r.rss_kb for r in group) / 1024
        lines.append(
            f"| {db} | {label(size)} | {method} | {wall:.2f} | {walls} | {cpu:.2f} | {rss:.0f} |"
        )
    return lines


def derived(runs: list[Run], small: int, large: int) -> tuple[list[str], dict[str, dict]]:
    figures: dict[str, dict] = {}
    lines = [
        "| database | method | cost per row µs (wall) | cost per row µs (cpu) | fixed s (wall) "
        "| ratio to delete (wall) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for db in DATABASES:
        per: dict[str, float] = {}
        for method in METHODS:
            a = [r for r in runs if (r.db, r.size, r.method) == (db, small, method)]
            b = [r for r in runs if (r.db, r.size, r.method) == (db, large, method)]
            if not a or not b:
                continue
            ta = statistics.median(r.wall for r in a)
            tb = statistics.median(r.wall for r in b)
            ca = statistics.median(r.user + r.sys for r in a)
            cb = statistics.median(r.user + r.sys for r in b)
            per[method] = (tb - ta) / (large - small)
            figures[f"{db}/{method}"] = {
                "per_row": per[method],
                "per_row_cpu": (cb - ca) / (large - small),
                "fixed": ta - small * per[method],
            }
        for method in METHODS:
            if f"{db}/{method}" not in figures:
                continue
            f = figures[f"{db}/{method}"]
            ratio = per[method] / per["delete"] if per.get("delete") else float("nan")
            f["ratio"] = ratio
            lines.append(
                f"| {db} | {method} | {f['per_row'] * 1e6:.2f} | {f['per_row_cpu'] * 1e6:.2f} "
                f"| {f['fixed']:.2f} | {ratio:.1f}x |"
            )
    return lines, figures


def machine() -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    from run import keepfor_source
    from run import machine as base

    info = base()
    info["keepfor measured"] = keepfor_source()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000_000, 4_000_000])
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="keepfor's --batch-size (default: its own)")
    parser.add_argument(
        "--verify",
        choices=["first", "all", "none"],
        default="first",
        help="run `keepfor audit verify` after the first keepfor run of each size (default), "
        "after all, or never",
    )
    parser.add_argument("--keepfor-src", metavar="DIR", help="measure keepfor from DIR")
    parser.add_argument("--keep-db", action="store_true", help="keep keepfor_sweep afterwards")
    parser.add_argument("--drop-only", action="store_true", help="drop keepfor_sweep, then stop")
    parser.add_argument("--out", default="sweep", help="bench/out/<OUT>.md and .json")
    args = parser.parse_args()
    if args.drop_only:
        drop()
        return
    global KEEPFOR_SRC, BATCH_SIZE
    KEEPFOR_SRC = str(Path(args.keepfor_src).resolve()) if args.keepfor_src else None
    BATCH_SIZE = args.batch_size
    if KEEPFOR_SRC:
        import run

        run.KEEPFOR_SRC = KEEPFOR_SRC
    small, large = args.sizes
    databases = DATABASES if args.db == "both" else (args.db,)
    for size in (small, large):
        if not sqlite_path(size).exists() and "sqlite" in databases:
            sys.exit(f"{sqlite_path(size)} is missing: run bench/make_data.py first")
    info = machine()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"started {started}; load {os.getloadavg()}; batch size {BATCH_SIZE or 'default'}")
    runs: list[Run] = []
    try:
        if "postgresql" in databases:
            pg_setup([small, large])
        for db in databases:
            for size in (small, large):
                expected = expected_of(db, size)
                print(
                    f"{db}: {label(size)} rows, {len(expected.due)} due, "
                    f"{expected.remaining} to remain",
                    flush=True,
                )
                for i in range(args.repeat):
                    for method in METHODS:
                        verify = method == "keepfor" and (
                            args.verify == "all" or (args.verify == "first" and i == 0)
                        )
                        runs.append(measure(db, size, method, i, expected, verify))
    finally:
        if "postgresql" in databases and not args.keep_db:
            drop()
        RUN_DB.unlink(missing_ok=True)
    figure_lines, figures = derived(runs, small, large)
    lines = [
        f"Run {started} to {time.strftime('%H:%M:%S')}; load average at the end "
        f"{os.getloadavg()}; keepfor batch size {BATCH_SIZE or 'default'}",
        "",
        "Machine:",
        "",
        "```",
        *(f"{k}: {v}" for k, v in info.items()),
        "```",
        "",
        *table_lines(runs),
        "",
        *figure_lines,
        "",
        "Checks: after every run the remaining rows (count, sum of ids) were those of the "
        "table less the due rows; after every keepfor run, one audit entry per deleted row.",
        "",
    ]
    (OUT / f"{args.out}.md").write_text("\n".join(lines))
    (OUT / f"{args.out}.json").write_text(
        json.dumps(
            {"machine": info, "runs": [asdict(r) for r in runs], "derived": figures}, indent=1
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
