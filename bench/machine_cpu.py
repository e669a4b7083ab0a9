"""Wall time and the whole machine's processor time of one command (Linux).

    .venv/bin/python bench/machine_cpu.py [--repeat N] -- COMMAND [ARG ...]

A report's work is shared with the database server's processes (PostgreSQL's parallel
workers), which the command's own CPU time does not show: this reads the machine's
counters (``/proc/stat``: user, nice, system, irq, softirq) before and after, so run it
on an otherwise idle machine. Prints one line per run: wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time


def machine_cpu() -> float:
    """Seconds of processor time the whole machine has spent working since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    for _ in range(args.repeat):
        cpu, wall = machine_cpu(), time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - wall, machine_cpu() - cpu
        print(f"wall {wall:.3f} s  cpu {cpu:.2f} s  ({' '.join(command)[:60]})")


if __name__ == "__main__":
    main()
