"""``then: archive`` on the HubSpot-shaped server: due contacts archived through batch
archive (100 a call), still restorable (found with ``archived=true``), audited as
``archive`` and counted apart from purges with the day they stay restorable until; a
dry run does nothing; a sweep that stopped between archiving and auditing is finished
by the next one, each archive audited once."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from keepfor import Action
from keepfor.connectors.hubspot_client import HubSpotClient
from tests.cli.conftest import NOW, Run, invoke
from tests.connectors.test_hubspot import AT, FAST, PACK
from tests.connectors.test_hubspot_sweep import expected, write_config
from tests.servers.hubspot_fixture import HubSpot, hubspot_fixture  # noqa: F401 (fixture)

ARCHIVE = "/crm/v3/objects/contacts/batch/archive"
GDPR = "/crm/v3/objects/contacts/gdpr-delete"
RESTORABLE_UNTIL = (NOW.date() + timedelta(days=90)).isoformat()
"""The sweep runs at the test clock's ``NOW``: what it archives is restorable 90 days."""


def leads_then(action: str) -> dict[str, Any]:
    """The HubSpot pack, with the leads' ``then`` changed to ``action``."""
    rules = [{**r, "then": action} if r["id"] == "leads" else r for r in PACK["rules"]]
    return {**PACK, "rules": rules}


def write_setup(
    hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leads: str
) -> list[Path]:
    """The pack (the leads' ``then`` as given) and the config; the audit key set."""
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-hubspot")
    pack, config = write_config(hubspot, tmp_path)
    pack.write_text(yaml.safe_dump(leads_then(leads)), encoding="utf-8")
    return [pack, config]


