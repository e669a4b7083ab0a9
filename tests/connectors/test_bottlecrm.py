"""The ``bottlecrm`` source against a real BottleCRM server (``tests/servers/bottlecrm.py``):
paging, the ``created_at`` filters pushed down giving what Python alone gives, the token
refused, a server that does not answer, and ``keepfor report --config`` on it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from keepfor import Status, evaluate, parse_pack
from keepfor.connectors.bottlecrm import BottleCrmSettings, BottleCrmSource
from keepfor.connectors.bottlecrm_range import DateRange, created_range
from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import due_predicate
from keepfor.engine.predicates import All, Any_, Equals, Never, Not, OnOrBefore, Switch
from keepfor.errors import SourceError
from tests.cli.conftest import invoke
from tests.servers.bottlecrm import (  # noqa: F401 (fixtures)
    CONTACTS,
    BottleCrm,
    bottlecrm_fixture,
    bottlecrm_template,
)

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)

CREATED_PACK = {
    "pack": "crm",
    "version": "1",
    "timezone": "Europe/London",
    "rules": [
        {
            "id": "web-contacts",
            "applies_to": {"category": "contact"},
            "where": {"source": "web"},
            "retain": {"from": "created_at", "for": "P5Y"},
            "then": "purge",
        },
        {
            "id": "event-contacts",
            "applies_to": {"category": "contact"},
            "where": {"source": "event"},
            "retain": {"from": "created_at", "for": "P8Y"},
            "then": "anonymise",
        },
        {
            "id": "referrals",
            "applies_to": {"category": "contact"},
            "where": {"source": "referral"},
            "retain": {"from": "created_at", "for": "P3Y"},
            "then": "anonymise",
        },
    ],
}
"""Every rule anchored on ``created_at``: the list can be filtered."""

ACTIVITY_PACK = {
    "pack": "activity",
    "version": "1",
    "timezone": "UTC",
    "rules": [
        {
            "id": "inactive",
            "applies_to": {"category": "contact"},
            "retain": {"from": "last_activity_at", "for": "P4Y"},
            "then": "purge",
        }
    ],
}
"""An anchor mapped to ``updated_at``: nothing to filter the list by."""


def source_of(crm: BottleCrm, tmp_path: Path, **options: object) -> BottleCrmSource:
    settings = BottleCrmSettings(
        url=crm.url,
        token=crm.token,
        constants={"category": "contact"},
        fields={"last_activity_at": "updated_at"},
        **options,  # type: ignore[arg-type]
    )
    return BottleCrmSource("crm", settings, f"sqlite:///{tmp_path / 'state.db'}")


def expected_due(source: BottleCrmSource, rules: RuleSet, at: datetime) -> set[str]:
    """The contacts the engine says are due, every contact read and evaluated in Python."""
    fields = set(rules.needs()) | {"category"}
    return {
        k.key
        for k in source.records(fields, None)
        if evaluate(rules, k.record, at).status is Status.DUE
    }


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [7, 10, 100])
def test_every_contact_is_read_once_across_pages(
    bottlecrm: BottleCrm, tmp_path: Path, page_size: int
) -> None:
    source = source_of(bottlecrm, tmp_path, page_size=page_size)
    source.open()
    try:
        source.check(RuleSet((parse_pack(CREATED_PACK),)))  # created_at: a date
        read = list(source.records({"created_at", "email"}, None))
    finally:
        source.close()
    assert sorted(k.key for k in read) == sorted(bottlecrm.ids)
    by_key = {k.key: k.record for k in read}
    first = by_key[bottlecrm.ids[0]]
    assert first["created_at"] == datetime.fromisoformat(CONTACTS[0]["created_at"])
    assert first["email"] == CONTACTS[0]["email"]


@pytest.mark.parametrize(
    "at", [AT, datetime(2021, 3, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)]
)
def test_pushed_filters_give_what_python_gives(
    bottlecrm: BottleCrm, tmp_path: Path, at: datetime
) -> None:
    rules = RuleSet((parse_pack(CREATED_PACK),))
    source = source_of(bottlecrm, tmp_path, page_size=10)
    source.open()
    try:
        source.check(rules)
        due = due_predicate(rules, at)
        span = source.range_of(due)
        assert span.high is not None
        assert "created_at__lte" in source.dry_run_query(due)
        fields = set(rules.needs())
        narrowed = {k.key for k in source.records(fields, due)}
        selected = {k.key for k in source.select(due, fields)}
        expected = expected_due(source, rules, at)
    finally:
        source.close()
    assert selected == expected
    assert expected <= narrowed
    if at < datetime(2030, 1, 1, tzinfo=UTC):  # later, every contact may be due
        assert len(narrowed) < len(bottlecrm.ids)


def test_an_anchor_on_updated_at_reads_every_contact(bottlecrm: BottleCrm, tmp_path: Path) -> None:
    rules = RuleSet((parse_pack(ACTIVITY_PACK),))
    source = source_of(bottlecrm, tmp_path)
    source.open()
    try:
        source.check(rules)
        due = due_predicate(rules, AT)
        assert source.range_of(due).filters() == {}
        selected = {k.key for k in source.select(due, set(rules.needs()))}
        expected = expected_due(source, rules, AT)
    finally:
        source.close()
    assert selected == expected
    assert 0 < len(selected) < len(bottlecrm.ids)


def test_get_reads_one_contact(bottlecrm: BottleCrm, tmp_path: Path) -> None:
    source = source_of(bottlecrm, tmp_path)
    try:
        source.check(RuleSet((parse_pack(ACTIVITY_PACK),)))  # last_activity_at: a date
        record = source.get(bottlecrm.ids[3], {"email", "last_activity_at", "category"})
        missing = source.get("00000000-0000-4000-8000-000000000000", {"email"})
    finally:
        source.close()
    assert record == {
        "email": CONTACTS[3]["email"],
        "last_activity_at": datetime.fromisoformat(CONTACTS[3]["updated_at"]),
        "category": "contact",
    }
    assert missing is None


# -- failures ----------------------------------------------------------------------------


def test_a_refused_token_is_one_line_without_the_token(
    bottlecrm: BottleCrm, tmp_path: Path
) -> None:
    bad = BottleCrm(bottlecrm.url, "bcrm_pat_not-a-real-token", (), Path(), bottlecrm.process)
    source = source_of(bad, tmp_path)
    with pytest.raises(SourceError) as error:
        source.test_connection()
    message = str(error.value)
    assert "\n" not in message
    assert "refused the token" in message
    assert "not-a-real-token" not in message


def test_a_server_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    settings = BottleCrmSettings(url="http://127.0.0.1:9", token="bcrm_pat_secret")
    source = BottleCrmSource("crm", settings, None)
    with pytest.raises(SourceError, match="does not answer") as error:
        list(source.records({"email"}, None))
    assert "\n" not in str(error.value)
    assert "secret" not in str(error.value)


# -- what can be pushed down (no server) -------------------------------------------------


def test_created_range_bounds_only_what_every_branch_bounds() -> None:
    early = OnOrBefore("created_at", date(2020, 1, 1), "UTC")
    late = OnOrBefore("created_at", date(2022, 1, 1), "UTC")
    other = OnOrBefore("updated_at", date(2020, 1, 1), "UTC")
    assert created_range(early, "created_at") == DateRange(high=date(2020, 1, 1))
    assert created_range(All((late, early)), "created_at").high == date(2020, 1, 1)
    assert created_range(Any_((late, early)), "created_at").high == date(2022, 1, 1)
    assert created_range(Any_((late, other)), "created_at") == DateRange()
    assert created_range(Not(early), "created_at").low == date(2020, 1, 2)
    assert created_range(All((Not(late), early)), "created_at").empty
    assert created_range(Never(), "created_at").empty
    switch = Switch("source", (("web", early),), Equals("x", 1))
    assert created_range(switch, "created_at") == DateRange()
    widened = DateRange(date(2020, 1, 2), date(2022, 1, 1)).filters()
    assert widened == {"created_at__gte": "2019-12-31", "created_at__lte": "2022-01-03"}


# -- the command line ----------------------------------------------------------------------


def test_report_on_a_bottlecrm_source(
    bottlecrm: BottleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    pack = tmp_path / "crm.yaml"
    pack.write_text(yaml.safe_dump(CREATED_PACK), encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[sources.crm]\nkind = "bottlecrm"\nurl = "{bottlecrm.url}"\n'
        'token = "${BOTTLECRM_TOKEN}"\ncategory = "contact"\npage_size = 20\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BOTTLECRM_TOKEN", bottlecrm.token)
    run = invoke("report", "--at", AT.isoformat(), "--rules", pack, "--config", config,
                 "--format", "csv")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert bottlecrm.token not in run.stdout + run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    rules = RuleSet((parse_pack(CREATED_PACK),))
    source = source_of(bottlecrm, tmp_path)
    try:
        expected = expected_due(source, rules, AT)
    finally:
        source.close()
    keys = {row[next(iter(row))] for row in rows}
    assert keys == expected
    assert expected
