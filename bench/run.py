"""Run the benchmark: keepfor report vs hand-written SQL vs the naive loop, as whole processes.

    .venv/bin/python bench/make_data.py          # once: the tables (see that file)
    .venv/bin/python bench/run.py                # everything; writes bench/out/results.md
    .venv/bin/python bench/run.py --drop         # ... then drops keepfor_bench if make_data made it

Each measurement runs one whole process under ``/usr/bin/time`` (peak RSS, user and
system CPU) with ``time.perf_counter`` around ``subprocess.run`` (wall time); its
standard output goes to a file under bench/out/. Every measurement is repeated
(``--repeat``, default 3) and the median is reported; the repeats are interleaved
(round robin over the methods) so that a burst of load on the machine hits every
method alike. Then the outputs are compared: the three methods must write the same
rows (compared sorted), on both databases.

Derived figures, per method and database (t(n) is the median wall time at n rows):
  cost per row  = (t(4M) - t(1M)) / 3M
  fixed cost    = t(1M) - 1M * cost per row   (the intercept of that line)
and start-up is measured directly: ``keepfor report`` on an empty table, and
``keepfor --version``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from make_data import PG_CREATED, PG_DB, label, pg_table, pg_url, sqlite_path  # noqa: E402

VENV = ROOT / ".venv" / "bin"
KEEPFOR = str(VENV / "keepfor")
PYTHON = str(VENV / "python")
PACK = str(HERE / "pack.yaml")
AT = "2026-11-22"
DATABASES = ("sqlite", "postgresql")
KEEPFOR_SRC: str | None = None
"""--keepfor-src: a folder holding the keepfor package to measure (put first on PYTHONPATH)."""
METHODS = ("keepfor", "handwritten", "naive")


@dataclass
class Run:
    db: str
    size: int
    method: str
    wall: float
    user: float
    sys: float
    rss_kb: int
    out: str
    load: float  # 1-minute load average just before the run


def source(db: str, size: int) -> tuple[str, str]:
    """(SQLAlchemy URL, table) of one benchmark table."""
    if db == "sqlite":
        return f"sqlite:///{sqlite_path(size)}", "records"
    return pg_url(), pg_table(size)


def command(
    db: str, size: int, method: str
) -> tuple[list[str], dict[str, str] | None, Path | None]:
    """(argv, extra environment, file to feed on stdin)."""
    url, table = source(db, size)
    if method == "keepfor":
        argv = [KEEPFOR, "report", "--rules", PACK, "--db", url, "--table", table, "--at", AT]
        return [*argv, "--format", "csv"], None, None
    if method == "naive":
        argv = [PYTHON, str(HERE / "naive.py"), "--rules", PACK, "--db", url, "--table", table]
        return [*argv, "--at", AT], None, None
    if method == "handwritten" and db == "sqlite":
        argv = ["sqlite3", "-batch", "-readonly", str(sqlite_path(size))]
        return argv, {"TZ": "Europe/London"}, HERE / "handwritten" / "sqlite.sql"
    if method == "handwritten":
        sql = str(HERE / "handwritten" / "postgresql.sql")
        argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"table={table}", "-f", sql]
        return [*argv, pg_url(driver=False)], None, None
    if method == "version":
        return [KEEPFOR, "--version"], None, None
    raise ValueError(method)


def measure(db: str, size: int, method: str, index: int) -> Run:
    argv, env, stdin = command(db, size, method)
    if KEEPFOR_SRC and method in ("keepfor", "naive", "version"):
        env = {**(env or {}), "PYTHONPATH": KEEPFOR_SRC}
    out = OUT / f"{method}-{db}-{label(size)}.csv"
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        wrapped = ["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name, *argv]
        environment = {**os.environ, **(env or {})}
        load = os.getloadavg()[0]
        with out.open("wb") as sink, stdin.open("rb") if stdin else open(os.devnull, "rb") as feed:
            start = time.perf_counter()
            done = subprocess.run(
                wrapped, stdin=feed, stdout=sink, stderr=subprocess.PIPE, env=environment
            )
            wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
        user, system, rss = timing.read().split()[-3:]
    run = Run(db, size, method, wall, float(user), float(system), int(rss), str(out), load)
    print(
        f"  {db:<10} {label(size):>5} {method:<11} #{index + 1}: {wall:7.2f} s wall, "
        f"{run.user + run.sys:7.2f} s cpu, {run.rss_kb / 1024:6.1f} MB  (load {load:.2f})",
        flush=True,
    )
    return run


def rows_of(path: str) -> tuple[list[str], str]:
    """The rows sorted, and the header, each cut to key,rule,disposal_date,action (keepfor
    writes more columns after those four; the baselines write those four)."""
    with Path(path).open(newline="") as file:
        lines = [",".join(row[:4]) for row in csv.reader(file)]
    return sorted(lines[1:]), lines[0]


def compare(runs: list[Run], sizes: list[int]) -> list[str]:
    """Every method's output, on every database, must be the same rows."""
    notes = []
    for size in sizes:
        outputs = {(r.db, r.method): r.out for r in runs if r.size == size and r.method in METHODS}
        if not outputs:
            continue
        reference_name, reference_path = next(iter(outputs.items()))
        reference, header = rows_of(reference_path)
        keys = {line.split(",", 1)[0] for line in reference}
        for name, path in outputs.items():
            rows, head = rows_of(path)
            if head != header:
                notes.append(f"{label(size)}: {name} header {head!r} != {header!r}")
            other_keys = {line.split(",", 1)[0] for line in rows}
            if other_keys != keys:
                notes.append(
                    f"{label(size)}: {name} keys differ from {reference_name}: "
                    f"{len(other_keys - keys)} extra, {len(keys - other_keys)} missing"
                )
            elif rows != reference:
                diff = sum(a != b for a, b in zip(rows, reference, strict=True))
                notes.append(
                    f"{label(size)}: {name} same keys, {diff} rows differ from {reference_name}"
                )
        which = ", ".join(f"{m}/{d}" for d, m in outputs)
        if not any(n.startswith(f"{label(size)}:") for n in notes):
            notes.append(f"{label(size)}: identical, {len(reference)} due rows ({which})")
    return notes


