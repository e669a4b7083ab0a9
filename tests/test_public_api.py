"""The public API: what ``keepfor`` and ``keepfor.engine`` export, and what they must not do."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import keepfor
import keepfor.engine

KEEPFOR_ALL = [
    "Action",
    "Basis",
    "Boundary",
    "Clock",
    "Decision",
    "FixedClock",
    "KeepforError",
    "Period",
    "RecordError",
    "RetentionRule",
    "RuleOutcome",
    "RulePack",
    "RulePackError",
    "RuleSet",
    "Status",
    "SystemClock",
    "UsageError",
    "__version__",
    "evaluate",
    "evaluate_many",
    "load_pack",
    "load_rules",
    "parse_pack",
]

ENGINE_ALL = [
    "Action",
    "Anchor",
    "Basis",
    "Boundary",
    "Decision",
    "EarliestOf",
    "EndOf",
    "EndOfKind",
    "FieldAnchor",
    "Instant",
    "LatestOf",
    "MonthDay",
    "Period",
    "Retain",
    "RetentionRule",
    "RuleOutcome",
    "RulePack",
    "RuleSet",
    "Several",
    "Status",
    "Term",
    "TermResult",
    "evaluate",
    "json_schema",
    "load_pack",
    "load_rules",
    "local_date",
    "parse_pack",
]

ENGINE_DIR = Path(keepfor.engine.__file__).parent
CLOCK_CALLS = ("datetime.now", "date.today", "time.time", "utcnow", "datetime.today")
HEAVY = ("sqlalchemy", "apscheduler", "durable_rules", "durable", "durable_rules_engine")


@pytest.mark.parametrize(
    ("module", "expected"), [("keepfor", KEEPFOR_ALL), ("keepfor.engine", ENGINE_ALL)]
)
def test_all_is_pinned(module: str, expected: list[str]) -> None:
    exported = importlib.import_module(module).__all__
    assert exported == expected, "update the pinned list on purpose when the API changes"
    assert expected == sorted(expected)
    assert len(set(expected)) == len(expected)


@pytest.mark.parametrize(
    ("module", "names"), [("keepfor", KEEPFOR_ALL), ("keepfor.engine", ENGINE_ALL)]
)
def test_every_exported_name_is_importable(module: str, names: list[str]) -> None:
    loaded = importlib.import_module(module)
    for name in names:
        assert getattr(loaded, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from {module} import *", namespace)
    assert set(names) <= set(namespace)


def test_top_level_names_are_the_engine_s() -> None:
    for name in set(KEEPFOR_ALL) & set(ENGINE_ALL):
        assert getattr(keepfor, name) is getattr(keepfor.engine, name), name


def test_version_is_the_package_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", keepfor.__version__)


def test_engine_never_reads_the_clock() -> None:
    sources = sorted(ENGINE_DIR.rglob("*.py"))
    assert sources, ENGINE_DIR
    offenders = [
        f"{path.relative_to(ENGINE_DIR)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(call in line for call in CLOCK_CALLS)
    ]
    assert offenders == [], "the engine is pure: take the instant as an argument"


def test_engine_imports_nothing_that_reads_the_clock() -> None:
    for path in sorted(ENGINE_DIR.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import time\b|from time import)", text, re.M), path
        assert "keepfor.clock" not in text, path


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("statement", ["import keepfor", "import keepfor.engine"])
def test_importing_keepfor_stays_light(statement: str) -> None:
    loaded = _modules_after(statement)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    assert "keepfor" in loaded


REPORT_NEVER_LOADS = (
    "alembic",  # the store's migrations
    "sqlmodel",  # the store's models
    "keepfor.store",
    "keepfor.audit",  # what acting needs, not reading
    "keepfor.actions.trail",
    "keepfor.connectors.targets",
)


def test_a_report_on_a_table_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    """Start-up is measured (docs/benchmarks.md); this pins what a report on a table
    imports, so that acting's and the store's modules (a quarter of a second) do not
    creep back onto its path."""
    db = tmp_path / "empty.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, category TEXT, placed_at DATE)")
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        'pack: p\nversion: "1"\ntimezone: UTC\nrules:\n  - id: orders\n'
        "    applies_to: {category: order}\n    retain: {from: placed_at, for: P6Y}\n"
        "    then: purge\n",
        encoding="utf-8",
    )
    args = ["report", "--rules", str(pack), "--db", f"sqlite:///{db}", "--table", "records",
            "--format", "csv", "--output", str(tmp_path / "out.csv")]  # fmt: skip
    run = f"from keepfor.cli.app import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    ..."
    loaded = _modules_after(f"exec({run!r})")
    assert "keepfor.report.build" in loaded  # it did report
    assert sorted(m for m in loaded if m.startswith(REPORT_NEVER_LOADS)) == []
