"""HubSpot deals (``object = "deals"``) end to end on the HubSpot-shaped server: deal
properties (``closedate`` and ``createdate`` as epoch-millisecond texts, ``dealstage``)
read and reported as the engine decides them; ``sweep --apply`` archives (batch
archive), anonymises and flags (batch update) deals and audits each; a rule that
purges deals is refused in one line before anything is read (HubSpot's permanent
GDPR delete is for contacts only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from keepfor import Action, RuleSet, parse_pack
from keepfor.connectors.hubspot import HubSpotSettings, HubSpotSource
from tests.cli.conftest import NOW, invoke
from tests.connectors import due_by_action
from tests.connectors.test_hubspot import FAST
from tests.servers.hubspot_fixture import (  # noqa: F401 (fixture)
    HubSpot,
    hubspot_factory_fixture,
    ms,
)

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)
STAGES = ("closedwon", "closedlost", "appointmentscheduled")
TYPES = {
    "deals": {
        "dealname": "string",
        "dealstage": "enumeration",
        "amount": "number",
        "closedate": "datetime",
        "keepfor_flag": "bool",
    }
}
PACK = {
    "pack": "sales",
    "version": "1",
    "timezone": "Europe/London",
    "rules": [
        {
            "id": "won",
            "applies_to": {"category": "deal"},
            "where": {"dealstage": "closedwon"},
            "retain": {"from": "closed_at", "for": "P6Y"},
            "then": "anonymise",
        },
        {
            "id": "lost",
            "applies_to": {"category": "deal"},
            "where": {"dealstage": "closedlost"},
            "retain": {"from": "closed_at", "for": "P1Y"},
            "then": "archive",
        },
        {
            "id": "open",
            "applies_to": {"category": "deal"},
            "where": {"dealstage": "appointmentscheduled"},
            "retain": {"from": "created_at", "for": "P3Y"},
            "then": "flag",
        },
    ],
}
RULES = RuleSet((parse_pack(PACK),))


def deal_rows(count: int) -> list[dict[str, Any]]:
    """``count`` deals created every 47 days from 2015, closed 90 days later (but the
    open ones), in turn won, lost and open; one closed at 23:30 UTC on New Year's Eve."""
    origin = datetime(2015, 2, 3, 10, 20, tzinfo=UTC)
    rows = []
    for i in range(count):
        created = origin + timedelta(days=47 * i)
        props: dict[str, Any] = {
            "dealname": f"Deal {i}",
            "dealstage": STAGES[i % 3],
            "amount": str(1000 + i),
            "createdate": ms(created),
        }
        if props["dealstage"] != "appointmentscheduled":
            closed = created + timedelta(days=90)
            if i == 31:
                closed = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
            props["closedate"] = ms(closed)
        rows.append({"id": str(100 + i), "properties": props})
    return rows


DEALS = deal_rows(75)
CONFIG = """\
[sources.sales]
kind = "hubspot"
url = "{url}"
token = "{token}"
object = "deals"
category = "deal"
state_db = "sqlite:///state.db"
max_disposal_share = 1.0
[sources.sales.fields]
closed_at = "closedate"
created_at = "createdate"
[sources.sales.flag]
column = "keepfor_flag"
[sources.sales.anonymise]
dealname = "hash"
amount = "null"
"""


@pytest.fixture
def deals(hubspot_factory: Callable[..., HubSpot]) -> HubSpot:
    return hubspot_factory({"deals": DEALS}, TYPES)