def machine() -> dict[str, str]:
    def sh(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as error:
            return f"({error})"

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpu": cpu,
        "nproc": sh("nproc"),
        "memory": sh("free", "-h"),
        "kernel": platform.release(),
        "python": sh(
            PYTHON,
            "-c",
            "import sys, sqlite3, sqlalchemy, psycopg; "
            "print(sys.version.split()[0], 'sqlite-lib', sqlite3.sqlite_version, "
            "'SQLAlchemy', sqlalchemy.__version__, 'psycopg', psycopg.__version__)",
        ),
        "sqlite3 cli": sh("sqlite3", "--version").split()[0],
        "postgresql": sh(
            "psql", "-X", "-At", "-c", "SHOW server_version", pg_url("postgres", driver=False)
        ),
        "psql": sh("psql", "--version"),
        "keepfor measured": keepfor_source(),
    }


def keepfor_source() -> str:
    """Which keepfor the runs import, and at which commit."""
    env = {**os.environ, **({"PYTHONPATH": KEEPFOR_SRC} if KEEPFOR_SRC else {})}
    where = subprocess.run(
        [PYTHON, "-c", "import keepfor; print(keepfor.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--short", "keepfor"], capture_output=True, text=True
    ).stdout.split("\n")
    state = f"repo HEAD {head.stdout.strip()}" + (
        f", keepfor/ has {len([d for d in dirty if d])} uncommitted changes"
        if any(dirty)
        else ", keepfor/ clean"
    )
    origin = f"--keepfor-src {KEEPFOR_SRC}" if KEEPFOR_SRC else "the working tree"
    return f"{where} ({origin}; {state})"


def median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def table(runs: list[Run]) -> list[str]:
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
        cpu = statistics.median(r.user + r.sys for r in group)
        rss = max(r.rss_kb for r in group) / 1024
        lines.append(
            f"| {db} | {label(size)} | {method} | {median(group, 'wall'):.2f} | {walls} | "
            f"{cpu:.2f} | {rss:.0f} |"
        )
    return lines


