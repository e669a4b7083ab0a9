"""One run of one source, in-process: what it does, records, reports and logs, and
that it never raises."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.audit import verify
from keepfor.clock import SystemClock
from keepfor.connectors.config import load_settings
from keepfor.daemon.events import Events
from keepfor.daemon.lock import lock_for
from keepfor.daemon.metrics import Metrics
from keepfor.daemon.packs import PackKeeper
from keepfor.daemon.runner import Runner, StopFlag
from keepfor.daemon.runs import RunOutcome
from keepfor.database import create_engine
from keepfor.errors import SourceError
from tests.daemon.shop import AUDIT_KEY, build, ids, query, write_config, write_pack

DUE = range(1, 41)
KEPT = range(41, 61)


@pytest.fixture(autouse=True)
def _audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", AUDIT_KEY)


class Setup:
    def __init__(self, folder: Path, **keys: object) -> None:
        self.url = f"sqlite:///{folder / 'shop.db'}"
        build(self.url, DUE, KEPT)
        self.folder = folder
        self.pack = write_pack(folder)
        self.config = write_config(folder, self.url, **keys)
        self.log = io.StringIO()
        self.events = Events("json", self.log, SystemClock())
        self.stopping = StopFlag()
        self.metrics = Metrics()
        (config,) = load_settings(self.config).sources
        packs = PackKeeper([str(self.pack)], self.events)
        self.runner = Runner(config, packs, SystemClock(), self.events, self.metrics,
                             self.stopping, batch_size=10)  # fmt: skip

    def logged(self, name: str) -> list[dict[str, object]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines()]
        return [line for line in lines if line["event"] == name]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path, apply=True, every="PT1H")


def test_an_applying_run(setup: Setup) -> None:
    run = setup.runner.run()
    assert run is not None
    assert run.outcome is RunOutcome.OK
    assert run.counts["purge"] == len(DUE)
    assert ids(setup.url) == set(KEPT)
    assert setup.runner.last() == run
    (finished,) = setup.logged("run_finished")
    assert finished["outcome"] == "ok"
    assert finished["counts"]["purge"] == len(DUE)  # type: ignore[index]
    engine = sa.create_engine(setup.url)
    with engine.connect() as conn:
        assert verify(conn).ok
    engine.dispose()
    value = setup.metrics.registry.get_sample_value(
        "keepfor_records_total", {"source": "orders", "action": "purge"}
    )
    assert value == len(DUE)
    setup.runner.close()


def test_stopping_before_a_run_reads_and_does_nothing(setup: Setup) -> None:
    """Asked to stop before the run: it reads no due record and acts on none (how many
    are left is not known: the SIGTERM tests of the daemon count them mid-sweep)."""
    setup.stopping.set()
    run = setup.runner.run()
    assert run is not None
    assert run.outcome is RunOutcome.STOPPED
    assert run.counts["purge"] == run.counts["failed"] == 0
    assert ids(setup.url) == set(DUE) | set(KEPT)
    setup.runner.stopping = StopFlag()
    again = setup.runner.run()
    assert again is not None
    assert again.outcome is RunOutcome.OK
    assert ids(setup.url) == set(KEPT)
    setup.runner.close()


def test_another_holder_means_skip(setup: Setup) -> None:
    engine = create_engine(setup.url)
    held = lock_for(engine, "orders", SystemClock())
    assert held.acquire()
    try:
        assert setup.runner.run() is None
    finally:
        held.release()
        engine.dispose()
    (skipped,) = setup.logged("run_skipped")
    assert "lock" in str(skipped["reason"])
    assert ids(setup.url) == set(DUE) | set(KEPT)
    setup.runner.close()


def test_an_edited_pack_is_used_by_the_next_run(setup: Setup) -> None:
    write_pack(setup.folder, version="2")
    run = setup.runner.run()
    assert run is not None
    assert run.packs == {"daemon": "2"}
    versions = {row[0] for row in query(setup.url, "SELECT pack_version FROM keepfor_audit")}
    assert versions == {"2"}
    assert setup.logged("pack_reloaded")[0]["now"] == {"daemon": "2"}
    setup.runner.close()


def test_a_pack_that_no_longer_loads_keeps_the_last_good_one(setup: Setup) -> None:
    write_pack(setup.folder, text="pack: daemon\nversion: '3'\nrules: [{id: x}]\n")
    run = setup.runner.run()
    assert run is not None
    assert run.outcome is RunOutcome.OK
    assert run.packs == {"daemon": "1"}
    (refused,) = setup.logged("pack_refused")
    assert refused["level"] == "error"
    assert "pack.yaml" in str(refused["error"])
    setup.runner.close()


def test_a_failing_run_is_an_outcome_not_an_exception(tmp_path: Path) -> None:
    setup = Setup(tmp_path, apply=True)
    engine = sa.create_engine(setup.url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE kf_daemon_orders"))
    engine.dispose()
    run = setup.runner.run()
    assert run is not None
    assert run.outcome is RunOutcome.FAILED
    assert "kf_daemon_orders" in str(run.detail)
    assert setup.runner.last() == run
    (finished,) = setup.logged("run_finished")
    assert finished["level"] == "error"
    setup.runner.close()


def test_dry_runs_write_reports_and_keep_the_newest(tmp_path: Path) -> None:
    setup = Setup(tmp_path, reports="out", keep_reports=2)
    made = []
    for _ in range(3):
        run = setup.runner.run()
        assert run is not None
        assert run.outcome is RunOutcome.OK
        assert not run.applied
        made.append(run.started.strftime("%Y%m%dT%H%M%S%fZ") + ".json")
    kept = sorted(p.name for p in (tmp_path / "out" / "orders").iterdir())
    assert kept == made[1:]
    report = json.loads((tmp_path / "out" / "orders" / kept[-1]).read_text(encoding="utf-8"))
    assert report["applied"] is False
    assert report["sources"]["orders"]["purge"] == len(DUE)
    assert report["run"]["outcome"] == "ok"
    assert ids(setup.url) == set(DUE) | set(KEPT)  # a dry run changes nothing
    assert not query(setup.url, "SELECT * FROM keepfor_audit")
    setup.runner.close()


def test_keepfor_store_as_a_source(tmp_path: Path) -> None:
    """The example store, swept as ``keepfor sweep`` sweeps it: applied and audited."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / "examples" / "shop.db", tmp_path / "store.db")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        '[sources.shop]\nurl = "sqlite:///store.db"\nmax_disposal_share = 1.0\napply = true\n',
        encoding="utf-8",
    )
    log = io.StringIO()
    events = Events("json", log, SystemClock())
    (source,) = load_settings(config).sources
    packs = PackKeeper([str(root / "rules")], events)
    runner = Runner(source, packs, SystemClock(), events, Metrics(), StopFlag())
    run = runner.run()
    runner.close()
    assert run is not None
    assert run.outcome is RunOutcome.OK, run.detail
    acted = sum(run.counts[a] for a in ("purge", "anonymise", "flag", "review"))
    entries = query(f"sqlite:///{tmp_path / 'store.db'}", "SELECT * FROM keepfor_audit")
    assert acted == len(entries) > 0


def test_a_database_gone_since_the_start_fails_the_run_and_is_not_made_anew(
    tmp_path: Path,
) -> None:
    """Connecting would make an empty file, whose "no such table" hides the mistake: the
    run fails (the daemon retries it), and runs again once the file is back."""
    setup = Setup(tmp_path, apply=True)
    shop, away = tmp_path / "shop.db", tmp_path / "away.db"
    shop.rename(away)
    run = setup.runner.run()
    assert run is not None
    assert run.outcome is RunOutcome.FAILED
    assert f"no such SQLite database file: {shop}" in str(run.detail)
    assert "source 'orders'" in str(run.detail)
    with pytest.raises(SourceError, match="no such SQLite database file"):
        setup.runner.last()
    assert not shop.exists()
    (finished,) = setup.logged("run_finished")
    assert finished["level"] == "error"
    away.rename(shop)
    again = setup.runner.run()
    assert again is not None
    assert again.outcome is RunOutcome.OK, again.detail
    assert ids(setup.url) == set(KEPT)
    setup.runner.close()
