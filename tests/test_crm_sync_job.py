"""``examples/crm_sync_job.py`` end to end against a real BottleCRM and the HubSpot-shaped
server: a dry run touches nothing, ``--apply`` acts on what is due and audits it, and
a second run acts on nothing again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.audit import verify
from tests.servers.bottlecrm import (  # noqa: F401 (fixtures)
    BottleCrm,
    bottlecrm_fixture,
    bottlecrm_template,
)

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
