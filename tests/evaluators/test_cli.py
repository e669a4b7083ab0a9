"""``--evaluator`` on ``keepfor explain`` and ``keepfor report``: the same output from
either evaluator; a bad name, or durable_rules not installed, is one line and exit 2."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import AT, assert_bad_input, invoke
from tests.evaluators.conftest import need_durable

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
RECORDS = sorted((ROOT / "examples" / "records").glob("*.json"))


@pytest.fixture
def shop_db(tmp_path: Path) -> str:
    """A copy of the example store, so that nothing can touch the one in the repository."""
    copy = tmp_path / "shop.db"
    shutil.copy(ROOT / "examples" / "shop.db", copy)
    return f"sqlite:///{copy}"


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.name)
def test_explain_is_the_same_with_either_evaluator(record: Path) -> None:
    need_durable()
    args = ["explain", "--rules", RULES, "--record", record, "--at", AT, "--json", "--detail"]
    python = invoke(*args, "--evaluator", "python")
    durable = invoke(*args, "--evaluator", "durable_rules")
    assert python.exit_code == durable.exit_code == 0, durable.stderr
    assert durable.stdout == python.stdout == invoke(*args).stdout  # python is the default


def test_explain_a_stored_record_with_durable_rules(shop_db: str) -> None:
    need_durable()
    args = ["explain", "--rules", RULES, "--db", shop_db, "--id", "ord-1001", "--at", AT]
    durable = invoke(*args, "--evaluator", "durable_rules")
    assert durable.exit_code == 0, durable.stderr
    assert durable.stdout == invoke(*args).stdout


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_report_is_the_same_with_either_evaluator(shop_db: str, fmt: str) -> None:
    need_durable()
    args = ["report", "--rules", RULES, "--db", shop_db, "--at", AT, "--format", fmt]
    python = invoke(*args)
    durable = invoke(*args, "--evaluator", "durable_rules")
    assert python.exit_code == durable.exit_code == 0, durable.stderr
    assert durable.stdout == python.stdout
    assert durable.stderr == python.stderr


@pytest.mark.parametrize("command", ["explain", "report"])
def test_a_bad_evaluator_is_one_line(command: str, shop_db: str) -> None:
    where = ["--record", RECORDS[0]] if command == "explain" else ["--db", shop_db]
    run = invoke(command, "--rules", RULES, *where, "--at", AT, "--evaluator", "drools")
    assert_bad_input(run, "no evaluator 'drools'", "'python' or 'durable_rules'")


@pytest.mark.parametrize("command", ["explain", "report"])
def test_durable_rules_not_installed_is_one_line(
    command: str, shop_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "durable", None)  # as on Python 3.13
    monkeypatch.setitem(sys.modules, "durable.engine", None)
    where = ["--record", RECORDS[0]] if command == "explain" else ["--db", shop_db]
    run = invoke(command, "--rules", RULES, *where, "--at", AT, "--evaluator", "durable_rules")
    assert_bad_input(run, "durable-rules", "3.13", "pip install 'keepfor[durable]'")
