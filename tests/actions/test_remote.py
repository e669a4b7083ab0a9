"""Acting where keepfor cannot share a transaction: the journal, the audit of what was
done even when a batch fails half-way, and the recovery after a crash between acting
and auditing (each action audited once, none taken twice)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import ActionTarget, Keyed, RecordKey, RecordSource
from keepfor.actions.remote import RemoteTarget, journal
from keepfor.actions.settings import ActionSettings
from keepfor.actions.sweep import SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.audit import verify
from keepfor.clock import FixedClock
from keepfor.connectors.streamed import FieldReader, StreamedSource
from keepfor.connectors.targets import prepare_tables, target_for
from keepfor.engine import Action, RuleSet, parse_pack
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import SourceError

KEY = b"0123456789abcdef-test-key"
AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
RULES = RuleSet(
    (
        parse_pack(
            {
                "pack": "crm",
                "version": "3",
                "timezone": "UTC",
                "rules": [
                    {
                        "id": "contacts",
                        "applies_to": {"category": "contact"},
                        "retain": {"from": "last_seen", "for": "P2Y"},
                        "then": "purge",
                    },
                    {
                        "id": "leads",
                        "applies_to": {"category": "lead"},
                        "retain": {"from": "last_seen", "for": "P1Y"},
                        "then": "flag",
                    },
                ],
            }
        ),
    )
)


class Crash(Exception):
    """The process dying between acting and auditing (not a keepfor error)."""


class Remote:
    """A system of records keepfor acts on through calls: a dict, and its failures."""

    def __init__(self, n: int) -> None:
        self.records: dict[int, dict[str, Any]] = {}
        for i in range(1, n + 1):
            category = "contact" if i % 2 else "lead"
            seen = "2020-01-01" if i % 3 else "2026-06-01"  # every third is kept
            self.records[i] = {"id": i, "category": category, "last_seen": seen}
        self.calls: list[tuple[str, int]] = []
        self.fail_after: int | None = None
        self.crash_after: int | None = None
        self.unsaid: set[int] = set()
        """Records acted on but not said to be (a retried request found them done)."""
        self.unreachable = False
        """The remote cannot be asked what is in effect."""


class RemoteSource(StreamedSource):
    def __init__(self, remote: Remote, state_url: str) -> None:
        super().__init__("crm", FieldReader(), state_url)
        self.remote = remote

    def open(self) -> None: ...

    @property
    def key(self) -> RecordKey:
        return RecordKey("id", int)

    def records(self, fields: Collection[str], hint: Predicate | None) -> Iterator[Keyed]:
        for key, raw in sorted(self.remote.records.items()):
            yield Keyed(key, self.read(raw, fields))

    def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
        return RemoteCalls(self, settings, trail)


class RemoteCalls(RemoteTarget):
    source: RemoteSource

    @property
    def actions(self) -> frozenset[Action]:
        return frozenset({Action.PURGE, Action.FLAG})

    def act(self, action: Action, records: Sequence[Keyed]) -> Iterator[Any]:
        remote = self.source.remote
        for keyed in records:
            if remote.fail_after is not None and len(remote.calls) >= remote.fail_after:
                raise SourceError("source 'crm': the CRM answered 503")
            remote.calls.append((action.value, keyed.key))
            if action is Action.PURGE:
                del remote.records[keyed.key]
            else:
                remote.records[keyed.key]["flagged"] = "true"
            if remote.crash_after is not None and len(remote.calls) >= remote.crash_after:
                raise Crash
            if keyed.key not in remote.unsaid:
                yield keyed.key

    def in_effect(self, action: Action, keys: Sequence[str]) -> set[str]:
        if self.source.remote.unreachable:
            raise SourceError("source 'crm': the CRM does not answer")
        records = self.source.remote.records
        if action is Action.PURGE:
            return {k for k in keys if int(k) not in records}
        return {k for k in keys if records.get(int(k), {}).get("flagged") == "true"}


def _sweep(remote: Remote, url: str, **options: Any) -> Any:
    source = RemoteSource(remote, url)
    trail = Trail(KEY, RULES, FixedClock(AT))
    settings = ActionSettings(max_disposal_share=1.0)
    prepare_tables(source)

    def make(opened: RecordSource) -> ActionTarget:
        return target_for(opened, settings, trail)

    try:
        return run_sweep(RULES, [SweptSource(source, settings, make)], AT, apply=True, **options)
    finally:
        source.close()


def _audited(url: str) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT sweep_id, action, outcome FROM keepfor_audit ORDER BY sequence")
        ).all()
        assert verify(conn).ok
        left = conn.execute(sa.select(sa.func.count()).select_from(journal)).scalar_one()
    engine.dispose()
    assert left == 0, "the journal is empty once every batch is audited"
    return [tuple(r) for r in rows]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_each_action_is_taken_and_audited_once(url: str) -> None:
    remote = Remote(12)
    result = _sweep(remote, url)
    due = [k for k in range(1, 13) if k % 3]
    assert sorted(k for _, k in remote.calls) == due
    assert len(_audited(url)) == len(due)
    assert not result.failures
    again = _sweep(remote, url)
    assert sorted(k for _, k in remote.calls) == due, "a re-run acts on nothing again"
    assert sum(t.acted for t in again.sources.values()) == 0


def test_a_batch_failing_half_way_audits_what_was_done(url: str) -> None:
    remote = Remote(12)
    remote.fail_after = 3
    result = _sweep(remote, url)
    assert len(remote.calls) == 3
    assert len(_audited(url)) == 3
    assert result.failures
    assert "3 of" in result.failures[0]
    remote.fail_after = None
    _sweep(remote, url)
    assert len(_audited(url)) == 8
    assert len(remote.calls) == 8


def test_a_crash_between_acting_and_auditing_is_audited_by_the_next_sweep(url: str) -> None:
    remote = Remote(12)
    remote.crash_after = 2
    with pytest.raises(Crash):
        _sweep(remote, url, batch_size=3)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        journalled = conn.execute(sa.select(journal.c.record_key)).scalars().all()
        audited = conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar_one()
    engine.dispose()
    assert audited == 0
    assert len(journalled) >= 2, "the batch under way is in the journal"
    remote.crash_after = None
    _sweep(remote, url, batch_size=3)
    rows = _audited(url)
    assert len(rows) == 8
    assert len(remote.calls) == 8, "no record was acted on twice"
    sweeps = {sweep for sweep, _, _ in rows}
    assert len(sweeps) == 2, "the two recovered entries carry the interrupted sweep's id"


def test_a_source_without_a_target_says_so(url: str) -> None:
    class ReadOnly(RemoteSource):
        def target(self, settings: ActionSettings, trail: Trail | None) -> ActionTarget:
            return StreamedSource.target(self, settings, trail)

    with pytest.raises(SourceError, match="keepfor cannot act on it"):
        target_for(ReadOnly(Remote(1), url), ActionSettings(), None)


def test_an_action_the_remote_did_not_report_is_audited_when_in_effect(url: str) -> None:
    remote = Remote(12)
    remote.unsaid = {1, 4}  # purged and flagged, though the answer said nothing
    _sweep(remote, url)
    assert len(_audited(url)) == 8, "every action taken is audited"


def test_an_action_the_remote_cannot_confirm_stays_journalled_until_it_can(url: str) -> None:
    remote = Remote(12)
    remote.unsaid = {1}
    remote.unreachable = True
    _sweep(remote, url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(sa.select(journal.c.record_key)).scalars().all()
    engine.dispose()
    assert left == ["1"]
    remote.unreachable = False
    remote.unsaid = set()
    _sweep(remote, url)
    assert len(_audited(url)) == 8
    assert len(remote.calls) == 8, "the unconfirmed purge was not taken again"
