"""Records per second of the evaluators, on benchmark-shaped records held in memory.

The records are ``make_data.py``'s rows (the same seed, four categories, dates spread
over each retention window) as a database driver gives them: dates as ``date``,
``resolved_at`` as an aware UTC ``datetime``, ``accepted`` as a bool, absent values as
None; ``--text`` keeps the dates as ISO text instead (as a CSV file gives them). Every
figure is for one core (run it under ``taskset -c 0``); each is the best of
``--repeat`` runs, each run with a fresh evaluator (a cold case cache).

    taskset -c 0 .venv/bin/python bench/evaluators.py            # 1,000,000 records
    taskset -c 0 .venv/bin/python bench/evaluators.py --size 200000 --uncached 50000
    taskset -c 0 .venv/bin/python bench/evaluators.py --rules bench/out/rules_distinct_200.yaml

Measured: ``keepfor.evaluate_many`` (the Python evaluator); ``keepfor.evaluate`` record
by record (no cache); the durable_rules evaluator
behind the same case cache (durable_rules decides each distinct case once); and the
durable_rules evaluator without the cache (every record asserted, matched and retracted,
a batch of facts at a time, as ``evaluate_many`` hands them over).
Every decision of the durable_rules runs is checked equal to the Python one's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import rows  # noqa: E402

import keepfor  # noqa: E402
from keepfor.engine import Decision  # noqa: E402

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def records(size: int, *, text: bool) -> list[dict[str, Any]]:
    """``size`` benchmark rows as records (the key is not a field)."""
    out = []
    for _, category, placed, resolved, quoted, accepted, received in rows(size):
        if text:
            values = (placed, resolved, quoted, received)
        else:
            values = (
                placed and date.fromisoformat(placed),
                resolved and datetime.fromisoformat(resolved).replace(tzinfo=UTC),
                quoted and date.fromisoformat(quoted),
                received and date.fromisoformat(received),
            )
        out.append(
            {
                "category": category,
                "placed_at": values[0],
                "resolved_at": values[1],
                "quoted_at": values[2],
                "accepted": accepted,
                "received_at": values[3],
            }
        )
    return out


def measure(
    name: str, decide: Callable[[], Iterator[Decision]], size: int, repeat: int
) -> list[Decision]:
    """Run ``decide`` ``repeat`` times; print the best rate; return the last decisions."""
    best = 0.0
    decisions: list[Decision] = []
    for _ in range(repeat):
        start = time.perf_counter()
        decisions = list(decide())
        best = max(best, size / (time.perf_counter() - start))
    print(f"{name:<44} {size:>10,} records  {best:>10,.0f} records/s", flush=True)
    return decisions


def _same(name: str, got: list[Decision], expected: list[Decision]) -> None:
    def short(d: Decision) -> tuple[Any, ...]:
        return (d.status, d.disposal_date, d.rule and d.rule.id, d.reason)

    if len(got) != len(expected) or any(
        a is not b and short(a) != short(b) for a, b in zip(got, expected, strict=True)
    ):
        raise SystemExit(f"{name}: decisions differ from the Python evaluator's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--uncached", type=int, default=100_000, help="records, no cache")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--text", action="store_true", help="dates as ISO text")
    parser.add_argument("--python-only", action="store_true")
    parser.add_argument("--rules", type=Path, default=HERE / "pack.yaml", help="a pack")
    args = parser.parse_args()
    rules = keepfor.load_rules(args.rules)
    data = records(args.size, text=args.text)
    print(f"python {sys.version.split()[0]}, dates as {'text' if args.text else 'objects'}")

    def python() -> Iterator[Decision]:
        return keepfor.evaluate_many(rules, data, AT)

    expected = measure("evaluate_many (python)", python, args.size, args.repeat)
    part = data[: args.uncached]

    def each() -> Iterator[Decision]:
        return (keepfor.evaluate(rules, record, AT) for record in part)

    got = measure("evaluate (python, every record)", each, len(part), args.repeat)
    _same("evaluate", got, expected[: len(part)])
    if args.python_only:
        return
    from keepfor.evaluators.durable import DurableEvaluator

    def durable() -> Iterator[Decision]:
        return keepfor.evaluate_many(rules, data, AT, evaluator=DurableEvaluator(rules))

    got = measure("durable_rules, case cache in front", durable, args.size, args.repeat)
    _same("durable_rules", got, expected)

    def uncached() -> Iterator[Decision]:
        evaluator = DurableEvaluator(rules, cached=False)
        return keepfor.evaluate_many(rules, part, AT, evaluator=evaluator)

    got = measure("durable_rules, no cache (every record)", uncached, len(part), args.repeat)
    _same("durable_rules without cache", got, expected[: len(part)])


if __name__ == "__main__":
    main()
