"""How the report's cost grows with the number of rules: 4 (the benchmark pack), 10, 50,
200 and 500 rules over the 4 categories, on the 1M-row tables.

    .venv/bin/python bench/rules_scaling.py [--repeat 3] [--db sqlite|postgresql|both]
                                            [--counts 10 50 200 500]
                                            [--modes same other distinct]

Three ways to grow a pack, each written to ``bench/out/rules_<mode>_<n>.yaml``:

* ``same``: every extra rule applies to one of the four categories (round robin), from
  the same anchor as that category's rule, for ``P<k>D`` (k = 1, 2, ...): every rule of
  a category matches each of its records, and the longest (the original) decides, so
  the due rows are the benchmark's own (checked);
* ``other``: every extra rule applies to a category no record has (``extra-<k>``), as in
  a schedule of many record types where a table holds a few: the rules are compiled and
  tested, and never match;
* ``distinct``: as ``other``, each extra rule for its own ``P<k>D``, so that no two
  rules need the same thing (on SQLite, a search of the categories instead of one
  test per part: :mod:`keepfor.connectors.guarded`).

Each pack is one whole ``keepfor report --format csv`` process per run, round robin,
median of ``--repeat``; the ratio is to the 4-rule pack on the same database.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import OUT, pg_table, pg_url, sqlite_path  # noqa: E402

KEEPFOR = str(HERE.parent / ".venv" / "bin" / "keepfor")
SIZE = 1_000_000
MODES = ("same", "other", "distinct")


def grown(pack: dict[str, Any], n: int, mode: str) -> dict[str, Any]:
    """The benchmark pack with rules added until it has ``n``."""
    out = copy.deepcopy(pack)
    base = pack["rules"]
    for k in range(n - len(base)):
        rule = copy.deepcopy(base[k % len(base)])
        rule["id"] = f"extra-{k + 1}"
        rule["description"] = f"Extra rule {k + 1} ({mode})."
        if mode == "same":
            rule["retain"]["for"] = f"P{k // len(base) + 1}D"
        else:
            rule["applies_to"] = {"category": f"extra-{k + 1}"}
        if mode == "distinct":
            rule["retain"]["for"] = f"P{k + 1}D"
        out["rules"].append(rule)
    return out


def pack_file(n: int, mode: str) -> Path:
    pack = yaml.safe_load((HERE / "pack.yaml").read_text())
    path = OUT / f"rules_{mode}_{n}.yaml"
    path.write_text(yaml.safe_dump(grown(pack, n, mode), sort_keys=False))
    return path


def run(db: str, pack: Path, out: Path) -> float:
    if db == "sqlite":
        url, table = f"sqlite:///{sqlite_path(SIZE)}", "records"
    else:
        url, table = pg_url(), pg_table(SIZE)
    argv = [KEEPFOR, "report", "--rules", str(pack), "--db", url, "--table", table]
    argv += ["--at", "2026-11-22", "--format", "csv", "--output", str(out)]
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def due_rows(path: Path) -> list[tuple[str, ...]]:
    """(key, disposal date, action) of every due row, sorted."""
    lines = path.read_text().splitlines()[1:]
    return sorted(tuple(line.split(",")[i] for i in (0, 2, 3)) for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 50, 200, 500])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    packs = [("base", 4, HERE / "pack.yaml")]
    packs += [(mode, n, pack_file(n, mode)) for mode in args.modes for n in args.counts]
    print("| database | rules | extra rules | csv s (median) | runs | vs 4 rules |")
    print("| --- | ---: | --- | ---: | --- | ---: |")
    for db in dbs:
        times: dict[tuple[str, int], list[float]] = {(m, n): [] for m, n, _ in packs}
        for _ in range(args.repeat):
            for mode, n, pack in packs:
                out = OUT / f"rules_{db}_{mode}_{n}.csv"
                times[(mode, n)].append(run(db, pack, out))
        base_rows = due_rows(OUT / f"rules_{db}_base_4.csv")
        for mode, n, _ in packs:
            if due_rows(OUT / f"rules_{db}_{mode}_{n}.csv") != base_rows:
                raise SystemExit(f"{db}, {mode} {n}: the due rows differ from the 4-rule pack's")
        base = statistics.median(times[("base", 4)])
        for mode, n, _ in packs:
            median = statistics.median(times[(mode, n)])
            runs = ", ".join(f"{t:.2f}" for t in times[(mode, n)])
            label = "—" if mode == "base" else mode
            print(f"| {db} | {n} | {label} | {median:.2f} | {runs} | {median / base:.2f}x |")
    print(f"\ndue rows equal to the 4-rule pack's in every run ({len(base_rows)} rows)")


if __name__ == "__main__":
    main()
