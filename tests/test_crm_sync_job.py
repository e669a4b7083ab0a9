"""``examples/crm_sync_job.py`` end to end against a real BottleCRM and the HubSpot-shaped
server: a dry run touches nothing, ``--apply`` acts on what is due and audits it, and
a second run acts on nothing again."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.audit import verify
from tests.servers.bottlecrm import CONTACTS as BOTTLECRM_CONTACTS
from tests.servers.bottlecrm import (  # noqa: F401 (fixtures)
    BottleCrm,
    bottlecrm_fixture,
    bottlecrm_template,
)
from tests.servers.hubspot_fixture import ms, start_hubspot

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "examples" / "crm_sync_job.py"
AT = "2026-11-22T09:00:00+00:00"
KEY = "0123456789abcdef-crm-sync-job"


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(JOB), *args, "--at", AT],
        cwd=cwd,
        env={**os.environ, "KEEPFOR_AUDIT_KEY": KEY, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _audited(cwd: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{cwd / 'crm_sync_state.db'}")
    with engine.connect() as conn:
        assert verify(conn).ok
        rows = conn.execute(sa.text("SELECT action, count(*) FROM keepfor_audit GROUP BY action"))
        counts = {action: n for action, n in rows}
    engine.dispose()
    return counts


def test_the_job_syncs_bottlecrm(bottlecrm: BottleCrm, tmp_path: Path) -> None:
    env = {"BOTTLECRM_URL": bottlecrm.url, "BOTTLECRM_TOKEN": bottlecrm.token}
    dry = _run(tmp_path, env, "--crm", "bottlecrm")
    assert dry.returncode == 0, dry.stderr
    assert "57 contacts changed since the last run" in dry.stdout
    assert all(bottlecrm.contact(key) is not None for key in bottlecrm.ids)
    applied = _run(tmp_path, env, "--crm", "bottlecrm", "--apply")
    assert applied.returncode == 0, applied.stderr
    audited = _audited(tmp_path)
    gone = [key for key in bottlecrm.ids if bottlecrm.contact(key) is None]
    assert audited.get("purge", 0) == len(gone) > 0
    assert audited.get("anonymise", 0) > 0
    assert audited.get("flag", 0) > 0
    again = _run(tmp_path, env, "--crm", "bottlecrm", "--apply")
    assert again.returncode == 0, again.stderr
    assert "done: 0 purge, 0 anonymise, 0 flag" in again.stdout
    assert _audited(tmp_path) == audited


HUBSPOT_TYPES = {
    "contacts": {
        "email": "string",
        "phone": "string",
        "firstname": "string",
        "lastname": "string",
        "source": "enumeration",
        "keepfor_flag": "bool",
        "createdate": "datetime",
        "lastmodifieddate": "datetime",
    }
}


def _hubspot_contacts() -> list[dict[str, Any]]:
    """The BottleCRM test contacts, as HubSpot would hold them."""
    rows = []
    for i, contact in enumerate(BOTTLECRM_CONTACTS, start=1):
        props = {
            "email": contact["email"],
            "phone": contact["phone"],
            "firstname": contact["first_name"],
            "lastname": contact["last_name"],
            "source": contact["source"],
            "createdate": ms(datetime.fromisoformat(contact["created_at"])),
            "lastmodifieddate": ms(datetime.fromisoformat(contact["updated_at"])),
        }
        rows.append({"id": str(i), "properties": props})
    return rows


def test_the_job_syncs_hubspot(tmp_path: Path) -> None:
    server = start_hubspot(tmp_path, {"contacts": _hubspot_contacts()}, HUBSPOT_TYPES)
    try:
        env = {"HUBSPOT_URL": server.url, "HUBSPOT_TOKEN": server.token}
        dry = _run(tmp_path, env, "--crm", "hubspot")
        assert dry.returncode == 0, dry.stderr
        assert "57 contacts changed since the last run" in dry.stdout
        assert server.token not in dry.stdout + dry.stderr
        before = server.objects()
        assert all(not o.get("archived") for o in before.values())
        applied = _run(tmp_path, env, "--crm", "hubspot", "--apply")
        assert applied.returncode == 0, applied.stderr
        after = server.objects()
        audited = _audited(tmp_path)
        assert audited.get("purge", 0) == len(before) - len(after) > 0
        anonymised = [o for o in after.values() if o["properties"].get("firstname") == "Anonymised"]
        assert audited.get("anonymise", 0) == len(anonymised) > 0
        flagged = [o for o in after.values() if o["properties"].get("keepfor_flag") == "true"]
        assert audited.get("flag", 0) == len(flagged) > 0
        again = _run(tmp_path, env, "--crm", "hubspot", "--apply")
        assert again.returncode == 0, again.stderr
        assert "done: 0 purge, 0 anonymise, 0 flag" in again.stdout
        assert _audited(tmp_path) == audited
    finally:
        server.stop()


def test_the_job_without_its_crm_is_one_line(tmp_path: Path) -> None:
    env = {"BOTTLECRM_URL": "http://127.0.0.1:9", "BOTTLECRM_TOKEN": "x"}
    run = _run(tmp_path, env, "--crm", "bottlecrm")
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("crm", ["bottlecrm", "hubspot"])
def test_the_job_says_which_variable_is_missing(tmp_path: Path, crm: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(crm.upper())}
    run = subprocess.run(
        [sys.executable, str(JOB), "--crm", crm],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert f"{crm.upper()}_URL" in run.stderr