@pytest.fixture
def setup(hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The leads archived."""
    return write_setup(hubspot, tmp_path, monkeypatch, "archive")


def sweep(setup: list[Path], *args: str, at: datetime = AT) -> Run:
    pack, config = setup
    return invoke(
        "sweep", "--rules", pack, "--config", config, "--at", at.isoformat(), "--format",
        "json", *args,
    )  # fmt: skip


def audit_rows(state: Path) -> list[tuple[str, str, str]]:
    """Each audit entry's action, rule and sweep id."""
    with sqlite3.connect(state) as db:
        query = "SELECT action, rule_id, sweep_id FROM keepfor_audit ORDER BY sequence"
        return [tuple(row) for row in db.execute(query)]


def archived_ids(server: HubSpot) -> set[str]:
    return {k for k, o in server.objects().items() if o["archived"]}


def test_archive_is_batch_archive_audited_and_never_a_purge(
    hubspot: HubSpot, setup: list[Path], tmp_path: Path
) -> None:
    due = expected(hubspot, tmp_path)[Action.PURGE]  # the leads due: archived now
    assert len(due) > 1
    hubspot.configure(rate_limit=7, retry_after="0", faults=[{"path": ARCHIVE, "count": 1}])
    run = sweep(setup, "--apply")
    assert run.exit_code == 0, run.stderr
    counts = run.json()["sources"]["crm"]
    assert (counts["archive"], counts["purge"]) == (len(due), 0)
    assert counts["restorable_until"] == RESTORABLE_UNTIL
    assert archived_ids(hubspot) == due  # still there: restorable
    requests = hubspot.requests()
    calls = [r["body"]["inputs"] for r in requests if r["path"] == ARCHIVE]
    assert all(len(inputs) <= 100 for inputs in calls)
    assert {i["id"] for inputs in calls for i in inputs} == due
    assert not [r for r in requests if r["path"] == GDPR]
    rows = audit_rows(tmp_path / "state.db")
    assert sorted(r[0] for r in rows if r[1] == "leads") == ["archive"] * len(due)
    assert "purge" not in {r[0] for r in rows}

    again = sweep(setup, "--apply")
    assert again.exit_code == 0, again.stderr
    assert again.json()["sources"]["crm"]["archive"] == 0
    assert again.json()["sources"]["crm"]["restorable_until"] is None
    assert len(audit_rows(tmp_path / "state.db")) == len(rows)
    assert len([r for r in hubspot.requests() if r["path"] == ARCHIVE]) == len(calls)


def test_the_table_says_archived_records_are_restorable_not_purged(
    hubspot: HubSpot, setup: list[Path]
) -> None:
    pack, config = setup
    args = ("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat())
    run = invoke(*args)
    assert run.exit_code == 0, run.stderr
    assert "would be archived (restorable)" in run.stdout
    assert f"Archived records can be restored until {RESTORABLE_UNTIL}." in run.stdout
    assert "would be purged" in run.stdout  # the purges apart: none


def test_a_dry_run_archives_nothing(hubspot: HubSpot, setup: list[Path], tmp_path: Path) -> None:
    due = expected(hubspot, tmp_path)[Action.PURGE]
    run = sweep(setup)
    assert run.exit_code == 0, run.stderr
    data = run.json()
    assert data["applied"] is False
    assert data["sources"]["crm"]["archive"] == len(due)
    assert data["sources"]["crm"]["purge"] == 0
    assert archived_ids(hubspot) == set()
    assert not [r for r in hubspot.requests() if r["method"] != "GET" and "search" not in r["path"]]


def test_archives_done_before_a_crash_are_audited_once_by_the_next_sweep(
    hubspot: HubSpot, setup: list[Path], tmp_path: Path
) -> None:
    due = sorted(expected(hubspot, tmp_path)[Action.PURGE], key=int)
    assert (
        sweep(setup, "--apply", at=datetime(2000, 1, 1, tzinfo=UTC)).exit_code == 0
    )  # tables only
    interrupted = "0" * 32
    state = tmp_path / "state.db"
    with sqlite3.connect(state) as db:  # the journal an interrupted sweep left
        db.executemany(
            "INSERT INTO keepfor_journal VALUES ('crm', ?, 'archive', 'leads', 'crm', ?, ?)",
            [(key, interrupted, "2026-11-22 08:59:00") for key in due],
        )
    done, left = due[: len(due) // 2], due[len(due) // 2 :]
    client = HubSpotClient("source 'crm'", hubspot.url, hubspot.token, retry=FAST)
    try:
        assert list(client.batch_archive("contacts", done)) == done  # archived, not audited
    finally:
        client.close()
    run = sweep(setup, "--apply")
    assert run.exit_code == 0, run.stderr
    assert run.json()["sources"]["crm"]["archive"] == len(left)
    assert archived_ids(hubspot) == set(due)
    rows = [r for r in audit_rows(state) if r[0] == "archive"]
    assert len(rows) == len(due)  # each archive audited once
    assert len([r for r in rows if r[2] == interrupted]) == len(done)
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM keepfor_journal").fetchone()[0] == 0
    archive_calls = [r for r in hubspot.requests() if r["path"] == ARCHIVE]
    again = {i["id"] for r in archive_calls[1:] for i in r["body"]["inputs"]}
    assert again == set(left)  # none archived twice


def test_the_certificate_of_disposal_lists_archives_as_restorable(
    hubspot: HubSpot, setup: list[Path], tmp_path: Path
) -> None:
    due = expected(hubspot, tmp_path)[Action.PURGE]
    assert sweep(setup, "--apply").exit_code == 0
    config = setup[1]
    run = invoke("audit", "export", "--config", config, "--format", "json")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    archives = [e for e in data["entries"] if e["action"] == "archive"]
    assert len(archives) == len(due)
    assert data["disposed"]["archive"] == {"count": len(due), "permanent": False}
    restorable = {(e["time"][:10], e["restorable_until"]) for e in archives}
    assert restorable == {(NOW.date().isoformat(), RESTORABLE_UNTIL)}
    assert data["disposed"]["purge"]["count"] == 0
    assert data["disposed"]["anonymise"]["permanent"] is True
    run = invoke("audit", "export", "--config", config, "--format", "csv")
    assert run.exit_code == 0, run.stderr
    rows = [r for r in csv.DictReader(io.StringIO(run.stdout)) if r["action"] == "archive"]
    assert len(rows) == len(due)
    assert {r["restorable_until"] for r in rows} == {RESTORABLE_UNTIL}


def test_the_safety_valve_weighs_archives(hubspot: HubSpot, setup: list[Path]) -> None:
    config = setup[1]
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("max_disposal_share = 1.0", "max_disposal_share = 0.2"), "utf-8")
    run = sweep(setup, "--apply")
    assert run.exit_code == 3, run.stderr
    assert "would purge, archive or anonymise" in run.stderr
    assert archived_ids(hubspot) == set()
