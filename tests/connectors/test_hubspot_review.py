"""Review on a CRM source: a rule that says ``review`` queues its due contacts in the
state database; those a person approves are disposed of by the next ``sweep --apply``,
through the API, with the disposal approved (here a restorable archive), audited, and
their items done; those rejected stay. Against the HubSpot-shaped server the tests run."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from keepfor import Action
from keepfor.connectors.hubspot_client import HubSpotClient
from tests.cli.conftest import invoke
from tests.connectors.test_hubspot import FAST
from tests.connectors.test_hubspot_archive import archived_ids, audit_rows, sweep, write_setup
from tests.connectors.test_hubspot_sweep import expected
from tests.servers.hubspot_fixture import HubSpot, hubspot_fixture  # noqa: F401 (fixture)


@pytest.fixture
def setup(hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The leads sent to a person instead of purged."""
    return write_setup(hubspot, tmp_path, monkeypatch, "review")


def _review(config: Path, *args: str) -> str:
    run = invoke("review", *args, "--config", config)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def test_approved_contacts_are_archived_by_the_next_sweep(
    hubspot: HubSpot, setup: list[Path], tmp_path: Path
) -> None:
    due = expected(hubspot, tmp_path)[Action.PURGE]  # the leads due: queued now
    assert len(due) > 2
    first = sweep(setup, "--apply")
    assert first.exit_code == 0, first.stderr
    assert first.json()["sources"]["crm"]["review"] == len(due)
    config = setup[1]
    queued = json.loads(_review(config, "list", "--format", "json"))
    assert {q["record"] for q in queued} == due
    ids = sorted(q["id"] for q in queued)
    approved, rejected = ids[:-1], ids[-1]
    _review(config, "approve", *map(str, approved), "--reason", "no longer a lead",
            "--then", "archive")  # fmt: skip
    _review(config, "reject", str(rejected), "--reason", "still talking to them")
    dry = sweep(setup)
    assert dry.json()["sources"]["crm"]["archive"] == len(approved)  # what --apply will do
    second = sweep(setup, "--apply")
    assert second.exit_code == 0, second.stderr
    assert second.json()["sources"]["crm"]["archive"] == len(approved)
    record_of = {q["id"]: q["record"] for q in queued}
    assert archived_ids(hubspot) == {record_of[i] for i in approved}
    state = tmp_path / "state.db"
    actions = [action for action, _, _ in audit_rows(state)]
    assert actions.count("review") == len(due)
    assert actions.count("archive") == len(approved)
    with sqlite3.connect(state) as db:
        statuses = dict(db.execute("SELECT id, status FROM keepfor_review").fetchall())
    assert statuses == {**dict.fromkeys(approved, "done"), rejected: "rejected"}
    third = sweep(setup, "--apply")  # nothing twice
    assert third.json()["sources"]["crm"]["archive"] == 0
    assert actions == [action for action, _, _ in audit_rows(state)]


def _archived(client: HubSpotClient, key: str) -> None:
    assert list(client.batch_archive("contacts", [key])) == [key]


def _anonymised(client: HubSpotClient, key: str) -> None:
    """What the sweep's anonymisation writes (the config: email hashed, stage fixed)."""
    shown = {"email": "ab" * 32, "lifecyclestage": "other"}
    assert client.batch_update("contacts", [(key, shown)]) == {key}


@pytest.mark.parametrize(
    ("then", "act", "path"),
    [("archive", _archived, "batch/archive"), ("anonymise", _anonymised, "batch/update")],
)
def test_an_approved_disposal_done_before_a_crash_is_done_after_the_next_sweep(
    hubspot: HubSpot,
    setup: list[Path],
    tmp_path: Path,
    then: str,
    act: Callable[[HubSpotClient, str], None],
    path: str,
) -> None:
    """Archived or anonymised, then killed before the audit: the next sweep audits it once,
    does not act again, and the item is done, not approved for ever (the journal does not
    say it was approved; the approved disposal is in effect)."""
    due = sorted(expected(hubspot, tmp_path)[Action.PURGE], key=int)
    assert sweep(setup, "--apply").exit_code == 0  # queued
    config = setup[1]
    queued = json.loads(_review(config, "list", "--format", "json"))
    first = min(queued, key=lambda q: int(q["record"]))
    _review(config, "approve", str(first["id"]), "--reason", "done with", "--then", then)
    state = tmp_path / "state.db"
    with sqlite3.connect(state) as db:  # the journal of a sweep killed after acting
        db.execute(
            "INSERT INTO keepfor_journal VALUES ('crm', ?, ?, 'leads', 'crm', ?, ?)",
            (first["record"], then, "0" * 32, "2026-11-22 08:59:00"),
        )
    client = HubSpotClient("source 'crm'", hubspot.url, hubspot.token, retry=FAST)
    try:
        act(client, first["record"])
    finally:
        client.close()
    before = len(hubspot.requests())
    run = sweep(setup, "--apply")
    assert run.exit_code == 0, run.stderr
    assert run.json()["sources"]["crm"][then] == 0  # already done: audited, not again
    assert not [r for r in hubspot.requests()[before:] if path in r["path"]]
    assert [(a, r) for a, r, _ in audit_rows(state)].count((then, "leads")) == 1
    with sqlite3.connect(state) as db:
        status = db.execute("SELECT status FROM keepfor_review WHERE id = ?", (first["id"],))
        assert status.fetchone() == ("done",)
    assert first["record"] in due
