"""Ids with leading, trailing and repeated hyphens (the contract's ``[a-z0-9-]+``) load,
explain and report like any other: nothing downstream splits or parses an id."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli.conftest import invoke
from tests.report import DUE, PACK_YAML, TABLE, load

AT = "2026-01-15T12:00:00Z"
PACK = "-shop--x-"
RULE = "-orders--x-"
OTHER = """\
pack: fz-
version: "1"
timezone: UTC
rules:
  - id: "-orders--x-"
    applies_to: {category: order}
    retain: {from: placed_at, for: P0D}
    then: flag
"""
"""A second pack with a rule of the same id: reports name it ``pack/rule``."""


def hyphenated() -> str:
    """The report tests' pack with hyphen-edged pack and rule ids."""
    text = PACK_YAML.replace("pack: shop", f'pack: "{PACK}"')
    return text.replace("id: orders", f'id: "{RULE}"')


@pytest.fixture
def packs(tmp_path: Path) -> list[Path]:
    first, second = tmp_path / "shop.yaml", tmp_path / "fz.yaml"
    first.write_text(hyphenated(), encoding="utf-8")
    second.write_text(OTHER, encoding="utf-8")
    return [first, second]


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    load(url)
    return url


def test_validate_accepts_them(packs: list[Path]) -> None:
    run = invoke("validate", *packs)
    assert run.exit_code == 0, run.stderr
    assert f"pack {PACK} 2026.1, 2 rules" in run.stdout
    assert "pack fz- 1, 1 rule" in run.stdout


def test_explain_names_them(packs: list[Path], tmp_path: Path) -> None:
    record = tmp_path / "order.json"
    record.write_text(json.dumps({"category": "order", "placed_at": "2019-05-01"}))
    rules = [arg for pack in packs for arg in ("--rules", pack)]
    run = invoke("explain", *rules, "--record", record, "--at", AT, "--json")
    assert run.exit_code == 0, run.stderr
    decision = run.json()
    assert (decision["rule"], decision["disposal_date"]) == (RULE, "2020-05-02")
    assert [m["rule"] for m in decision["matched"]] == [RULE, RULE]
    text = invoke("explain", *rules, "--record", record, "--at", AT)
    assert text.exit_code == 0, text.stderr
    assert f"rule {RULE}, basis legitimate_interest, pack {PACK} 2026.1" in text.stdout


def test_reports_name_them(packs: list[Path], url: str) -> None:
    base = ["report", "--at", AT, "--rules", packs[0], "--db", url, "--table", TABLE]
    run = invoke(*base, "--key", "key", "--format", "csv")
    assert run.exit_code == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    # an id that starts with "-" would start a formula in a spreadsheet: quoted, as keys are
    safe = "'" + RULE
    expected = {(k, safe if r == "orders" else r, d, a) for k, r, d, a in DUE}
    assert {(r["key"], r["rule"], r["disposal_date"], r["action"]) for r in rows} == expected
    assert {r["pack"] for r in rows} == {"'" + PACK}
    both = [*base[:5], "--rules", packs[1], *base[5:], "--key", "key"]
    for fmt in ("json", "html", "table"):
        out = invoke(*both, "--format", fmt)
        assert out.exit_code == 0, (fmt, out.stderr)
        assert f"{PACK}/{RULE}" in out.stdout or fmt == "html", fmt
        assert PACK in out.stdout, fmt
        assert RULE in out.stdout, fmt
