"""Erasure requests on SQLite, PostgreSQL and MariaDB: the customer's records are
disposed of, except what a legal obligation keeps; audited; other customers untouched."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from keepfor.actions.erasure import Kept, plan_erasure, run_erasure
from keepfor.actions.settings import ActionSettings, Strategy
from keepfor.actions.trail import Trail
from keepfor.clock import FixedClock
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.engine import RuleSet, parse_pack
from tests.actions import filled_table

AT = date(2026, 11, 22)
TABLE = "kf_erase"
RULES = RuleSet(
    (
        parse_pack(
            {
                "pack": "shop",
                "version": "1",
                "timezone": "Europe/London",
                "rules": [
                    {
                        "id": "tax",
                        "applies_to": {"category": "invoice"},
                        "retain": {"from": "issued_at", "for": "P6Y"},
                        "basis": "legal_obligation",
                        "then": "purge",
                    },
                    {
                        "id": "marketing",
                        "applies_to": {"category": "contact"},
                        "retain": {"from": "issued_at", "for": "P3Y"},
                        "basis": "consent",
                        "then": "anonymise",
                    },
                ],
            }
        ),
    )
)
ROWS = [
    {"id": 1, "category": "invoice", "client": "ann", "issued_at": date(2025, 1, 10), "email": "a"},
    {"id": 2, "category": "invoice", "client": "ann", "issued_at": date(2019, 1, 10), "email": "a"},
    {"id": 3, "category": "contact", "client": "ann", "issued_at": date(2026, 1, 10), "email": "a"},
    {"id": 4, "category": "visit", "client": "ann", "issued_at": None, "email": "a"},
    {"id": 5, "category": "invoice", "client": "bob", "issued_at": date(2019, 1, 10), "email": "b"},
]


@pytest.fixture
def url(db_url: str) -> str:
    columns = [
        sa.Column("category", sa.String(20)),
        sa.Column("client", sa.String(20)),
        sa.Column("issued_at", sa.Date),
        sa.Column("email", sa.String(64)),
    ]
    return filled_table(db_url, TABLE, columns, ROWS)


def test_an_erasure_keeps_only_what_the_law_requires(url: str) -> None:
    mapping = TableMapping(table=TABLE, fields={"customer": "client"}, source="shop")
    source = SqlTableSource(url, mapping)
    settings = ActionSettings(anonymise={"email": Strategy.parse("null")})
    trail = Trail(b"0123456789abcdef-e", RULES, FixedClock(datetime(2026, 11, 22, tzinfo=UTC)))
    try:
        source.open()
        with source.engine.begin() as conn:
            Trail.ensure(conn)
        source.check(RULES)
        answer = plan_erasure(source, RULES, AT, "ann", 2)
        assert answer.kept == [
            Kept(
                "1",
                "a legal obligation keeps it until its disposal date",
                rule="tax",
                basis="legal_obligation",
                until=date(2031, 1, 11),
            )
        ]
        assert (answer.purge, answer.anonymise) == (2, 1)
        target = SqlTableTarget(source, settings, trail)
        assert run_erasure(target, answer, AT) == []
        assert (answer.purge, answer.anonymise, answer.failed) == (2, 1, 0)
        with source.engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT id, email FROM {TABLE} ORDER BY id")).all()
            actions = conn.execute(sa.text("SELECT action FROM keepfor_audit")).scalars()
            assert sorted(actions) == ["anonymise", "purge", "purge"]
        assert [tuple(r) for r in rows] == [(1, "a"), (3, None), (5, "b")]
    finally:
        source.close()