def derived(runs: list[Run], small: int, large: int) -> tuple[list[str], dict]:
    figures: dict = {}
    lines = [
        "| database | method | cost per row µs (wall) | cost per row µs (cpu) | fixed s (wall) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for db in DATABASES:
        for method in METHODS:
            a = [r for r in runs if (r.db, r.size, r.method) == (db, small, method)]
            b = [r for r in runs if (r.db, r.size, r.method) == (db, large, method)]
            if not a or not b:
                continue
            ta, tb = median(a, "wall"), median(b, "wall")
            ca = statistics.median(r.user + r.sys for r in a)
            cb = statistics.median(r.user + r.sys for r in b)
            per_row = (tb - ta) / (large - small)
            per_row_cpu = (cb - ca) / (large - small)
            fixed = ta - small * per_row
            figures[(db, method)] = {"per_row": per_row, "per_row_cpu": per_row_cpu, "fixed": fixed}
            lines.append(
                f"| {db} | {method} | {per_row * 1e6:.2f} | {per_row_cpu * 1e6:.2f} | {fixed:.2f} |"
            )
    return lines, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000_000, 4_000_000])
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--naive-sizes",
        type=int,
        nargs="*",
        default=None,
        help="sizes to run the naive loop at (default: both); it is slow",
    )
    parser.add_argument(
        "--naive-repeat", type=int, default=None, help="at the smaller size (default: --repeat)"
    )
    parser.add_argument(
        "--naive-large-repeat",
        type=int,
        default=1,
        help="repeats of the naive loop at the larger size (default 1: it takes minutes)",
    )
    parser.add_argument(
        "--keepfor-src",
        metavar="DIR",
        help="measure the keepfor package in DIR (a `git archive` snapshot), not the working tree",
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop keepfor_bench afterwards, if make_data created it"
    )
    parser.add_argument(
        "--drop-only", action="store_true", help="only drop keepfor_bench (if make_data created it)"
    )
    args = parser.parse_args()
    global KEEPFOR_SRC
    KEEPFOR_SRC = str(Path(args.keepfor_src).resolve()) if args.keepfor_src else None
    small, large = args.sizes
    databases = DATABASES if args.db == "both" else (args.db,)
    naive_sizes = set(args.sizes if args.naive_sizes is None else args.naive_sizes)
    naive_repeat = args.repeat if args.naive_repeat is None else args.naive_repeat

    if args.drop_only:
        drop()
        return
    info = machine()
    runs: list[Run] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"started {started}; load {os.getloadavg()}", flush=True)
    for db in databases:
        print(f"{db}: start-up", flush=True)
        for i in range(args.repeat):
            runs.append(measure(db, 0, "keepfor", i))
            if db == databases[0]:
                runs.append(measure(db, 0, "version", i))
        for size in (small, large):
            print(f"{db}: {label(size)} rows", flush=True)
            naive_n = naive_repeat if size == small else args.naive_large_repeat
            for i in range(max(args.repeat, naive_n)):
                for method in METHODS:
                    if method == "naive" and (size not in naive_sizes or i >= naive_n):
                        continue
                    if method != "naive" and i >= args.repeat:
                        continue
                    runs.append(measure(db, size, method, i))

    notes = compare(runs, [small, large])
    figure_lines, figures = derived(runs, small, large)
    lines = [
        f"Run {started} to {time.strftime('%H:%M:%S')}; load average at the end {os.getloadavg()}",
        "",
    ]
    lines += ["Machine:", "", "```", *(f"{k}: {v}" for k, v in info.items()), "```", ""]
    lines += [*table(runs), "", *figure_lines, "", "Outputs:", "", *(f"- {n}" for n in notes), ""]
    (OUT / "results.md").write_text("\n".join(lines))
    (OUT / "results.json").write_text(
        json.dumps(
            {
                "machine": info,
                "runs": [asdict(r) for r in runs],
                "derived": {f"{d}/{m}": v for (d, m), v in figures.items()},
                "notes": notes,
            },
            indent=1,
        )
    )
    print("\n".join(lines))
    if args.drop:
        drop()


def drop() -> None:
    """Drop the benchmark database, only if make_data.py created it."""
    if PG_CREATED.exists():
        subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-c",
                f'DROP DATABASE IF EXISTS "{PG_DB}"',
                pg_url("postgres", driver=False),
            ],
            check=True,
        )
        PG_CREATED.unlink()
        print(f"dropped database {PG_DB}")
    else:
        print(f"{PG_DB} was not created by make_data.py: left alone")


if __name__ == "__main__":
    main()
