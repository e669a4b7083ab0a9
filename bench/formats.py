"""Every report format against csv, on the 4M-row tables (about 400,000 due rows).

    .venv/bin/python bench/formats.py [--repeat 3] [--db sqlite|postgresql|both]

Each format is one whole ``keepfor report`` process, timed with ``time.perf_counter``
around ``subprocess.run`` and its peak RSS read from ``/usr/bin/time``; the formats run
round robin, ``--repeat`` times, and the median is reported with its ratio to csv.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import pg_table, pg_url, sqlite_path  # noqa: E402

KEEPFOR = str(HERE.parent / ".venv" / "bin" / "keepfor")
FORMATS = ("csv", "json", "table", "html")
SIZE = 4_000_000


def run(db: str, fmt: str) -> tuple[float, float]:
    """(wall seconds, peak MB) of one report."""
    url, table = (
        (f"sqlite:///{sqlite_path(SIZE)}", "records")
        if db == "sqlite"
        else (pg_url(), pg_table(SIZE))
    )
    argv = [KEEPFOR, "report", "--rules", str(HERE / "pack.yaml"), "--db", url, "--table", table]
    argv += ["--at", "2026-11-22", "--format", fmt]
    with tempfile.NamedTemporaryFile("r") as timing, open("/dev/null", "wb") as sink:
        start = time.perf_counter()
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", timing.name, *argv], stdout=sink, check=True
        )
        wall = time.perf_counter() - start
        peak = int(timing.read().split()[-1]) / 1024
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        times: dict[str, list[float]] = {f: [] for f in FORMATS}
        peaks: dict[str, float] = {f: 0.0 for f in FORMATS}
        for _ in range(args.repeat):
            for fmt in FORMATS:
                wall, peak = run(db, fmt)
                times[fmt].append(wall)
                peaks[fmt] = max(peaks[fmt], peak)
        csv = statistics.median(times["csv"])
        print(f"{db} 4M, median of {args.repeat}:")
        for fmt in FORMATS:
            median = statistics.median(times[fmt])
            ratio = median / csv
            print(f"  {fmt:<6} {median:7.2f} s  {ratio:5.2f}x csv  peak {peaks[fmt]:6.1f} MB")


if __name__ == "__main__":
    main()
