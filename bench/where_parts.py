"""Where a SQLite report's per-row time goes: each part of what it asks the database,
alone, as ``SELECT count(*) FROM records WHERE <part>`` on the 1M-row table (min of
``--repeat`` runs, the parts interleaved).

    .venv/bin/python bench/where_parts.py [--repeat 5] [--keepfor-src DIR]

``--keepfor-src``: measure the keepfor package in DIR (a ``git archive`` snapshot, to
compare before and after a change on the same table), not the working tree.

Parts: the hand-written query's ``WHERE``; keepfor's due predicate; its unreadable
predicate (text dates read exactly, form by form); the two together, which is what
the report selects; the readable predicate (the unreadable one negated, as a sweep's
due bucket and its re-check hold it); the sweep's due bucket (due, readable, not held).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each part (min taken)")
    parser.add_argument("--keepfor-src", metavar="DIR", help="measure the keepfor package in DIR")
    return parser.parse_args()


ARGS = _arguments()
if ARGS.keepfor_src:
    sys.path.insert(0, str(Path(ARGS.keepfor_src).resolve()))

from make_data import sqlite_path  # noqa: E402

from keepfor.connectors.sql import SqlTableSource, TableMapping  # noqa: E402
from keepfor.engine import load_rules  # noqa: E402
from keepfor.engine.cutoffs import (  # noqa: E402
    Any_,
    due_predicate,
    readable_predicate,
    unreadable_predicate,
)
from keepfor.report.counts import bucket_predicates  # noqa: E402

AT = datetime(2026, 11, 22, tzinfo=UTC)
HANDWRITTEN = (
    "(category = 'order' AND placed_at <= '2020-03-31')"
    " OR (category = 'enquiry' AND resolved_at < '2025-11-22 00:00:00.000000')"
    " OR (category = 'quote' AND accepted = 0 AND quoted_at <= '2025-11-21')"
    " OR (category = 'cv' AND received_at <= '2026-05-21')"
)


def main() -> None:
    path = sqlite_path(1_000_000)
    rules = load_rules(HERE / "pack.yaml")
    source = SqlTableSource(f"sqlite:///{path}", TableMapping(table="records"))
    source.check(rules)

    def sql(predicate: object) -> str:
        where = source.where(predicate)  # type: ignore[arg-type]
        options = {"literal_binds": True}
        return str(where.compile(dialect=source.engine.dialect, compile_kwargs=options))

    unreadable, due = unreadable_predicate(rules), due_predicate(rules, AT)
    parts = {
        "hand-written WHERE": HANDWRITTEN,
        "keepfor due": sql(due),
        "keepfor unreadable": sql(unreadable),
        "keepfor unreadable or due (the report)": sql(Any_((unreadable, due))),
        "keepfor readable (the same check under a NOT)": sql(readable_predicate(rules)),
        "keepfor due, readable, not held (a sweep)": sql(bucket_predicates(rules, AT)["due"]),
    }
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    best, rows = dict.fromkeys(parts, float("inf")), dict.fromkeys(parts, 0)
    for _ in range(ARGS.repeat):
        for label, where in parts.items():
            start = time.perf_counter()
            rows[label] = db.execute(f"SELECT count(*) FROM records WHERE {where}").fetchone()[0]
            best[label] = min(best[label], time.perf_counter() - start)
    package = Path(sys.modules["keepfor"].__file__ or "").parent
    print(f"keepfor from {package}, SQLite {sqlite3.sqlite_version}")
    print(f"| part | s per 1M rows (min of {ARGS.repeat}) | rows |")
    print("| --- | ---: | ---: |")
    for label in parts:
        print(f"| {label} | {best[label]:.3f} | {rows[label]} |")


if __name__ == "__main__":
    main()