def write(server: HubSpot, tmp_path: Path, pack: dict[str, Any] = PACK) -> tuple[Path, Path]:
    (tmp_path / "sales.yaml").write_text(yaml.safe_dump(pack), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(CONFIG.format(url=server.url, token=server.token), encoding="utf-8")
    return tmp_path / "sales.yaml", config


def expected(server: HubSpot, tmp_path: Path) -> dict[Action, set[str]]:
    """What the engine says each deal gets, every deal read and evaluated in Python."""
    settings = HubSpotSettings(
        url=server.url,
        token=server.token,
        object="deals",
        constants={"category": "deal"},
        fields={"closed_at": "closedate", "created_at": "createdate"},
    )
    source = HubSpotSource("sales", settings, f"sqlite:///{tmp_path / 'x.db'}", retry=FAST)
    return due_by_action(source, RULES, AT)


def test_deals_are_read_with_their_dates_and_reported_as_the_engine_decides(
    deals: HubSpot, tmp_path: Path
) -> None:
    pack, config = write(deals, tmp_path)
    run = invoke("report", "--at", AT.isoformat(), "--rules", pack, "--config", config,
                 "--format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    report = run.json()
    assert report["sources"][0]["counts"]["total"] == len(DEALS)
    due = expected(deals, tmp_path)
    assert all(due[a] for a in (Action.ANONYMISE, Action.ARCHIVE, Action.FLAG))
    assert {d["key"] for d in report["due"]} == set().union(*due.values())
    by_rule = {d["key"]: d["rule"] for d in report["due"]}
    assert {by_rule[k] for k in due[Action.ARCHIVE]} == {"lost"}
    explained = invoke("explain", "--rules", pack, "--config", config, "--id", "131",
                       "--at", AT.isoformat(), "--json")  # fmt: skip
    assert explained.exit_code == 0, explained.stderr
    decision = explained.json()
    # closed at 23:30 UTC on 31 December 2023 (epoch ms): in London, still 31 December
    assert decision["matched"][0]["retain_until"] == "2024-12-31"
    assert (decision["rule"], decision["action"], decision["status"]) == ("lost", "archive", "due")


def test_sweep_archives_anonymises_and_flags_deals_through_the_api(
    deals: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-deals")
    due = expected(deals, tmp_path)
    pack, config = write(deals, tmp_path)
    args = ("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), "--format",
            "json", "--apply")  # fmt: skip
    run = invoke(*args)
    assert run.exit_code == 0, run.stderr
    counts = run.json()["sources"]["sales"]
    assert (counts["archive"], counts["anonymise"], counts["flag"], counts["purge"]) == (
        len(due[Action.ARCHIVE]), len(due[Action.ANONYMISE]), len(due[Action.FLAG]), 0,
    )  # fmt: skip
    assert counts["restorable_until"] == (NOW.date() + timedelta(days=90)).isoformat()
    objects = deals.objects("deals")
    assert {k for k, o in objects.items() if o["archived"]} == due[Action.ARCHIVE]
    for key in due[Action.ANONYMISE]:
        props = objects[key]["properties"]
        assert len(props["dealname"]) == 64
        assert props["amount"] is None
        assert props["dealstage"] == "closedwon"  # only what the config names is rewritten
    for key in due[Action.FLAG]:
        assert objects[key]["properties"]["keepfor_flag"] == "true"
    paths = {r["path"] for r in deals.requests() if r["method"] == "POST"}
    assert paths == {
        "/crm/v3/objects/deals/search",
        "/crm/v3/objects/deals/batch/update",
        "/crm/v3/objects/deals/batch/archive",
    }
    with sqlite3.connect(tmp_path / "state.db") as db:
        audited = dict(db.execute("SELECT action, count(*) FROM keepfor_audit GROUP BY action"))
    assert audited == {a.value: len(keys) for a, keys in due.items() if keys}

    again = invoke(*args)
    assert again.exit_code == 0, again.stderr
    assert again.json()["sources"]["sales"]["archive"] == 0
    assert again.json()["sources"]["sales"]["flag"] == 0


def test_a_rule_that_purges_deals_is_refused_in_one_line_before_anything_is_read(
    deals: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-deals")
    rules = [{**r, "then": "purge"} if r["id"] == "lost" else r for r in PACK["rules"]]
    pack, config = write(deals, tmp_path, {**PACK, "rules": rules})
    for apply in ((), ("--apply",)):
        run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT.isoformat(), *apply)
        assert (run.exit_code, run.stdout) == (2, "")
        assert run.stderr.count("\n") == 1, run.stderr
        assert "source 'sales': rule 'lost' says 'then: purge'" in run.stderr
        assert "no permanent delete for deals" in run.stderr
        assert "then: archive" in run.stderr  # what to say instead
    assert not [r for r in deals.requests() if r["method"] != "GET"]  # not even a search
    assert not [o for o in deals.objects("deals").values() if o["archived"]]
    checked = invoke("validate", pack, "--config", config)
    assert checked.exit_code == 2
    assert "rule 'lost' says 'then: purge'" in checked.stderr
