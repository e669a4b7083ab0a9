"""A whole report equals the Python evaluator record for record, on every backend:
the rows it prints (rule, disposal date, action) and its summary by rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.sql import SqlTableSource
from keepfor.engine import RuleSet, Status, evaluate
from keepfor.report import build_report
from keepfor.report.build import BOUND
from tests.differential import instants, load_records, record_lists, rule_sets, table_source
from tests.report import Collect


@pytest.fixture
def source(db_url: str) -> Iterator[SqlTableSource]:
    with table_source(db_url) as src:
        yield src


@st.composite
def with_repeats(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records, and copies of some under new keys, their datetimes moved by a few
    minutes or hours: the report's remembered cases must tell same day from next."""
    records = draw(record_lists(max_size=20))
    if not records:
        return records
    again = draw(st.lists(st.sampled_from(records), max_size=20))
    copies = []
    for n, record in enumerate(again):
        minutes = draw(st.sampled_from([0, 0, 1, -1, 59, 600, -600]))
        copy = dict(record, key=f"{record['key']}-{n}")
        for name in ("t1", "l1"):
            if copy[name] is not None:
                copy[name] = (copy[name] + timedelta(minutes=minutes)).replace(microsecond=0)
        copies.append(copy)
    return records + copies


@given(
    rules=rule_sets(),
    records=with_repeats(),
    at=instants,
    bound=st.sampled_from([1, 2, BOUND]),
    aggregates=st.booleans(),
)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_report_rows_equal_evaluation(
    source: SqlTableSource,
    rules: RuleSet,
    records: list[dict[str, Any]],
    at: datetime,
    bound: int,
    aggregates: bool,
) -> None:
    """Also where a group has more keys than the bound, and they are streamed; and, for
    the formats that print them, the counts too."""
    load_records(source, records)
    writer = Collect(aggregates=aggregates)
    report = build_report(rules, [source], at, writer, bound=bound)
    printed = {
        row.key: (row.label.rule, row.label.disposal_date, row.label.action) for row in writer.rows
    }
    expected = {}
    summary: Counter[tuple[str, str, str]] = Counter()
    statuses: Counter[str] = Counter()
    for record in records:
        decision = evaluate(rules, record, at)
        statuses[decision.status.value] += 1
        if decision.status is Status.DUE:
            assert decision.winner is not None
            assert decision.disposal_date is not None
            assert decision.action is not None
            winner = decision.winner
            expected[record["key"]] = (
                winner.rule.id,
                decision.disposal_date.isoformat(),
                decision.action.value,
            )
            summary[(winner.pack.id, winner.rule.id, decision.action.value)] += 1
    assert printed == expected
    assert len(writer.rows) == len(printed)  # no record printed twice
    assert report.due == summary
    unreadable = {row.key for row in writer.bad}
    assert len(unreadable) == len(writer.bad) == statuses["unreadable"]
    if aggregates:
        counts = report.counts[source.name].to_dict()
        assert counts == {
            "total": len(records),
            "held": 0,
            **{s: statuses[s] for s in ("due", "retained", "waiting", "unmatched", "unreadable")},
        }
