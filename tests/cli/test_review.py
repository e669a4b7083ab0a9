"""``keepfor review``: a rule that says ``review`` queues its due records; a person
approves (the next sweep disposes of them, audited) or rejects (they stay, and are not
queued again); who, when and why are kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import NOW, assert_bad_input, invoke

PACK = """\
pack: hr
version: "1"
timezone: Europe/London
rules:
  - id: cvs
    applies_to: {category: cv}
    retain: {from: received_at, for: P6M}
    then: review
"""


@pytest.fixture
def hr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Six CVs, four of them due for review at 2026-11-22."""
    db = sqlite3.connect(tmp_path / "hr.db")
    db.execute("CREATE TABLE cvs (id INTEGER PRIMARY KEY, category TEXT, received_at DATE)")
    for i, received in enumerate(["2024-01-05", "2025-02-01", "2025-03-01", "2026-04-01",
                                   "2026-09-01", "2026-10-01"], start=1):  # fmt: skip
        db.execute("INSERT INTO cvs VALUES (?, 'cv', ?)", (i, received))
    db.commit()
    db.close()
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    (tmp_path / "keepfor.toml").write_text(
        '[sources.cvs]\nurl = "sqlite:///hr.db"\ntable = "cvs"\nmax_disposal_share = 1\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-review")
    return tmp_path


def _sweep(hr: Path, *args: str) -> dict[str, int]:
    run = invoke(
        "sweep", "--rules", hr / "pack.yaml", "--config", hr / "keepfor.toml",
        "--at", "2026-11-22", "--format", "json", *args,
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    counts: dict[str, int] = json.loads(run.stdout)["sources"]["cvs"]
    return counts


def _review(hr: Path, *args: str) -> str:
    run = invoke("review", *args, "--config", hr / "keepfor.toml")
    assert run.exit_code == 0, run.stderr
    return run.stdout


def _sql(hr: Path, query: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(hr / "hr.db")
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_approved_records_are_disposed_of_by_the_next_sweep(hr: Path) -> None:
    assert _sweep(hr)["review"] == 4  # dry run
    assert _sweep(hr, "--apply")["review"] == 4
    queued = json.loads(_review(hr, "list", "--format", "json"))
    assert [(q["record"], q["status"], q["rule"]) for q in queued] == [
        (str(i), "pending", "cvs") for i in range(1, 5)
    ]
    assert _sweep(hr, "--apply")["review"] == 0  # queued once, not again
    out = _review(hr, "approve", "1", "2", "--reason", "not considered", "--by", "ann")
    assert "review item 1 (record 1) approved, to purge" in out
    _review(hr, "reject", "3", "--reason", "considering for a role", "--by", "bob")
    assert _sweep(hr)["purge"] == 2  # the dry run says what the approval will do
    assert _sweep(hr, "--apply")["purge"] == 2
    assert [r[0] for r in _sql(hr, "SELECT id FROM cvs ORDER BY id")] == [3, 4, 5, 6]
    assert _sql(hr, "SELECT action, count(*) FROM keepfor_audit GROUP BY action") == [
        ("purge", 2),
        ("review", 4),
    ]
    every = json.loads(_review(hr, "list", "--status", "all", "--format", "json"))
    decided = {q["record"]: (q["status"], q["decided_by"], q["reason"]) for q in every}
    assert decided == {
        "1": ("done", "ann", "not considered"),
        "2": ("done", "ann", "not considered"),
        "3": ("rejected", "bob", "considering for a role"),
        "4": ("pending", None, None),
    }
    assert all(q["decided_at"] == NOW.isoformat() for q in every if q["decided_by"])
    assert _sweep(hr, "--apply")["purge"] == 0


def test_approve_may_anonymise_instead(hr: Path) -> None:
    (hr / "keepfor.toml").write_text(
        (hr / "keepfor.toml").read_text() + '[sources.cvs.anonymise]\nreceived_at = "null"\n'
    )
    _sweep(hr, "--apply")
    _review(hr, "approve", "4", "--reason", "keep the count", "--then", "anonymise")
    # anonymised, the record no longer has the date that made it due
    assert _sweep(hr, "--apply")["anonymise"] == 1
    assert _sql(hr, "SELECT received_at FROM cvs WHERE id = 4") == [(None,)]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["approve", "99", "--reason", "x"], "no review item 99"),
        (["reject", "1", "--reason", "x"], "review item 1 is rejected, not pending"),
    ],
)
def test_deciding_an_item_that_is_not_pending_is_bad_input(
    hr: Path, args: list[str], fragment: str
) -> None:
    _sweep(hr, "--apply")
    _review(hr, "reject", "1", "--reason", "first")
    run = invoke("review", *args, "--config", hr / "keepfor.toml")
    assert_bad_input(run, fragment)


def test_approving_a_disposal_the_source_cannot_take_is_bad_input(hr: Path) -> None:
    """A table has no restorable archive: an approval to archive is refused in one line,
    before anything is decided, and the item stays pending."""
    _sweep(hr, "--apply")
    run = invoke("review", "approve", "1", "--reason", "x", "--then", "archive",
                 "--config", hr / "keepfor.toml")  # fmt: skip
    assert_bad_input(run, "source 'cvs': approve --then archive: this kind of source cannot")
    assert "nothing was approved" in run.stderr
    queued = json.loads(_review(hr, "list", "--format", "json"))
    assert [q["status"] for q in queued] == ["pending"] * 4


def test_an_empty_queue(hr: Path) -> None:
    assert json.loads(_review(hr, "list", "--format", "json")) == []
    assert "0 items" in _review(hr, "list")


def test_a_rejection_can_hold_the_record(hr: Path) -> None:
    _sweep(hr, "--apply")
    out = _review(hr, "reject", "2", "--reason", "considering for a role", "--hold",
                  "--until", "2027-06-30", "--by", "bob")  # fmt: skip
    assert "review item 2 (record 2) rejected, and held" in out
    run = invoke("hold", "list", "--config", hr / "keepfor.toml", "--source", "cvs",
                 "--format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    (hold,) = json.loads(run.stdout)
    assert hold["reason"] == "review rejected: considering for a role"
    assert hold["until"] == "2027-06-30"
    assert _sweep(hr)["held"] == 1


def test_until_without_hold_is_bad_input(hr: Path) -> None:
    _sweep(hr, "--apply")
    run = invoke("review", "reject", "1", "--reason", "x", "--until", "2027-01-01",
                 "--config", hr / "keepfor.toml")  # fmt: skip
    assert_bad_input(run, "--until goes with --hold")


def test_a_reason_that_looks_like_markup_is_listed_as_given(hr: Path) -> None:
    _sweep(hr, "--apply")
    _review(hr, "reject", "2", "--reason", "[/b] not [red]yet[/red]", "--by", "bob")
    out = _review(hr, "list", "--status", "rejected")
    assert "bob: [/b] not [red]yet[/red]" in out
