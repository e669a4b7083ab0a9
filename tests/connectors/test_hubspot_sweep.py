"""``keepfor sweep --apply`` on the HubSpot-shaped server: due contacts deleted with the
GDPR delete (``purge``, one a call), rewritten or flagged through batch update (100 a
call); every action audited in the state database; a second sweep does nothing; a
purge of objects without a permanent delete refused (one line, naming the rule); the
client's archive is no purge."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from keepfor import Action
from keepfor.connectors.hubspot_client import HubSpotClient
from tests.cli.conftest import invoke
from tests.connectors import due_by_action
from tests.connectors.test_hubspot import AT, PACK, RULES, source_of
from tests.servers.hubspot_fixture import (  # noqa: F401 (fixtures)
    CONTACTS,
    TYPES,
    HubSpot,
    hubspot_factory_fixture,
    hubspot_fixture,
)

BATCH = "/crm/v3/objects/contacts/batch/update"
GDPR = "/crm/v3/objects/contacts/gdpr-delete"


def expected(server: HubSpot, tmp_path: Path) -> dict[Action, set[str]]:
    """What the engine says each contact gets, every contact read and evaluated."""
    return due_by_action(source_of(server, tmp_path), RULES, AT)


def write_config(
    server: HubSpot, tmp_path: Path, object_type: str = "contacts"
) -> tuple[Path, Path]:
    pack = tmp_path / "crm.yaml"
    pack.write_text(yaml.safe_dump(PACK), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.crm]\nkind = "hubspot"\nurl = "{server.url}"\ntoken = "{server.token}"\n'
        f'object = "{object_type}"\ncategory = "contact"\nstate_db = "sqlite:///state.db"\n'
        "max_disposal_share = 1.0\n"
        '[sources.crm.fields]\nlast_activity_at = "notes_last_updated"\n'
        '[sources.crm.flag]\ncolumn = "keepfor_flag"\n'
        '[sources.crm.anonymise]\nemail = "hash"\nlifecyclestage = "fixed:other"\n',
        encoding="utf-8",
    )
    return pack, config


def audited(state: Path) -> int:
    with sqlite3.connect(state) as db:
        count: int = db.execute("SELECT count(*) FROM keepfor_audit").fetchone()[0]
        return count


def test_sweep_purges_anonymises_and_flags_through_the_api(
    hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-hubspot")
    due = expected(hubspot, tmp_path)
    assert due[Action.PURGE]
    assert due[Action.ANONYMISE]
    assert due[Action.FLAG]
    pack, config = write_config(hubspot, tmp_path)
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert run.exit_code == 0, run.stderr
    assert hubspot.token not in run.stdout + run.stderr
    objects = hubspot.objects()
    assert not due[Action.PURGE] & objects.keys()  # gone for good, not archived
    for key in due[Action.ANONYMISE]:
        props = objects[key]["properties"]
        assert re.fullmatch(r"[0-9a-f]{64}", props["email"])
        assert props["lifecyclestage"] == "other"
    for key in due[Action.FLAG]:
        assert objects[key]["properties"]["keepfor_flag"] == "true"
    requests = hubspot.requests()
    gdpr = [r for r in requests if r["path"] == GDPR]
    assert len(gdpr) == len(due[Action.PURGE])  # one contact a call
    assert all(len(r["body"]["inputs"]) <= 100 for r in requests if r["path"] == BATCH)
    acted = sum(len(keys) for action, keys in due.items() if action is not Action.REVIEW)
    assert audited(tmp_path / "state.db") == acted

    again = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert again.exit_code == 0, again.stderr
    assert audited(tmp_path / "state.db") == acted
    assert len([r for r in hubspot.requests() if r["path"] == GDPR]) == len(gdpr)


def test_a_purge_of_deals_is_refused_before_anything_is_done(
    hubspot_factory: Callable[..., HubSpot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-hubspot")
    server = hubspot_factory({"deals": CONTACTS}, {"deals": TYPES["contacts"]})
    pack, config = write_config(server, tmp_path, object_type="deals")
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert run.exit_code == 2, (run.exit_code, run.stdout, run.stderr)
    assert run.stderr.count("\n") == 1, run.stderr
    assert "source 'crm': rule 'leads' says 'then: purge'" in run.stderr
    assert "no permanent delete for deals" in run.stderr
    assert len(server.objects("deals")) == len(CONTACTS)
    assert not [r for r in server.requests() if r["method"] != "GET"]  # not even a search


def test_batch_update_takes_100_a_call_and_archive_is_restorable(hubspot: HubSpot) -> None:
    client = HubSpotClient("source 'crm'", hubspot.url, hubspot.token)
    try:
        inputs = [(c["id"], {"hs_lead_status": "OPEN"}) for c in CONTACTS] * 3
        done = client.batch_update("contacts", [*inputs, ("999999", {"email": "x"})])
        assert list(client.batch_archive("contacts", ["5"])) == ["5"]
        assert client.read("contacts", "5", ["email"]) is None
        assert client.archived("contacts", "5") is True
        assert client.archived("contacts", "7") is False  # live: not found among archived
        assert client.gdpr_delete("6") is True
        assert client.gdpr_delete("6") is False
        assert client.archived("contacts", "6") is False  # gone for good
    finally:
        client.close()
    assert done == {c["id"] for c in CONTACTS}
    sizes = [len(r["body"]["inputs"]) for r in hubspot.requests() if r["path"] == BATCH]
    assert sizes == [100, 72]  # 3 x 57 inputs and one gone
    objects = hubspot.objects()
    assert objects["5"]["archived"] is True  # still there: HubSpot restores it for 90 days
    assert "6" not in objects
