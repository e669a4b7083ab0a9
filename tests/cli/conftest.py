"""Fixtures for the command-line tests: packs and records in tmp_path, two ways to run keepfor.

``run_cli`` runs the click group in-process (fast, with an injected clock);
``run_keepfor`` runs the installed console script in a subprocess, for the few
end-to-end checks that prove no traceback ever reaches a user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from keepfor.cli.app import EXIT_BAD_INPUT, cli
from keepfor.clock import FixedClock

AT = "2026-11-22T09:00:00Z"
"""The spec's evaluation instant."""

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
"""What the injected clock says unless a test asks otherwise."""

KEEPFOR = Path(sys.executable).with_name("keepfor")
"""The console script installed next to the interpreter running the tests."""

SHOP_PACK = """\
pack: shop
version: "2026.1"
timezone: Europe/London
financial_year_end: "03-31"
rules:
  - id: orders-tax
    description: Order records, six years after the end of the financial year of the order.
    source: "001_07892572acde0760.txt, 'Retention periods'"
    applies_to: {category: order}
    retain:
      from: {end_of: financial_year, of: placed_at}
      for: P6Y
    then: purge
  - id: complaints
    description: Complaints, three years after they are resolved.
    applies_to: {category: complaint}
    retain:
      from: resolved_at
      for: P3Y
    then: anonymise
"""
"""The spec's example pack, plus a rule whose event may not have happened yet."""

LEDGER_PACK = """\
pack: ledger
version: "1"
timezone: Europe/London
rules:
  - id: orders-ledger
    description: The ledger keeps orders seven years from the order date.
    applies_to: {category: order}
    retain:
      from: placed_at
      for: P7Y
    boundary: on
    then: review
"""
"""A second pack whose rule outlasts ``orders-tax`` (disposal 2026-05-01)."""

ORDER = {"category": "order", "placed_at": "2019-05-01"}
"""The spec's example record: retain until 2026-03-31, disposal date 2026-04-01."""

SPEC_DECISION = {
    "disposal_date": "2026-04-01",
    "rule": "orders-tax",
    "action": "purge",
    "status": "due",
    "matched": [
        {"rule": "orders-tax", "retain_until": "2026-03-31", "disposal_date": "2026-04-01"}
    ],
}
"""The spec's example output, verbatim."""

BASIS = "legitimate_interest"
"""The basis of a rule that names none."""

SPEC_EXPLAINED = {
    "disposal_date": "2026-04-01",
    "rule": "orders-tax",
    "action": "purge",
    "basis": BASIS,
    "status": "due",
    "matched": [
        {
            "rule": "orders-tax",
            "retain_until": "2026-03-31",
            "disposal_date": "2026-04-01",
            "basis": BASIS,
        }
    ],
}
"""What ``explain --json`` prints for the spec's example: its keys and values, and the
``basis`` of the winning rule and of each matched rule (keys the contract allows)."""


def contract(decision: dict[str, Any]) -> dict[str, Any]:
    """Only the keys of the spec's example, at the top and in each matched rule."""
    matched_keys = SPEC_DECISION["matched"][0]  # type: ignore[index]
    out = {key: decision[key] for key in SPEC_DECISION}
    out["matched"] = [{k: m[k] for k in matched_keys} for m in decision["matched"]]
    return out


@dataclass(frozen=True)
class Run:
    """What one run of keepfor did."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


_FIXED = object()


def _strings(args: Sequence[object]) -> list[str]:
    return [str(arg) for arg in args]


def invoke(
    *args: object,
    clock: object = _FIXED,
    input: str | None = None,
) -> Run:
    """Run ``keepfor ARGS`` in-process.

    By default the clock is stopped at :data:`NOW`; pass ``clock=None`` to run
    with no injected object at all, so the command falls back to the system clock.
    """
    runner = CliRunner()
    extra: dict[str, Any] = {}
    if clock is _FIXED:
        extra["obj"] = {"clock": FixedClock(NOW)}
    elif clock is not None:
        extra["obj"] = {"clock": clock}
    result = runner.invoke(cli, _strings(args), input=input, prog_name="keepfor", **extra)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an exception escaped the group: a bug, show it
    return Run(result.exit_code, result.stdout, result.stderr)


def run_keepfor(*args: object, input: str | None = None, cwd: Path | None = None) -> Run:
    """Run the installed ``keepfor`` script in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "KEEPFOR_DEBUG"}
    env.setdefault("PYTHONIOENCODING", "utf-8")
    done = subprocess.run(
        [str(KEEPFOR), *_strings(args)],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_bad_input(run: Run, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one ``keepfor: error:`` line naming each fragment."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.exit_code == EXIT_BAD_INPUT, (run.exit_code, run.stderr)
    assert run.stdout == "", run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert line.startswith("keepfor: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("rules/shop.yaml", text)``: a file under tmp_path, folders made as needed."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def write_record(write: Callable[[str, str], Path]) -> Callable[..., Path]:
    """``write_record(data, name="record.json")``: the data as JSON in a file."""

    def _record(data: Any, name: str = "record.json") -> Path:
        return write(name, json.dumps(data))

    return _record


@pytest.fixture
def shop_pack(write: Callable[[str, str], Path]) -> Path:
    return write("shop.yaml", SHOP_PACK)


@pytest.fixture
def ledger_pack(write: Callable[[str, str], Path]) -> Path:
    return write("ledger.yaml", LEDGER_PACK)


@pytest.fixture
def order_record(write_record: Callable[..., Path]) -> Path:
    return write_record(ORDER, "order.json")
