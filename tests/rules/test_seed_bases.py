"""Every seed rule states its lawful basis (``basis``), justified by the policy's words.

A default is not good enough here: an erasure request keeps only what a legal
obligation keeps, so each rule of each pack in rules/ must say its basis out loud,
with a comment just above quoting the words of the policy it comes from.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import keepfor
from keepfor import Basis

ROOT = Path(__file__).resolve().parents[2]
PACK_FILES = sorted((ROOT / "rules").glob("*.yaml"))
SEEDS = ROOT.parent / "shared" / "seeds"
"""The seed policies, beside the repository (not shipped with it)."""

BASES = {
    ("jb-carpentry", "contact-consent-withdrawn"): Basis.CONSENT,
    ("jet-plumbing", "orders-tax"): Basis.LEGAL_OBLIGATION,  # "legal obligation ... tax"
    ("jet-plumbing", "enquiries-resolved"): Basis.LEGITIMATE_INTEREST,
    ("jet-plumbing", "correspondence-resolved"): Basis.LEGITIMATE_INTEREST,
    ("js-security", "contract-ended"): Basis.CONTRACT,
    ("js-security", "consent-withdrawn"): Basis.CONSENT,
    ("js-security", "job-applications"): Basis.LEGITIMATE_INTEREST,
    ("js-security", "employee-files"): Basis.LEGITIMATE_INTEREST,
    ("js-security", "messages-no-period"): Basis.LEGITIMATE_INTEREST,
    ("kjm-group", "services-provided"): Basis.CONTRACT,
    ("kjm-group", "quotes-not-accepted"): Basis.LEGITIMATE_INTEREST,
    ("kjm-group", "quotes-accepted"): Basis.CONTRACT,
    ("kjm-group", "cvs"): Basis.LEGITIMATE_INTEREST,
}


def test_there_are_packs() -> None:
    assert len(PACK_FILES) == 4


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_every_rule_sets_its_basis_explicitly(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = data["rules"]
    assert rules
    for rule in rules:
        assert rule.get("basis") in {b.value for b in Basis}, f"{path.name}: {rule['id']}"


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_every_basis_has_a_comment_above_it(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [i for i, line in enumerate(lines) if line.strip().startswith("basis:")]
    assert len(found) == len(yaml.safe_load("\n".join(lines))["rules"])
    for i in found:
        assert lines[i - 1].strip().startswith("#"), f"{path.name}:{i + 1}: no comment above"


def test_each_rule_has_the_basis_its_policy_gives() -> None:
    rules = keepfor.load_rules(*PACK_FILES)
    got = {(pack.id, rule.id): rule.basis for pack, rule in rules}
    assert got == BASES


def test_only_the_tax_records_are_a_legal_obligation() -> None:
    """The one clause that names a legal duty to keep records (seed 001, tax)."""
    legal = [key for key, basis in BASES.items() if basis is Basis.LEGAL_OBLIGATION]
    assert legal == [("jet-plumbing", "orders-tax")]


def _basis_comments(path: Path) -> list[str]:
    """The comment block just above each ``basis:`` line, joined into one text each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not line.strip().startswith("basis:"):
            continue
        block: list[str] = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            block.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        blocks.append(" ".join(block))
    return blocks


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed policies are not beside the repository")
@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_quoted_words_are_the_policy_s(path: Path) -> None:
    """Every "quoted" phrase in a basis comment is in the pack's seed policy, word for word
    (a ``...`` in a quote leaves words out)."""
    source = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"][0]["source"]
    seed = _squash((SEEDS / source.split(",")[0]).read_text(encoding="utf-8"))
    for comment in _basis_comments(path):
        quotes = re.findall(r'"([^"]+)"', comment)
        for quote in quotes:
            for piece in quote.split("..."):
                piece = _squash(piece)
                if piece:
                    assert piece in seed, f"{path.name}: {piece!r} is not in {source}"
