"""``keepfor sweep --apply`` on a real BottleCRM: due contacts deleted (``purge``) or
rewritten with ``PATCH`` (``anonymise``), a few requests at once; every action audited in
the state database; a second sweep finds nothing left to do."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from keepfor import Action, parse_pack
from keepfor.engine import RuleSet
from tests.cli.conftest import invoke
from tests.connectors import due_by_action
from tests.connectors.test_bottlecrm import AT, CREATED_PACK, source_of
from tests.servers.bottlecrm import (  # noqa: F401 (fixtures)
    CONTACTS,
    BottleCrm,
    bottlecrm_fixture,
    bottlecrm_template,
)

RULES = RuleSet((parse_pack(CREATED_PACK),))


def expected(crm: BottleCrm, tmp_path: Path) -> dict[Action, set[str]]:
    """What the engine says each contact gets, every contact read and evaluated."""
    return due_by_action(source_of(crm, tmp_path), RULES, AT)


def write_config(crm: BottleCrm, tmp_path: Path) -> tuple[Path, Path]:
    pack = tmp_path / "crm.yaml"
    pack.write_text(yaml.safe_dump(CREATED_PACK), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.crm]\nkind = "bottlecrm"\nurl = "{crm.url}"\ntoken = "{crm.token}"\n'
        'category = "contact"\nstate_db = "sqlite:///state.db"\nmax_disposal_share = 1.0\n'
        "concurrency = 4\n"
        '[sources.crm.anonymise]\nemail = "null"\nphone = "null"\n'
        'first_name = "fixed:Anonymous"\nlast_name = "hash"\ndescription = "truncate:5"\n',
        encoding="utf-8",
    )
    return pack, config


def audited(state: Path) -> int:
    with sqlite3.connect(state) as db:
        count: int = db.execute("SELECT count(*) FROM keepfor_audit").fetchone()[0]
        return count


def test_sweep_purges_and_anonymises_through_the_api(
    bottlecrm: BottleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-bottlecrm")
    due = expected(bottlecrm, tmp_path)
    assert due[Action.PURGE]
    assert due[Action.ANONYMISE]
    pack, config = write_config(bottlecrm, tmp_path)
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert run.exit_code == 0, run.stderr
    assert bottlecrm.token not in run.stdout + run.stderr
    for key in due[Action.PURGE]:
        assert bottlecrm.contact(key) is None
    for key in due[Action.ANONYMISE]:
        contact = bottlecrm.contact(key)
        assert contact is not None
        assert contact["email"] is None
        assert contact["phone"] is None
        assert contact["first_name"] == "Anonymous"
        assert re.fullmatch(r"[0-9a-f]{64}", contact["last_name"])
        assert contact["description"] == "notes"
    untouched = set(bottlecrm.ids) - due[Action.PURGE] - due[Action.ANONYMISE]
    for key in untouched:
        contact = bottlecrm.contact(key)
        assert contact is not None
        assert contact["first_name"] == CONTACTS[bottlecrm.ids.index(key)]["first_name"]
    acted = len(due[Action.PURGE]) + len(due[Action.ANONYMISE])
    assert audited(tmp_path / "state.db") == acted

    again = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert again.exit_code == 0, again.stderr
    assert audited(tmp_path / "state.db") == acted


def test_a_null_first_name_is_refused_before_anything_is_done(
    bottlecrm: BottleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-bottlecrm")
    pack, config = write_config(bottlecrm, tmp_path)
    text = config.read_text().replace('"fixed:Anonymous"', '"null"')
    config.write_text(text)
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert run.exit_code == 2, (run.exit_code, run.stderr)
    assert "anonymise.first_name" in run.stderr
    assert all(bottlecrm.contact(key) is not None for key in bottlecrm.ids[:5])


def test_a_purge_done_but_not_audited_is_audited_by_the_next_sweep(
    bottlecrm: BottleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime

    import sqlalchemy as sa

    from keepfor.actions.remote import ensure_journal, journal
    from keepfor.database import create_engine

    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-bottlecrm")
    pack, config = write_config(bottlecrm, tmp_path)
    gone, kept = bottlecrm.ids[0], bottlecrm.ids[1]
    with bottlecrm.client() as http:  # a sweep deleted it, then stopped before auditing
        assert http.delete(f"/api/contacts/{gone}/").status_code == 200
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        ensure_journal(conn)
        row = {"source": "crm", "action": "purge", "rule_id": "web-contacts", "pack_id": "crm",
               "sweep_id": "crashed", "started_at": datetime(2026, 11, 22, 8)}  # fmt: skip
        conn.execute(journal.insert(), [{**row, "record_key": gone}, {**row, "record_key": kept}])
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--apply")
    assert run.exit_code == 0, run.stderr
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(journal)).scalar_one()
        crashed = conn.execute(
            sa.text("SELECT count(*) FROM keepfor_audit WHERE sweep_id = 'crashed'")
        ).scalar_one()
    engine.dispose()
    assert left == 0
    assert crashed == 1  # the contact that is gone; the one still there was not purged
