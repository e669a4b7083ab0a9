"""Sweeping keepfor's own store on SQLite, PostgreSQL and MariaDB: exactly what the engine
decides, to exactly the due records, audited once each; text values anonymised, dates
left readable; a re-run does nothing more; settings the store cannot take refused."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.actions.settings import ActionSettings, Child, Strategy
from keepfor.audit import Pseudonymiser, verify
from keepfor.connectors.store import StoreSource
from keepfor.connectors.storewrite import StoreTarget
from keepfor.engine import Action
from keepfor.engine.cutoffs import All
from keepfor.errors import SourceError
from keepfor.store import upgrade
from tests.actions.test_sweep import KEY, expected_actions, sweep_with
from tests.connectors.test_store_pushdown import load

CATEGORIES = ("order", "enquiry", "quote", "cv", "other")
SETTINGS = ActionSettings(
    max_disposal_share=1.0,
    anonymise={
        "email": Strategy.parse("hash"),
        "name": Strategy.parse("fixed:(removed)"),
        "note": Strategy.parse("null"),
        "placed_at": Strategy.parse("hash"),  # a date: left as it is
    },
)


def _records() -> list[dict[str, Any]]:
    out = []
    for i in range(1, 41):
        record: dict[str, Any] = {
            "key": f"R-{i:03}",
            "category": CATEGORIES[i % 5],
            "email": f"person{i}@example.com",
            "name": f"Person {i}",
            "note": f"called on {i}",
        }
        if i % 11:
            record["placed_at"] = date(2016 + i % 11, 1 + i % 12, 1 + i % 28)
        out.append(record)
    return out


RECORDS = _records()


@pytest.fixture
def store(db_url: str) -> str:
    upgrade(db_url)
    source = StoreSource(db_url)
    try:
        load(source, RECORDS)
    finally:
        source.close()
    return db_url


def _sweep(url: str, *, apply: bool, settings: ActionSettings = SETTINGS) -> Any:
    return sweep_with(StoreSource(url), StoreTarget, apply=apply, settings=settings)


def _expected() -> dict[Action, set[Any]]:
    return expected_actions(RECORDS, "key")


def _rows(url: str, query: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query)))
    finally:
        engine.dispose()


def _fields(url: str) -> dict[str, dict[str, Any]]:
    """Each record's field values, as the store reads them back (typed)."""
    source = StoreSource(url)
    try:
        names = ("email", "name", "note", "placed_at")
        return {
            keyed.key: {k: v for k, v in keyed.record.items() if k in names}
            for keyed in source.select(All(()), names)
        }
    finally:
        source.close()


def test_a_sweep_of_the_store_does_what_the_engine_decides_once_each(store: str) -> None:
    expected = _expected()
    # every action a table can take (all but archive) has records in the store
    assert all(keys for a, keys in expected.items() if a is not Action.ARCHIVE)
    dry = _sweep(store, apply=False).sources["store"]
    assert (dry.purge, dry.anonymise, dry.flag, dry.review) == tuple(
        len(expected[a]) for a in (Action.PURGE, Action.ANONYMISE, Action.FLAG, Action.REVIEW)
    )
    result = _sweep(store, apply=True)
    assert result.failures == []
    fields = _fields(store)
    assert set(fields) == {r["key"] for r in RECORDS} - expected[Action.PURGE]
    orphans = "SELECT count(*) FROM keepfor_record_fields f WHERE f.record_id NOT IN "
    assert _rows(store, orphans + "(SELECT id FROM keepfor_records)")[0][0] == 0
    for record in RECORDS:
        now = fields.get(record["key"])
        if now is None:
            continue
        if record["key"] in expected[Action.ANONYMISE]:
            assert now["name"] == "(removed)"
            assert len(now["email"]) == 64
            assert now["email"] != record["email"]
            assert "note" not in now
            assert now.get("placed_at") == record.get("placed_at")  # still a date
        else:
            assert {k: now.get(k) for k in ("email", "name", "note")} == {
                k: record[k] for k in ("email", "name", "note")
            }
    name = Pseudonymiser(KEY, "store")
    audit = {(r.record, r.action) for r in _rows(store, "SELECT record, action FROM keepfor_audit")}
    assert audit == {(name(k), a.value) for a, keys in expected.items() for k in keys}
    queued = {r[0] for r in _rows(store, "SELECT record_key FROM keepfor_review")}
    assert queued == expected[Action.REVIEW]
    engine = sa.create_engine(store)
    with engine.connect() as conn:
        assert verify(conn).ok
    engine.dispose()
    again = _sweep(store, apply=True).sources["store"]
    assert (again.purge, again.anonymise, again.flag, again.review, again.skipped) == (0,) * 5
    assert len(_rows(store, "SELECT record FROM keepfor_audit")) == len(audit)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ActionSettings(children=(Child("lines", "order_id"),)), "no child tables"),
        (ActionSettings(flag_column="flagged_at"), "no columns of its own"),
        (ActionSettings(anonymise={"category": Strategy.parse("null")}), "not anonymised"),
    ],
)
def test_settings_the_store_cannot_take_are_refused(
    store: str, settings: ActionSettings, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        _sweep(store, apply=True, settings=settings)
    assert _rows(store, "SELECT count(*) FROM keepfor_records")[0][0] == len(RECORDS)
