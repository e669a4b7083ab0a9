"""keepfor as a library inside a CRM sync job: classify records as they stream past.

    python examples/crm_sync.py [--at 2026-11-22T09:00:00Z]

Rules are loaded and validated once; each record is then a pure function call. The
instant comes from a clock the job owns (here a fixed one, so the output is stable).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keepfor

HERE = Path(__file__).resolve().parent


def crm_records() -> Iterator[dict[str, Any]]:
    """Stand-in for a CRM page iterator: the example CSV, empty cells left out."""
    with open(HERE / "data" / "customers.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            record: dict[str, Any] = {k: v for k, v in row.items() if v}
            if "accepted" in record:
                record["accepted"] = record["accepted"].lower() == "true"
            yield record


def main(at: datetime) -> None:
    rules = keepfor.load_rules(HERE.parent / "rules")
    clock = keepfor.FixedClock(at)
    statuses: Counter[str] = Counter()
    for record in crm_records():
        decision = keepfor.evaluate(rules, record, clock.now())
        statuses[decision.status.value] += 1
        winner = decision.winner
        if decision.status is keepfor.Status.DUE and winner is not None:
            print(
                f"{record['key']:<10} {winner.rule.action.value:<9} since "
                f"{decision.disposal_date}  ({winner.rule.id}: {decision.reason})"
            )
    print(", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))


if __name__ == "__main__":
    instant = datetime(2026, 11, 22, 9, tzinfo=UTC)
    if len(sys.argv) == 3 and sys.argv[1] == "--at":
        instant = datetime.fromisoformat(sys.argv[2])
    main(instant)
