"""Sweeping an export file: the input is never edited; the kept records and the disposal
list are written beside it, atomically, named by the sweep; the audit and the marks are
in the state database; a sweep interrupted after acting is finished by the next, and
nothing is acted on twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import ActionTarget, RecordSource
from keepfor.actions.settings import ActionSettings, Strategy
from keepfor.actions.sweep import SweepResult, SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.audit.verify import verify
from keepfor.clock import FixedClock
from keepfor.connectors import filewrite
from keepfor.connectors.anonymise import value_pseudonym
from keepfor.connectors.files import FileSource
from keepfor.errors import SourceError
from tests.connectors.test_files import AT, RULES, source_of

KEY = b"k" * 32

CSV = """\
id,type,tier,opted_in,last_activity_at,resolved_at,email
1,contact,5,,2020-01-01,,a@example.com
2,contact,5,,n/a,,b@example.com
3,lead,1,false,2026-01-01,,c@example.com
4,lead,1,false,2020-01-01,,d@example.com
5,ticket,,,,2020-05-05,e@example.com
6,contact,4,,2020-01-01,,f@example.com
"""

SETTINGS = ActionSettings(
    max_disposal_share=1.0,
    flag_column="flagged_at",
    anonymise={"email": Strategy.parse("hash")},
)


def sweep(source: FileSource, settings: ActionSettings = SETTINGS) -> tuple[SweepResult, Trail]:
    trail = Trail(KEY, RULES, FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)))

    def target(opened: RecordSource) -> ActionTarget:
        assert isinstance(opened, FileSource)
        return opened.target(settings, trail)

    return run_sweep(RULES, [SweptSource(source, settings, target)], AT, apply=True), trail


def audited(source: FileSource) -> int:
    with source.marks.engine.connect() as conn:
        assert verify(conn).ok
        return int(conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar_one())


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_a_sweep_writes_kept_records_and_a_disposal_list_beside_the_file(tmp_path: Path) -> None:
    source = source_of(tmp_path, "csv", "contacts.csv", CSV, category_column="type")
    result, trail = sweep(source)
    tally = result.sources["export"]
    assert (tally.purge, tally.anonymise, tally.flag, tally.unreadable) == (1, 1, 1, 1)
    assert result.failures == []
    assert (tmp_path / "contacts.csv").read_text() == CSV  # never edited
    kept = lines(tmp_path / f"contacts.kept-{trail.sweep_id}.csv")
    email = value_pseudonym(KEY, "export", "email", "d@example.com")
    assert kept == [
        "id,type,tier,opted_in,last_activity_at,resolved_at,email,flagged_at",
        "2,contact,5,,n/a,,b@example.com,",
        "3,lead,1,false,2026-01-01,,c@example.com,",
        f"4,lead,1,false,2020-01-01,,{email},",
        "5,ticket,,,,2020-05-05,e@example.com,2026-11-22T09:00:00Z",
        "6,contact,4,,2020-01-01,,f@example.com,",
    ]
    disposed = lines(tmp_path / f"contacts.disposed-{trail.sweep_id}.csv")
    assert disposed == [
        "key,rule,pack,action,disposed_at",
        "4,leads,crm,anonymise,2026-11-22T09:00:00Z",
        "1,contacts,crm,purge,2026-11-22T09:00:00Z",
    ]
    assert audited(source) == 3
    assert not list(tmp_path.glob(".*partial"))


def test_a_rerun_acts_on_nothing_twice_and_purged_records_stay_gone(tmp_path: Path) -> None:
    source = source_of(tmp_path, "csv", "contacts.csv", CSV, category_column="type")
    sweep(source)
    files = sorted(tmp_path.glob("contacts.*-*.csv"))
    again, _ = sweep(source)
    tally = again.sources["export"]
    assert (tally.purge, tally.anonymise, tally.flag, tally.total) == (0, 0, 0, 5)
    assert sorted(tmp_path.glob("contacts.*-*.csv")) == files  # nothing done: no new files
    assert audited(source) == 3
    assert source.get("1", ["email"]) is None  # purged: no longer read from the input


def test_a_jsonl_sweep_rewrites_only_the_records_acted_on(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "category": "lead", "opted_in": False, "last_activity_at": "2020-01-01",
         "email": "a@example.com", "name": "Ann Smith", "phone": 441234, "note": "x"},
        {"id": 2, "category": "lead", "opted_in": False, "last_activity_at": "2026-06-01",
         "email": "b@example.com", "name": "Bob", "phone": 1, "note": "y"},
    ]  # fmt: skip
    text = "".join(json.dumps(row, indent=None) + "\n" for row in rows)
    source = source_of(tmp_path, "jsonl", "leads.jsonl", text)
    settings = ActionSettings(
        max_disposal_share=1.0,
        anonymise={
            "email": Strategy.parse("hash"),
            "name": Strategy.parse("truncate:3"),
            "phone": Strategy.parse("null"),
            "note": Strategy.parse("fixed:(removed)"),
        },
    )
    _, trail = sweep(source, settings)
    kept = lines(tmp_path / f"leads.kept-{trail.sweep_id}.jsonl")
    assert json.loads(kept[0]) == {
        **rows[0],
        "email": value_pseudonym(KEY, "export", "email", "a@example.com"),
        "name": "Ann",
        "phone": None,
        "note": "(removed)",
    }
    assert kept[1] == json.dumps(rows[1])  # untouched: the line as it was
    disposed = [
        json.loads(line) for line in lines(tmp_path / f"leads.disposed-{trail.sweep_id}.jsonl")
    ]
    assert disposed == [
        {"key": "1", "rule": "leads", "pack": "crm", "action": "anonymise",
         "disposed_at": "2026-11-22T09:00:00Z"}
    ]  # fmt: skip


def test_a_crash_after_the_audit_is_finished_by_the_next_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = source_of(tmp_path, "csv", "contacts.csv", CSV, category_column="type")
    real = filewrite.write_atomically  # type: ignore[attr-defined]
    calls = {"n": 0}

    def crashing(path: Path, encoding: str, fill: Any) -> None:
        calls["n"] += 1
        if calls["n"] >= 5:  # the last batch's files (two a batch): as if the machine stopped
            (path.parent / f".{path.name}.partial").write_text("half")
            raise OSError(28, "No space left on device")
        real(path, encoding, fill)

    monkeypatch.setattr(filewrite, "write_atomically", crashing)
    first, trail = sweep(source)
    assert len(first.failures) == 1
    assert "the next sweep writes them" in first.failures[0]
    tally = first.sources["export"]
    assert (tally.purge, tally.anonymise, tally.flag, tally.failed) == (1, 1, 1, 0)
    assert audited(source) == 3  # every batch acted on and audited
    with source.marks.engine.connect() as conn:
        states = dict(
            conn.execute(sa.select(filewrite.outputs.c.sweep_id, filewrite.outputs.c.state)).all()
        )
    assert states == {trail.sweep_id: "pending"}
    assert list(tmp_path.glob(".*partial"))
    monkeypatch.setattr(filewrite, "write_atomically", real)

    second, _ = sweep(source)
    tally = second.sources["export"]
    assert (tally.purge, tally.anonymise, tally.flag) == (0, 0, 0)  # nothing acted on twice
    assert audited(source) == 3
    assert not list(tmp_path.glob(".*partial"))
    kept = lines(tmp_path / f"contacts.kept-{trail.sweep_id}.csv")
    assert [line.split(",")[0] for line in kept] == ["id", "2", "3", "4", "5", "6"]
    assert len(lines(tmp_path / f"contacts.disposed-{trail.sweep_id}.csv")) == 3
    with source.marks.engine.connect() as conn:
        states = dict(
            conn.execute(sa.select(filewrite.outputs.c.sweep_id, filewrite.outputs.c.state)).all()
        )
    assert states == {trail.sweep_id: "written"}


def test_a_failed_audit_acts_on_nothing_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = source_of(tmp_path, "csv", "contacts.csv", CSV, category_column="type")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Trail, "write", broken)
    result, _ = sweep(source)
    assert result.sources["export"].failed == 3
    assert all("nothing of the batch was done" in f for f in result.failures)
    assert not list(tmp_path.glob("contacts.*-*"))
    monkeypatch.undo()
    again, _ = sweep(source)
    assert again.sources["export"].purge == 1


def test_settings_that_do_not_fit_a_file_are_refused(tmp_path: Path) -> None:
    source = source_of(tmp_path, "csv", "contacts.csv", CSV, category_column="type")
    for settings, message in [
        (ActionSettings(anonymise={"emial": Strategy.parse("hash")}), "no column 'emial'"),
        (ActionSettings(anonymise={"id": Strategy.parse("hash")}), "key column cannot"),
        (ActionSettings(flag_column="id"), "key column cannot hold the flag"),
    ]:
        with pytest.raises(SourceError, match=message):
            source.target(settings, None)
