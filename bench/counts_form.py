"""The two forms of keepfor's counts statement (``SqlTableSource.count``: how many rows
each condition holds for, in one pass), timed against each other on PostgreSQL: the
sweep plan's counts (every record, the unreadable ones, the held ones) on a benchmark
table, ``count(*) FILTER (WHERE c)`` and ``coalesce(sum(CASE WHEN c THEN 1 ELSE 0
END), 0)`` alternated on one connection (median of ``--repeat`` runs of each).

    .venv/bin/python bench/make_data.py            # once: the keepfor_bench tables
    .venv/bin/python bench/counts_form.py [--table records_4m] [--repeat 9]

FILTER nests a condition less deep, which SQLite's parser needs for the largest packs;
MariaDB, which has no FILTER, keeps the sum of a CASE.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from keepfor.actions.sweep import _selection  # noqa: E402
from keepfor.connectors.pushdown import counts_query  # noqa: E402
from keepfor.connectors.sql import SqlTableSource, TableMapping  # noqa: E402
from keepfor.engine import load_rules  # noqa: E402

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/keepfor_bench"
AT = date(2026, 11, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default="records_4m")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--url", default=URL)
    args = parser.parse_args()
    rules = load_rules(str(HERE / "pack.yaml"))
    source = SqlTableSource(args.url, TableMapping(table=args.table))
    source.open()
    source.check(rules)
    _, others = _selection(rules, AT)
    conditions = [source.where(p) for p in others.values()]
    mariadb = sa.create_engine("mysql+pymysql://").dialect  # no FILTER: the sum of a CASE
    forms = {
        "filter": counts_query(conditions, source.table, source.engine.dialect),
        "case": counts_query(conditions, source.table, mariadb),
    }
    seconds: dict[str, list[float]] = {name: [] for name in forms}
    rows = set()
    with source.engine.connect() as conn:
        for _ in range(args.repeat):
            for name, query in forms.items():
                start = time.perf_counter()
                rows.add(tuple(conn.execute(query).one()))
                seconds[name].append(time.perf_counter() - start)
    source.close()
    assert len(rows) == 1, rows  # both forms count the same
    print(f"{args.table}: counts {rows.pop()}, {args.repeat} runs of each, alternated")
    for name, runs in seconds.items():
        print(f"{name:>6}: median {statistics.median(runs):.3f} s, min {min(runs):.3f} s")


if __name__ == "__main__":
    main()
