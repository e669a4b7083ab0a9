"""Where `keepfor sweep --apply` spends its time: one sweep, run in this process on a fresh
copy of a benchmark table (as bench/sweep.py makes them), with timing stamps around its
phases and every SQL statement timed by kind.

    .venv/bin/python bench/sweep_profile.py --db sqlite                 # 1M rows
    .venv/bin/python bench/sweep_profile.py --db postgresql --size 4000000 --explain
    .venv/bin/python bench/sweep_profile.py --db sqlite --cprofile 25   # the top 25 functions
    PYTHONPATH=/tmp/kfsnap .venv/bin/python bench/sweep_profile.py ...  # a snapshot

Phases (wall time, wrapped around keepfor's own functions, which are not changed):

* plan: ``keepfor.actions.sweep._plan``, the counts and the grouped pass over the due
  records (what a dry run prints);
* plan a source: ``_planned``: on SQLite every due key read, grouped by case, into
  batches, before the first is acted on; elsewhere counted by groups, the keys then
  read as the batches are acted on (inside the batches' time);
* per batch, inside ``SqlTableTarget.apply`` (one transaction): the recheck
  (``_live``: the batch's keys re-selected with the due predicate, FOR UPDATE on
  PostgreSQL), the DELETE (the rest of ``_act``), the audit (``Trail.write``: keyed
  pseudonyms, entry hashes, ``append_records``' statements), the commit
  (``Dialect.do_commit``) and what is left (begin, connection checkout, result);
* the rest: start-up (imports), reflection, keepfor's tables, the whole run less the
  above.

SQL statements are timed from SQLAlchemy's ``before_cursor_execute`` to
``after_cursor_execute`` and grouped by kind. ``--explain`` prints the database's plan
of the first recheck SELECT. The PostgreSQL copy lives in the
database bench/sweep.py makes (``keepfor_sweep``); it is made if missing and dropped at
the end unless ``--keep-db`` (and only if sweep.py's marker says it made it).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sweep  # noqa: E402
from make_data import label  # noqa: E402

TIMES: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)
EXPLAINED: dict[str, str] = {}


def stamp(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - start
            COUNTS[name] += 1

    return timed


def streamed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`stamp` for a generator: the time until it is exhausted, less the time its
    consumer spent between items (which is the consumer's own)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        items = 0
        start = time.perf_counter()
        try:
            for item in function(*args, **kwargs):
                items += 1
                TIMES[name] += time.perf_counter() - start
                yield item
                start = time.perf_counter()
            TIMES[name] += time.perf_counter() - start
        finally:
            COUNTS[f"{name}: rows"] += items

    return timed


def kind_of(statement: str) -> str:
    text = " ".join(statement.split()).lower()
    if text.startswith("select") and "keepfor_audit_head" in text:
        return "SELECT audit head (FOR UPDATE)"
    if text.startswith("select") and "for update" in text:
        return "SELECT ... FOR UPDATE (the recheck)"
    match = re.match(r"(insert into|delete from|update|select|create|pragma)\s+(\S+)?", text)
    if not match:
        return text[:30]
    verb, what = match.group(1), (match.group(2) or "").strip('"')
    if verb == "select":
        return "SELECT (other)"
    return f"{verb.upper()} {what}"


def instrument(explain: bool) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import default

    from keepfor.actions import sweep as sweeping
    from keepfor.actions.trail import Trail
    from keepfor.audit import chain
    from keepfor.connectors import grouping, sqlwrite

    sweeping._plan = stamp("plan (counts, grouped due pass)", sweeping._plan)
    sweeping._planned = stamp(
        "plan a source (SQLite: every due key read first; else counted by groups)",
        sweeping._planned,
    )
    grouping.select_groups = streamed(
        "read: grouped due pass (select_groups)", grouping.select_groups
    )
    grouping.group_keys = streamed(
        "read: keys of a group over the bound (group_keys, a scan each)", grouping.group_keys
    )
    grouping.group_records = streamed(
        "read: records of a group decided one by one (group_records)", grouping.group_records
    )
    target = sqlwrite.SqlTableTarget
    target.apply = stamp("batches: apply (whole transaction)", target.apply)
    target._live = stamp("batches: recheck (_live)", target._live)
    target._act = stamp("batches: recheck + delete (_act)", target._act)
    Trail.write = stamp("batches: audit (Trail.write)", Trail.write)
    chain._insert = stamp("batches: audit rows INSERT (_insert)", chain._insert)
    default.DefaultDialect.do_commit = stamp("batches: commit", default.DefaultDialect.do_commit)

    started: dict[int, float] = {}

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        kind = "sql: " + kind_of(statement)
        TIMES[kind] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        COUNTS[kind] += 1

    if explain:
        original = target._live

        def live(self, conn, batch):
            if "recheck SELECT" not in EXPLAINED:
                query = sa.select(self.key).where(
                    self.key.in_(batch.keys), self.source.where(batch.recheck)
                )
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                EXPLAINED["recheck SELECT"] = plan_of(conn, query)
            return original(self, conn, batch)

        target._live = live


def plan_of(conn: Any, query: Any) -> str:
    """The database's plan of a query (its values written in as literals)."""
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    try:
        rows = conn.exec_driver_sql(prefix + sql).all()
    except Exception as error:  # a plan is a side dish: never fail the batch for it
        return f"(no plan: {error})"
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=sweep.DATABASES, required=True)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--cprofile", type=int, metavar="N", help="print the top N functions")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.db == "postgresql":
        sweep.pg_setup([args.size])
    expected = sweep.expected_of(args.db, args.size)
    sweep.prepare(args.db, args.size)
    try:
        whole = run(args)
        sweep.check(args.db, args.size, "keepfor", expected, b"", verify=False, tally=False)
    finally:
        sweep.cleanup(args.db, args.size)
        if args.db == "postgresql" and not args.keep_db:
            sweep.drop()
    if args.cprofile:
        return
    print(f"\n{args.db} {label(args.size)}: {len(expected.due)} purged, whole run {whole:.2f} s")
    print("| what | s | calls | share |")
    print("| --- | ---: | ---: | ---: |")
    for name in sorted(TIMES, key=lambda n: (n.startswith("sql"), n)):
        share = TIMES[name] / whole
        rows = COUNTS.get(f"{name}: rows")
        calls = f"{COUNTS[name]} ({rows} rows)" if rows is not None else str(COUNTS[name])
        print(f"| {name} | {TIMES[name]:.2f} | {calls} | {share:.0%} |")
    for kind, text in EXPLAINED.items():
        print(f"\nplan of the first {kind}:\n{text}")


def run(args: argparse.Namespace) -> float:
    """The sweep, in this process; its wall time (imports included)."""
    start = time.perf_counter()
    os.environ["KEEPFOR_AUDIT_KEY"] = sweep.AUDIT_KEY
    sweep.BATCH_SIZE = args.batch_size
    argv = sweep.command(args.db, args.size, "keepfor")[0][1:]
    profiler = cProfile.Profile() if args.cprofile else None
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        if profiler:
            profiler.enable()
        from keepfor.cli import main as keepfor

        if not profiler:
            instrument(args.explain)
        try:
            keepfor(argv)  # exits (SystemExit) when done
        except SystemExit as done:
            if done.code:
                raise
        if profiler:
            profiler.disable()
    whole = time.perf_counter() - start
    if profiler:
        print(f"{args.db} {label(args.size)}: whole run {whole:.2f} s (under cProfile)")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)
    TIMES["whole run (imports included)"] = whole
    return whole


if __name__ == "__main__":
    main()
