"""A sweep reads one pass per action that leaves records in place and one for purges,
each reading only records a rule with its action applies to. Where rules of different
actions apply to one record (a later purge beats an anonymisation; a purge that beats a
review goes to review), every due record is still acted on once, with the action the
engine decides, on all three databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.actions.settings import ActionSettings, Strategy
from keepfor.audit import Pseudonymiser
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.engine import Action, RuleSet, Status, evaluate, parse_pack
from keepfor.holds.sql import HoldsTable
from tests.actions import filled_table
from tests.actions.test_sweep import AT, KEY, expected_actions, sweep_with

TABLE = "kf_passes"

PACK: dict[str, Any] = {
    "pack": "overlap",
    "version": "1",
    "timezone": "Europe/London",
    "rules": [
        {  # every enquiry: anonymised a year on
            "id": "enquiries",
            "applies_to": {"category": "enquiry"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "anonymise",
        },
        {  # closed enquiries: purged, later (the later date wins)
            "id": "closed-enquiries",
            "applies_to": {"category": "enquiry"},
            "where": {"closed": True},
            "retain": {"from": "placed_at", "for": "P2Y"},
            "then": "purge",
        },
        {  # every CV: reviewed after six months
            "id": "cv-review",
            "applies_to": {"category": "cv"},
            "retain": {"from": "placed_at", "for": "P6M"},
            "then": "review",
        },
        {  # and purged after a year: a purge never beats a review, so review
            "id": "cv-purge",
            "applies_to": {"category": "cv"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "purge",
        },
        {  # any quote purged after a year; open ones kept three and flagged
            "id": "quotes",
            "applies_to": {"category": "quote"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "purge",
        },
        {
            "id": "open-quotes",
            "applies_to": {"category": "quote"},
            "where": {"closed": False},
            "retain": {"from": "placed_at", "for": "P3Y"},
            "then": "flag",
        },
    ],
}
RULES = RuleSet((parse_pack(PACK),))
SETTINGS = ActionSettings(
    max_disposal_share=1.0,
    flag_column="flagged_at",
    anonymise={"email": Strategy.parse("hash")},
)


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(1, 121):
        rows.append(
            {
                "id": i,
                "category": ("enquiry", "cv", "quote", "other")[i % 4],
                "placed_at": date(2020 + i % 7, 1 + i % 12, 1 + i % 28),
                "closed": (True, False, None)[i // 4 % 3],
                "email": f"person{i}@example.com",
                "flagged_at": None,
            }
        )
    return rows


ROWS = _rows()


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("category", sa.String(20)),
        sa.Column("placed_at", sa.Date),
        sa.Column("closed", sa.Boolean),
        sa.Column("email", sa.String(100)),
        sa.Column("flagged_at", sa.DateTime),
    ]


@pytest.fixture
def url(db_url: str) -> str:
    return filled_table(db_url, TABLE, _columns(), ROWS)


def _sweep(url: str, *, apply: bool) -> Any:
    source = SqlTableSource(url, TableMapping(table=TABLE, source="shop"))
    result = sweep_with(
        source, SqlTableTarget, apply=apply, settings=SETTINGS, rules=RULES, batch_size=7
    )
    return result.sources["shop"]


def _ids(url: str, where: str = "1 = 1") -> set[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text(f"SELECT id FROM {TABLE} WHERE {where}"))}
    finally:
        engine.dispose()


def test_overlapping_rules_of_different_actions_act_once_each_as_the_engine_decides(
    url: str,
) -> None:
    expected = expected_actions(ROWS, "id", RULES)
    actions = (Action.PURGE, Action.ANONYMISE, Action.FLAG, Action.REVIEW)
    # the pack's overlaps are met: a purge beating an anonymisation, a purge turned review,
    # an enquiry anonymised, a quote flagged and one purged
    reasons = {evaluate(RULES, r, AT).reason for r in ROWS}
    assert any("asks for review" in reason for reason in reasons)
    assert all(expected[a] for a in actions)
    dry = _sweep(url, apply=False)
    assert tuple(dry.count(a) for a in actions) == tuple(len(expected[a]) for a in actions)
    done = _sweep(url, apply=True)
    assert tuple(done.count(a) for a in actions) == tuple(len(expected[a]) for a in actions)
    assert _ids(url) == {r["id"] for r in ROWS} - expected[Action.PURGE]
    assert _ids(url, "flagged_at IS NOT NULL") == expected[Action.FLAG]
    assert _ids(url, "email NOT LIKE 'person%'") == expected[Action.ANONYMISE]
    again = _sweep(url, apply=True)
    assert tuple(again.count(a) for a in actions) == (0, 0, 0, 0)


def test_each_record_s_audit_entry_names_the_rule_and_action_that_won_it(url: str) -> None:
    """Batches of several rules of one action are cut from one key order: each record's
    entry still names its own winning rule and action, and there is one per record."""
    name = Pseudonymiser(KEY, "shop")
    expected = {}
    for row in ROWS:
        decision = evaluate(RULES, row, AT)
        if decision.status is Status.DUE:
            assert decision.winner is not None
            assert decision.action is not None
            expected[name(str(row["id"]))] = (decision.winner.rule.id, decision.action.value)
    assert len({rule for rule, _ in expected.values()}) >= 4  # several rules per action
    _sweep(url, apply=True)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT record, rule_id, action FROM keepfor_audit"))
            entries = [(r[0], (r[1], r[2])) for r in rows]
    finally:
        engine.dispose()
    assert len(entries) == len(expected)
    assert dict(entries) == expected


def test_a_round_on_sqlite_looks_for_keepfor_s_tables_in_its_own_transaction(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round's later batches compile their re-check after its first wrote: on SQLite a
    look for the holds and marks tables on another connection would wait for the write
    lock the round holds (its cache spilled to the file) and fail the round. It asks the
    round's own connection: every due record is acted on, none fails."""
    monkeypatch.setattr(HoldsTable, "RECHECK", 0.0)  # no table yet: look every time
    url = filled_table(f"sqlite:///{tmp_path}/shop.db", TABLE, _columns(), ROWS)
    source = SqlTableSource(url, TableMapping(table=TABLE, source="shop"))

    def tiny_cache(dbapi: Any, _record: Any) -> None:  # every write spills at once
        dbapi.execute("PRAGMA cache_size = 1")
        dbapi.execute("PRAGMA busy_timeout = 200")

    sa.event.listen(source.engine, "connect", tiny_cache)
    result = sweep_with(source, SqlTableTarget, settings=SETTINGS, rules=RULES, batch_size=7)
    assert result.failures == []
    expected = expected_actions(ROWS, "id", RULES)
    assert result.sources["shop"].purge == len(expected[Action.PURGE])
    assert _ids(url) == {r["id"] for r in ROWS} - expected[Action.PURGE]
