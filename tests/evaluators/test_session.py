"""Records and events posted to a durable_rules session decide as :func:`keepfor.evaluate`
does on the updated record: a differential test over generated packs, records and
events, worked examples, and the session's bookkeeping (facts retracted when forgotten,
memory not growing, one lock)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keepfor
from keepfor.engine import RuleSet
from tests.engine import strategies as gen
from tests.evaluators.conftest import need_durable
from tests.rules.test_seed_packs import RULES

need_durable()

from keepfor.evaluators import DurableSession, durable  # noqa: E402
from tests.evaluators.test_durable import CONDITION_FIELDS, _cases  # noqa: E402

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
JET = RULES / "jet-plumbing.yaml"


def _detail(decision: keepfor.Decision) -> dict[str, Any]:
    return decision.to_dict(detail=True)


def _events(session: DurableSession) -> list[Any]:
    engine = durable.require_durable()
    with durable.LOCK:
        return list(json.loads(engine.get_events(session._handle, session.sid)))


# -- the differential test -------------------------------------------------------------


@given(
    _cases(),
    st.lists(
        st.tuples(
            st.sampled_from(gen.DATE_FIELDS + CONDITION_FIELDS),
            gen.date_values() | gen.scalars(),
        ),
        min_size=1,
        max_size=4,
    ),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_session_decides_as_python(
    case: tuple[RuleSet, list[dict[str, Any]], datetime], events: list[tuple[str, Any]]
) -> None:
    rules, records, at = case
    with DurableSession(rules) as session:
        for key, record in enumerate(records):
            got = session.post_record(key, record, at=at)
            assert _detail(got) == _detail(keepfor.evaluate(rules, record, at)), record
        for n, (field, when) in enumerate(events):
            key = n % len(records)
            updated = {**session.record(key), field: when}
            got = session.post_event(key, field, when, at=at)
            assert _detail(got) == _detail(keepfor.evaluate(rules, updated, at)), updated
            assert session.record(key) == updated
        assert len(durable.facts_of(session.ruleset, session.sid)) == len(set(range(len(records))))
        assert _events(session) == []  # every event joined its record's fact


# -- worked examples -------------------------------------------------------------------


def test_an_enquiry_waits_then_is_resolved_and_gets_its_disposal_date() -> None:
    rules = keepfor.load_rules(JET)
    with DurableSession(rules, clock=keepfor.FixedClock(AT)) as session:
        open_ = session.post_record("E-17", {"category": "enquiry", "created_at": "2025-01-02"})
        assert open_.status is keepfor.Status.WAITING
        assert "waits for resolved_at" in open_.reason
        resolved = session.post_event("E-17", "resolved_at", date(2025, 3, 1))
        assert (resolved.status, resolved.disposal_date) == (keepfor.Status.DUE, date(2026, 3, 2))
        assert resolved.rule is not None
        assert resolved.rule.id == "enquiries-resolved"
        # resolved later: retained, a year and a day after it (boundary: after)
        late = session.post_event("E-17", "resolved_at", datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
        assert (late.status, late.disposal_date) == (keepfor.Status.RETAINED, date(2027, 7, 2))
        assert session.record("E-17")["resolved_at"] == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)


def test_every_seed_pack_decides_in_a_session_as_python() -> None:
    rules = keepfor.load_rules(RULES)
    categories = sorted({v for _, r in rules for n, v in r.conditions() if n == "category"})
    anchors = sorted({name for _, rule in rules for name in rule.retain.fields()})
    with DurableSession(rules) as session:
        for n, category in enumerate(categories):
            record = {"category": category, "created_at": "2019-05-14"}
            assert _detail(session.post_record(n, record, at=AT)) == _detail(
                keepfor.evaluate(rules, record, AT)
            )
            for k, field in enumerate(anchors):  # every event the packs wait for
                when = date(2018 + k % 5, 1 + n % 12, 1)
                record = {**record, field: when}
                got = session.post_event(n, field, when, at=AT)
                assert _detail(got) == _detail(keepfor.evaluate(rules, record, AT))


def test_posting_a_record_again_replaces_it() -> None:
    rules = keepfor.load_rules(JET)
    with DurableSession(rules) as session:
        session.post_record(1, {"category": "enquiry"}, at=AT)
        order = session.post_record(1, {"category": "order", "placed_at": "2018-05-01"}, at=AT)
        assert order.rule is not None
        assert order.rule.id != "enquiries-resolved"
        assert len(session) == 1
        [fact] = durable.facts_of(session.ruleset, session.sid)
        assert fact["f0"] == "s:order"


# -- errors, forgetting, memory --------------------------------------------------------


def test_an_event_for_a_key_never_posted_is_one_line() -> None:
    with DurableSession(keepfor.load_rules(JET)) as session:
        for key in ("E-404", 7):
            with pytest.raises(keepfor.UsageError) as caught:
                session.post_event(key, "resolved_at", date(2025, 1, 1), at=AT)
            assert repr(key) in str(caught.value)
            assert "post_record" in str(caught.value)
            assert "\n" not in str(caught.value)
        session.post_record("E-1", {"category": "enquiry"}, at=AT)
        session.forget("E-1")
        with pytest.raises(keepfor.UsageError, match="'E-1'"):
            session.post_event("E-1", "resolved_at", date(2025, 1, 1), at=AT)
        with pytest.raises(keepfor.UsageError, match="date field"):
            session.post_event("E-1", "", date(2025, 1, 1), at=AT)
        session.forget("never posted")  # nothing to do
        assert _events(session) == []  # the refused events were never posted


def _rss_kib() -> int:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        pytest.skip("no /proc/self/statm to read memory from")
    return int(statm.read_text().split()[1]) * 4


def test_forgotten_records_are_retracted_and_memory_does_not_grow() -> None:
    session = DurableSession(keepfor.load_rules(JET))

    def round_(base: int) -> None:
        keys = range(base, base + 2_000)
        for key in keys:
            session.post_record(key, {"category": "enquiry", "note": "x" * (key % 90)}, at=AT)
            session.post_event(key, "resolved_at", date(2025, 3, 1), at=AT)
        assert len(durable.facts_of(session.ruleset, session.sid)) == 2_000
        for key in keys:
            session.forget(key)
        assert durable.facts_of(session.ruleset, session.sid) == []
        assert _events(session) == []
        assert len(session) == 0
        assert session._keys == {}

    round_(0)
    round_(10_000)
    before = _rss_kib()
    for n in range(2, 6):
        round_(n * 10_000)
    assert _rss_kib() - before < 4_096  # KiB: forgotten records' room is used again
    session.close()


def test_sessions_on_the_same_packs_keep_their_own_records() -> None:
    rules = keepfor.load_rules(JET)
    with DurableSession(rules) as one, DurableSession(rules) as two:
        assert one.ruleset == two.ruleset
        assert one.sid != two.sid
        one.post_record("k", {"category": "enquiry"}, at=AT)
        two.post_record("k", {"category": "enquiry"}, at=AT)
        assert one.post_event("k", "resolved_at", date(2020, 1, 1), at=AT).status.value == "due"
        assert "resolved_at" not in two.record("k")
        order = two.post_record("k", {"category": "order"}, at=AT)
        assert _detail(order) == _detail(keepfor.evaluate(rules, {"category": "order"}, AT))
        assert one.record("k")["category"] == "enquiry"
    assert len(one) == len(two) == 0  # closed: every record forgotten


def test_sessions_in_threads_share_the_one_lock() -> None:
    rules = keepfor.load_rules(JET)
    results: dict[int, list[Any]] = {}

    def work(n: int) -> None:
        with DurableSession(rules) as session:
            out = []
            for key in range(300):
                session.post_record(key, {"category": "enquiry"}, at=AT)
                when = date(2020 + key % 7, 1 + key % 12, 1)
                out.append(_detail(session.post_event(key, "resolved_at", when, at=AT)))
            results[n] = out

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [
        _detail(
            keepfor.evaluate(
                rules,
                {"category": "enquiry", "resolved_at": date(2020 + k % 7, 1 + k % 12, 1)},
                AT,
            )
        )
        for k in range(300)
    ]
    assert all(results[n] == expected for n in range(4))


def test_a_sync_job_posts_events_through_its_session(tmp_path: Path) -> None:
    from keepfor.connectors.sql import SqlTableSource, TableMapping
    from keepfor.sync import Sync

    source = SqlTableSource(f"sqlite:///{tmp_path / 'none.db'}", TableMapping("enquiries"))
    sync = Sync(source, keepfor.load_rules(JET), clock=keepfor.FixedClock(AT))
    with sync.session() as session:  # the sync's rules and clock; no database read
        assert session.post_record(3, {"category": "enquiry"}).status.value == "waiting"
        resolved = session.post_event(3, "resolved_at", "2025-03-01")
        assert resolved.disposal_date == date(2026, 3, 2)
        assert resolved == sync.decide({"category": "enquiry", "resolved_at": "2025-03-01"})
