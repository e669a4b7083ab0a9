"""The naive loop: fetch every row of the table and evaluate it in Python.

    .venv/bin/python bench/naive.py --rules bench/pack.yaml --db URL --table NAME \
        --at 2026-11-22 > due.csv

Every row is fetched with SQLAlchemy (streamed, ``yield_per``, so memory stays flat:
the naive part is evaluating every row, not loading the table at once) and given to
``keepfor.evaluate`` one by one, with no cache and no push-down. The due ones are
written as ``key,rule,disposal_date,action``, the csv of ``keepfor report``.

Values are read as keepfor's SQL connector reads them: a naive DATETIME (SQLite) is
a UTC time, as the connector assumes for a source without a ``timezone``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, date, datetime

import sqlalchemy as sa

import keepfor


def main() -> None:
    parser = argparse.ArgumentParser(description="The naive loop: evaluate every row in Python.")
    parser.add_argument("--rules", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--key", default="id")
    parser.add_argument("--at", required=True, type=date.fromisoformat)
    args = parser.parse_args()

    rules = keepfor.load_rules(args.rules)
    engine = sa.create_engine(args.db)
    table = sa.Table(args.table, sa.MetaData(), autoload_with=engine)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(("key", "rule", "disposal_date", "action"))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
            sa.select(table)
        )
        for row in result.mappings():
            record = {
                name: value.replace(tzinfo=UTC)
                if isinstance(value, datetime) and value.tzinfo is None
                else value
                for name, value in row.items()
            }
            decision = keepfor.evaluate(rules, record, args.at)
            if decision.status is keepfor.Status.DUE:
                out.writerow(
                    (
                        record[args.key],
                        decision.rule.id,
                        decision.disposal_date.isoformat(),
                        decision.action.value,
                    )
                )
    engine.dispose()


if __name__ == "__main__":
    main()
