"""The ``hubspot`` source against the HubSpot-shaped server (``tests/servers/hubspot.py``),
over real HTTP: paging, the 10,000 cap crossed, the predicate pushed down giving what
Python alone gives, 429 and 5xx, refused tokens, the token in no message or log, and
``keepfor report --config`` on it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor import Status, evaluate, parse_pack
from keepfor.connectors.hubspot import HubSpotSettings, HubSpotSource
from keepfor.connectors.hubspot_client import Retry
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import due_predicate
from keepfor.engine.predicates import holds
from keepfor.errors import SourceError
from tests.cli.conftest import invoke
from tests.servers.hubspot_fixture import (  # noqa: F401 (fixtures)
    CONTACTS,
    HubSpot,
    contact_rows,
    hubspot_factory_fixture,
    hubspot_fixture,
)

AT = datetime(2024, 6, 1, 9, tzinfo=UTC)
SEARCH = "/crm/v3/objects/contacts/search"

PACK = {
    "pack": "crm",
    "version": "1",
    "timezone": "Europe/Berlin",
    "rules": [
        {
            "id": "leads",
            "applies_to": {"category": "contact"},
            "where": {"lifecyclestage": "lead"},
            "retain": {"from": "last_activity_at", "for": "P2Y"},
            "then": "purge",
        },
        {
            "id": "customers",
            "applies_to": {"category": "contact"},
            "where": {"lifecyclestage": "customer"},
            "retain": {"from": "last_activity_at", "for": "P6Y"},
            "then": "anonymise",
        },
        {
            "id": "subscribers",
            "applies_to": {"category": "contact"},
            "where": {"lifecyclestage": "subscriber"},
            "retain": {"from": "date_of_birth", "for": "P50Y"},
            "then": "flag",
        },
    ],
}
"""Rules on a date-time property (last noted, read in Berlin) and a date-only one."""

RULES = RuleSet((parse_pack(PACK),))
FAST = Retry(attempts=4, backoff=0.01, most=0.05)


def source_of(server: HubSpot, tmp_path: Path, **options: Any) -> HubSpotSource:
    settings = HubSpotSettings(
        url=server.url,
        token=options.pop("token", server.token),
        constants={"category": "contact"},
        fields={"last_activity_at": "notes_last_updated"},
    )
    options.setdefault("retry", FAST)
    return HubSpotSource("crm", settings, f"sqlite:///{tmp_path / 'state.db'}", **options)


def expected_due(source: HubSpotSource, at: datetime) -> set[str]:
    """The contacts the engine says are due, every contact read and evaluated in Python."""
    fields = set(RULES.needs()) | {"category"}
    return {
        k.key
        for k in source.records(fields, None)
        if evaluate(RULES, k.record, at).status is Status.DUE
    }


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", [7, 200])
def test_every_contact_is_read_once_with_dates_converted(
    hubspot: HubSpot, tmp_path: Path, page: int
) -> None:
    source = source_of(hubspot, tmp_path, page=page)
    try:
        source.check(RULES)
        wanted = {"last_activity_at", "date_of_birth", "email", "lifecyclestage"}
        read = list(source.records(wanted, None))
    finally:
        source.close()
    assert [k.key for k in read] == [c["id"] for c in CONTACTS]
    first, second, thirteenth = read[0].record, read[1].record, read[12].record
    props = CONTACTS[1]["properties"]
    noted = datetime.fromtimestamp(int(props["notes_last_updated"]) / 1000, UTC)
    assert second["last_activity_at"] == noted  # an aware UTC date-time
    born = datetime.fromtimestamp(int(props["date_of_birth"]) / 1000, UTC)
    assert born.time() == time(0)
    assert second["date_of_birth"] == born.date()  # a date-only property: a date
    assert first["date_of_birth"] is None  # HubSpot gives null: missing
    assert thirteenth["last_activity_at"] == "not a date"  # unreadable, as it is
    assert evaluate(RULES, {**thirteenth, "category": "contact"}, AT).status is Status.UNREADABLE


@pytest.mark.parametrize(
    "at",
    [AT, datetime(2021, 12, 31, 23, 30, tzinfo=UTC), datetime(2022, 1, 1, 0, 30, tzinfo=UTC)],
)
def test_pushed_filters_give_what_python_gives(
    hubspot: HubSpot, tmp_path: Path, at: datetime
) -> None:
    source = source_of(hubspot, tmp_path)
    try:
        source.check(RULES)
        due = due_predicate(RULES, at)
        groups = source.plan(due)
        assert len(groups) == 3  # one a stage: EQ and LTE
        fields = set(RULES.needs())
        narrowed = {k.key for k in source.records(fields, due)}
        selected = {k.key for k in source.select(due, fields)}
        expected = expected_due(source, at)
    finally:
        source.close()
    assert selected == expected
    assert expected <= narrowed < {c["id"] for c in CONTACTS}


def test_the_day_boundary_is_the_rules_zone(hubspot: HubSpot, tmp_path: Path) -> None:
    """Lead 22 was last noted at 23:30 UTC on 31 December 2020: 1 January 2021 in Berlin,
    the rules' zone. On 1 January 2023 the cutoff is 31 December 2020: not due (it would
    be, read in UTC), and the pushed bound leaves it out; a day later it is due."""
    assert CONTACTS[21]["properties"]["lifecyclestage"] == "lead"
    fields = set(RULES.needs())
    source = source_of(hubspot, tmp_path)
    try:
        source.check(RULES)
        on_the_day = due_predicate(RULES, datetime(2023, 1, 1, 11, tzinfo=UTC))
        selected = {k.key for k in source.select(on_the_day, fields)}
        narrowed = {k.key for k in source.records(fields, on_the_day)}
        next_day = due_predicate(RULES, datetime(2023, 1, 2, 11, tzinfo=UTC))
        then = {k.key for k in source.select(next_day, fields)}
    finally:
        source.close()
    assert "22" not in selected
    assert "22" not in narrowed  # the bound is exact: 22:59:59.999 UTC, not a day wider
    assert "22" in then


def test_a_search_past_10000_results_restarts_past_the_last_id(
    hubspot_factory: Callable[..., HubSpot], tmp_path: Path
) -> None:
    server = hubspot_factory({"contacts": contact_rows(10_450)})
    source = source_of(server, tmp_path)
    try:
        source.check(RULES)
        keys = [k.key for k in source.records({"email"}, None)]
    finally:
        source.close()
    assert len(keys) == 10_450
    assert len(set(keys)) == 10_450
    searches = [r["body"] for r in server.requests() if r["path"] == SEARCH]
    assert all(int(b.get("after") or 0) < 10_000 for b in searches)
    restarts = {json.dumps(b["filterGroups"]) for b in searches if b["filterGroups"]}
    assert len(searches) == 53  # 50 pages, then 3 past id 10000
    assert [json.loads(r) for r in restarts] == [
        [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "10000"}]}]
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=st.dates(date(2015, 6, 1), date(2031, 1, 1)), hour=st.integers(0, 23))
def test_pushed_equals_unpushed_equals_the_evaluator_on_any_day(
    hubspot: HubSpot, tmp_path: Path, day: date, hour: int
) -> None:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    source = source_of(hubspot, tmp_path)
    try:
        source.check(RULES)
        due = due_predicate(RULES, at)
        fields = set(RULES.needs())
        pushed = {k.key for k in source.select(due, fields)}
        unpushed = {
            k.key for k in source.records(fields | {"customer"}, None) if holds(due, k.record)
        }
        expected = expected_due(source, at)
    finally:
        source.close()
    assert pushed == unpushed == expected


# -- failures ----------------------------------------------------------------------------


def test_429_is_waited_out_as_retry_after_says(hubspot: HubSpot, tmp_path: Path) -> None:
    hubspot.configure(rate_limit=3, retry_after="0.2")
    waits: list[float] = []
    retry = Retry(attempts=3, backoff=0.01, sleep=lambda s: waits.append(s))
    source = source_of(hubspot, tmp_path, page=10, retry=retry)
    try:
        source.check(RULES)
        keys = [k.key for k in source.records({"email"}, None)]
    finally:
        source.close()
    assert keys == [c["id"] for c in CONTACTS]
    assert waits
    assert set(waits) == {0.2}


def test_a_rate_limit_that_never_lifts_is_one_line(hubspot: HubSpot, tmp_path: Path) -> None:
    hubspot.configure(rate_limit=1, retry_after="0")
    source = source_of(hubspot, tmp_path, retry=Retry(rate_attempts=3))
    with pytest.raises(SourceError, match=r"rate limit \(HTTP 429, 3 times") as error:
        source.test_connection()
    assert "\n" not in str(error.value)


def test_5xx_is_retried_with_backoff_and_a_bound(hubspot: HubSpot, tmp_path: Path) -> None:
    hubspot.configure(faults=[{"path": SEARCH, "status": 503, "count": 3}])
    waits: list[float] = []
    retry = Retry(attempts=4, backoff=0.01, most=0.03, sleep=lambda s: waits.append(s))
    source = source_of(hubspot, tmp_path, retry=retry)
    try:
        source.check(RULES)
        assert len(list(source.records({"email"}, None))) == len(CONTACTS)
        assert waits == [0.01, 0.02, 0.03]
        hubspot.configure(faults=[{"path": SEARCH, "status": 502, "count": 10}])
        with pytest.raises(SourceError, match=r"answered HTTP 502 to POST .* 4 times") as error:
            list(source.records({"email"}, None))
    finally:
        source.close()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("object_type", "token", "message"),
    [
        (
            "contacts",
            "pat-na1-not-the-token",
            "refused the token (HTTP 401: INVALID_AUTHENTICATION",
        ),
        ("widgets", None, "answered HTTP 404 to GET /crm/v3/properties/widgets"),
    ],
)
def test_refusals_are_one_line_without_the_token(
    hubspot: HubSpot, tmp_path: Path, object_type: str, token: str | None, message: str
) -> None:
    settings = HubSpotSettings(url=hubspot.url, token=token or hubspot.token, object=object_type)
    source = HubSpotSource("crm", settings, None, retry=FAST)
    with pytest.raises(SourceError) as error:
        source.test_connection()
    text = str(error.value)
    assert message in text
    assert "\n" not in text
    assert (token or hubspot.token) not in text


def test_a_server_that_does_not_answer_is_one_line() -> None:
    settings = HubSpotSettings(url="http://127.0.0.1:9", token="pat-na1-secret")
    source = HubSpotSource("crm", settings, None, retry=FAST)
    with pytest.raises(SourceError, match="does not answer") as error:
        list(source.records({"email"}, None))
    assert "\n" not in str(error.value)
    assert "secret" not in str(error.value)
    assert "secret" not in repr(settings)


def test_the_token_is_in_no_log(
    hubspot: HubSpot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hubspot.configure(rate_limit=4, retry_after="0", faults=[{"path": SEARCH, "count": 2}])
    source = source_of(hubspot, tmp_path, page=5)
    try:
        source.check(RULES)
        list(source.select(due_predicate(RULES, AT), set(RULES.needs())))
        assert "POST" in source.dry_run_query(due_predicate(RULES, AT))
        assert hubspot.token not in source.dry_run_query(due_predicate(RULES, AT))
    finally:
        source.close()
    assert "rate limited" in caplog.text
    assert "HTTP 503" in caplog.text
    assert hubspot.token not in caplog.text


def test_get_reads_one_contact(hubspot: HubSpot, tmp_path: Path) -> None:
    source = source_of(hubspot, tmp_path)
    try:
        source.check(RULES)
        record = source.get("2", {"email", "lifecyclestage", "category"})
        missing = source.get("999999", {"email"})
    finally:
        source.close()
    assert record == {"email": "person1@example.com", "lifecyclestage": "customer",
                      "category": "contact"}  # fmt: skip
    assert missing is None


def test_a_rule_on_a_property_the_object_lacks_is_refused(hubspot: HubSpot, tmp_path: Path) -> None:
    pack = {**PACK, "rules": [{**PACK["rules"][0], "where": {"lifecycle_stage": "lead"}}]}
    source = source_of(hubspot, tmp_path)
    with pytest.raises(SourceError, match="did you mean 'lifecyclestage'"):
        source.check(RuleSet((parse_pack(pack),)))
    source.close()


# -- the command line ----------------------------------------------------------------------


def test_report_on_a_hubspot_source(
    hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "crm.yaml"
    pack.write_text(yaml.safe_dump(PACK), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.crm]\nkind = "hubspot"\nurl = "{hubspot.url}"\n'
        'token = "${HUBSPOT_TOKEN}"\nobject = "contacts"\ncategory = "contact"\n'
        '[sources.crm.fields]\nlast_activity_at = "notes_last_updated"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HUBSPOT_TOKEN", hubspot.token)
    run = invoke("report", "--at", AT.isoformat(), "--rules", pack, "--config", config,
                 "--format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert hubspot.token not in run.stdout + run.stderr
    report = run.json()
    counts = report["sources"][0]["counts"]
    assert counts["total"] == len(CONTACTS)
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    assert {u["key"] for u in report["unreadable"]} == {"13", "26", "52"}  # "not a date"
    source = source_of(hubspot, tmp_path)
    try:
        source.check(RULES)
        expected = expected_due(source, AT)
    finally:
        source.close()
    assert {d["key"] for d in report["due"]} == expected
    assert expected
    assert not (tmp_path / "keepfor.db").exists()  # a report writes nothing


def test_a_refused_token_on_the_command_line_exits_2(
    hubspot: HubSpot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "crm.yaml"
    pack.write_text(yaml.safe_dump(PACK), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.crm]\nkind = "hubspot"\nurl = "{hubspot.url}"\n'
        'token = "${HUBSPOT_TOKEN}"\ncategory = "contact"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-wrong-secret")
    run = invoke("report", "--at", AT.isoformat(), "--rules", pack, "--config", config)
    assert run.exit_code == 2
    assert "refused the token" in run.stderr
    assert "wrong-secret" not in run.stdout + run.stderr
