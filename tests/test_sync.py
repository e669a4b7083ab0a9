"""``keepfor.Sync``: a sync job's few lines, on a table named in a config and on a source
read record by record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor import FixedClock, Status
from keepfor.actions.settings import ActionSettings
from keepfor.audit import verify
from keepfor.errors import UsageError
from keepfor.sync import Sync
from tests.actions.test_remote import RULES as CRM_RULES
from tests.actions.test_remote import Remote, RemoteSource
from tests.actions.test_sweep import KEY, LINES, ROWS, RULES, TABLE, make_tables

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def _config(tmp_path: Path) -> Path:
    db = tmp_path / "shop.db"
    make_tables(f"sqlite:///{db}")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.shop]\nurl = "sqlite:///shop.db"\ntable = "{TABLE}"\n'
        "max_disposal_share = 1.0\n"
        f'[sources.shop.purge]\nchildren = ["{LINES}.record_id"]\n'
        '[sources.shop.anonymise]\nemail = "hash"\nname = "fixed:(removed)"\n',
        encoding="utf-8",
    )
    return config


def test_a_sync_job_decides_reports_and_sweeps_a_configured_table(tmp_path: Path) -> None:
    with Sync.from_config(
        _config(tmp_path), "shop", rules=RULES, clock=FixedClock(AT), audit_key=KEY
    ) as sync:
        decisions = list(sync.decide_many(ROWS))
        due = sum(1 for d in decisions if d.status is Status.DUE)
        assert sync.decide(ROWS[0]) == decisions[0]
        report = sync.report()
        counts = report.overall
        assert counts.total == len(ROWS)
        assert counts.bucket_sum() == len(ROWS)
        assert counts.due == due
        dry = sync.sweep()
        assert not dry.applied
        assert sum(t.acted for t in dry.sources.values()) == due
        done = sync.sweep(apply=True)
        assert sum(t.acted for t in done.sources.values()) == due
        assert not done.failures
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.connect() as conn:
        audited = conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar_one()
        assert verify(conn).ok
    engine.dispose()
    assert audited == due


def test_a_sync_job_sweeps_a_source_read_record_by_record(tmp_path: Path) -> None:
    remote = Remote(9)
    source = RemoteSource(remote, f"sqlite:///{tmp_path / 'state.db'}")
    settings = ActionSettings(max_disposal_share=1.0)
    with Sync(source, CRM_RULES, clock=FixedClock(AT), audit_key=KEY, settings=settings) as sync:
        assert sync.report().overall.due == 6
        result = sync.sweep(apply=True)
    assert sum(t.acted for t in result.sources.values()) == 6
    assert len(remote.calls) == 6


def test_an_unknown_source_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no source 'crm'"):
        Sync.from_config(_config(tmp_path), "crm", rules=RULES)


def test_applying_without_an_audit_key_acts_on_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPFOR_AUDIT_KEY", raising=False)
    sync = Sync.from_config(_config(tmp_path), "shop", rules=RULES, clock=FixedClock(AT))
    with sync, pytest.raises(UsageError, match="audit key"):
        sync.sweep(apply=True)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.connect() as conn:
        left = conn.execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar_one()
    engine.dispose()
    assert left == len(ROWS)
