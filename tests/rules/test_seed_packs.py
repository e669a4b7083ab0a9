"""The seed rule packs in rules/: they load, and they say what the policies say.

Every row of ``CASES`` is a worked example whose dates were worked out by hand from the
policy text (the arithmetic is in the comment on the row), not by running the engine.
Every rule of every pack must have at least one row (``test_every_rule_has_a_worked_example``).

Time zones used in the arithmetic (Europe/London):
  BST (UTC+1) 2019-03-31 01:00Z .. 2019-10-27; 2025-03-30 .. 2025-10-26;
  2026-03-29 .. 2026-10-25. Outside those, GMT (UTC+0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import keepfor
from keepfor import Action, Boundary, RulePack, Status

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
RECORDS = ROOT / "examples" / "records"
SEEDS = (
    "000_309eac6a712f4f0b.txt",
    "001_07892572acde0760.txt",
    "002_c895ba93b866b387.txt",
    "003_b5cfaacadf57c353.txt",
)
PACK_FILES = sorted(RULES.glob("*.yaml"))
RECORD_FILES = sorted(RECORDS.glob("*.json"))

JET = "jet-plumbing.yaml"
JS = "js-security.yaml"
KJM = "kjm-group.yaml"
JB = "jb-carpentry.yaml"

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # 2026-11-22 in London (GMT)


def utc(text: str) -> datetime:
    """An instant written as ISO 8601 with a Z."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Case:
    pack_file: str
    record: dict[str, Any]
    at: datetime | date
    status: Status
    disposal: date | None
    rule: str | None
    label: str


CASES: list[Case] = [
    # -- jet-plumbing (001): orders, six years after the end of the financial year -------
    Case(
        JET,
        {"category": "order", "placed_at": "2019-05-14T10:12:00+01:00"},
        NOW,
        # placed 2019-05-14 (London) -> FY ends 2020-03-31 -> +6y 2026-03-31
        # -> dispose 2026-04-01 <= 2026-11-22 -> due
        Status.DUE,
        date(2026, 4, 1),
        "orders-tax",
        "order-mid-year",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-03-31"},
        utc("2025-03-31T12:00:00Z"),
        # placed 2019-03-31, the last day of its FY -> FY ends 2019-03-31 -> +6y 2025-03-31
        # -> dispose 2025-04-01; at 13:00 BST 2025-03-31 -> retained
        Status.RETAINED,
        date(2025, 4, 1),
        "orders-tax",
        "order-31-march",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-04-01"},
        utc("2026-03-31T12:00:00Z"),
        # placed 2019-04-01, first day of the next FY -> FY ends 2020-03-31 -> +6y 2026-03-31
        # -> dispose 2026-04-01 (a whole year later than 31 March); at 2026-03-31 -> retained
        Status.RETAINED,
        date(2026, 4, 1),
        "orders-tax",
        "order-1-april",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-03-31T23:30:00Z"},
        NOW,
        # 2019-03-31T23:30Z is 00:30 BST on 2019-04-01 in London -> FY ends 2020-03-31
        # -> +6y 2026-03-31 -> dispose 2026-04-01 (not 2025-04-01) -> due
        Status.DUE,
        date(2026, 4, 1),
        "orders-tax",
        "order-late-31-march-utc-is-1-april-london",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-03-31T22:30:00Z"},
        NOW,
        # 2019-03-31T22:30Z is 23:30 BST on 2019-03-31 -> FY ends 2019-03-31
        # -> +6y 2025-03-31 -> dispose 2025-04-01 -> due
        Status.DUE,
        date(2025, 4, 1),
        "orders-tax",
        "order-still-31-march-london",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-04-01"},
        utc("2026-03-31T23:30:00Z"),
        # dispose 2026-04-01 (row order-1-april); the instant 2026-03-31T23:30Z is 00:30 BST
        # on 2026-04-01 in London, so today = 2026-04-01 = D -> due
        Status.DUE,
        date(2026, 4, 1),
        "orders-tax",
        "instant-late-31-march-utc-is-1-april-london",
    ),
    Case(
        JET,
        {"category": "order", "placed_at": "2019-04-01"},
        utc("2026-03-31T22:59:00Z"),
        # dispose 2026-04-01; 2026-03-31T22:59Z is 23:59 BST on 31 March -> retained
        Status.RETAINED,
        date(2026, 4, 1),
        "orders-tax",
        "instant-still-31-march-london",
    ),
    # -- jet-plumbing (001): enquiries and correspondence, until resolved + 1 year ---------
    Case(
        JET,
        {"category": "enquiry", "received_at": "2026-10-02T14:05:00+01:00"},
        NOW,
        # not yet resolved: no resolved_at -> the "one further year" has not started -> waiting
        Status.WAITING,
        None,
        None,
        "enquiry-open",
    ),
    Case(
        JET,
        {"category": "enquiry", "received_at": "2026-10-02", "resolved_at": None},
        NOW,
        # resolved_at null is the same as missing: not resolved -> waiting
        Status.WAITING,
        None,
        None,
        "enquiry-resolved-null",
    ),
    Case(
        JET,
        {"category": "enquiry", "received_at": "2024-06-03", "resolved_at": "2024-06-20"},
        utc("2025-06-20T22:30:00Z"),
        # resolved 2024-06-20 -> +1y 2025-06-20 -> dispose 2025-06-21;
        # at 23:30 BST on 2025-06-20 -> retained
        Status.RETAINED,
        date(2025, 6, 21),
        "enquiries-resolved",
        "enquiry-resolved-day-before",
    ),
    Case(
        JET,
        {"category": "enquiry", "received_at": "2024-06-03", "resolved_at": "2024-06-20"},
        utc("2025-06-20T23:30:00Z"),
        # dispose 2025-06-21; 2025-06-20T23:30Z is 00:30 BST on 2025-06-21 -> due
        Status.DUE,
        date(2025, 6, 21),
        "enquiries-resolved",
        "enquiry-resolved-due",
    ),
    Case(
        JET,
        {"category": "enquiry", "received_at": "2024-02-20", "resolved_at": "2024-02-29"},
        date(2025, 3, 1),
        # resolved 2024-02-29 -> +1y clamps to 2025-02-28 -> dispose 2025-03-01 -> due that day
        Status.DUE,
        date(2025, 3, 1),
        "enquiries-resolved",
        "enquiry-resolved-29-february",
    ),
    Case(
        JET,
        {"category": "correspondence", "received_at": "2025-01-08", "resolved_at": "2025-01-15"},
        utc("2026-01-15T23:59:00Z"),
        # resolved 2025-01-15 -> +1y 2026-01-15 -> dispose 2026-01-16;
        # at 23:59 GMT on 2026-01-15 -> retained
        Status.RETAINED,
        date(2026, 1, 16),
        "correspondence-resolved",
        "correspondence-resolved",
    ),
    Case(
        JET,
        {"category": "correspondence", "received_at": "2026-11-01"},
        NOW,
        # not yet answered and resolved -> waiting
        Status.WAITING,
        None,
        None,
        "correspondence-open",
    ),
    # -- js-security (002) section 4: until the contract ends or is terminated ------------
    Case(
        JS,
        {"category": "contract", "started_at": "2023-02-01", "contract_ended_at": "2025-01-31"},
        utc("2025-01-31T12:00:00Z"),
        # ended 2025-01-31 -> +0 2025-01-31, kept through that day (after) -> dispose
        # 2025-02-01; at 2025-01-31 -> retained
        Status.RETAINED,
        date(2025, 2, 1),
        "contract-ended",
        "contract-last-day",
    ),
    Case(
        JS,
        {"category": "contract", "started_at": "2023-02-01", "contract_ended_at": "2025-01-31"},
        date(2025, 2, 1),
        # dispose 2025-02-01 (review) -> due on 2025-02-01
        Status.DUE,
        date(2025, 2, 1),
        "contract-ended",
        "contract-day-after",
    ),
    Case(
        JS,
        {"category": "contract", "started_at": "2023-02-01"},
        NOW,
        # contract still running: no contract_ended_at -> waiting
        Status.WAITING,
        None,
        None,
        "contract-running",
    ),
    # -- js-security (002) section 5: until consent withdrawn or presumed gone ------------
    Case(
        JS,
        {"category": "consent_data", "consent_withdrawn_at": "2026-02-03T08:45:00Z"},
        utc("2026-02-03T09:00:00Z"),
        # withdrawn 2026-02-03 (GMT) -> +0, boundary on -> dispose 2026-02-03, the same day
        # -> due at 09:00 that day
        Status.DUE,
        date(2026, 2, 3),
        "consent-withdrawn",
        "consent-withdrawn-same-day",
    ),
    Case(
        JS,
        {"category": "consent_data", "consent_withdrawn_at": "2025-06-30T23:30:00Z"},
        utc("2025-06-30T23:45:00Z"),
        # 2025-06-30T23:30Z is 00:30 BST on 2025-07-01 -> dispose 2025-07-01 (on);
        # the instant is 00:45 BST on 2025-07-01 -> due
        Status.DUE,
        date(2025, 7, 1),
        "consent-withdrawn",
        "consent-withdrawn-after-midnight-bst",
    ),
    Case(
        JS,
        {
            "category": "consent_data",
            "consent_lapsed_at": "2025-03-10",
            "consent_withdrawn_at": "2025-05-01",
        },
        utc("2025-03-09T12:00:00Z"),
        # earliest of lapsed 2025-03-10 and withdrawn 2025-05-01 -> 2025-03-10, boundary on
        # -> dispose 2025-03-10; at 2025-03-09 -> retained
        Status.RETAINED,
        date(2025, 3, 10),
        "consent-withdrawn",
        "consent-presumed-lapsed-first",
    ),
    Case(
        JS,
        {"category": "consent_data", "consented_at": "2024-04-11"},
        NOW,
        # consent neither withdrawn nor presumed gone -> waiting
        Status.WAITING,
        None,
        None,
        "consent-standing",
    ),
    # -- js-security (002) section 11: job applications and employee files ----------------
    Case(
        JS,
        {"category": "job_application", "received_at": "2025-01-10"},
        utc("2026-01-10T12:00:00Z"),
        # received 2025-01-10 -> +12m 2026-01-10 -> dispose 2026-01-11; at 2026-01-10
        # -> retained
        Status.RETAINED,
        date(2026, 1, 11),
        "job-applications",
        "job-application-last-day",
    ),
    Case(
        JS,
        {"category": "job_application", "received_at": "2024-02-29T10:00:00Z"},
        date(2025, 3, 1),
        # received 2024-02-29 (GMT) -> +12m clamps to 2025-02-28 -> dispose 2025-03-01 -> due
        Status.DUE,
        date(2025, 3, 1),
        "job-applications",
        "job-application-29-february",
    ),
    Case(
        JS,
        {"category": "employee_file", "employment_ended_at": "2024-02-29"},
        utc("2025-02-28T23:00:00Z"),
        # ended 2024-02-29 -> +12m clamps to 2025-02-28 -> dispose 2025-03-01;
        # at 23:00 GMT on 2025-02-28 -> retained
        Status.RETAINED,
        date(2025, 3, 1),
        "employee-files",
        "employee-left",
    ),
    Case(
        JS,
        {"category": "employee_file", "employment_ended_at": "2025-06-30"},
        NOW,
        # ended 2025-06-30 -> +12m 2026-06-30 -> dispose 2026-07-01 <= 2026-11-22 -> due
        Status.DUE,
        date(2026, 7, 1),
        "employee-files",
        "employee-left-due",
    ),
    Case(
        JS,
        {"category": "employee_file", "employment_started_at": "2019-09-02"},
        NOW,
        # still employed: no employment_ended_at -> waiting
        Status.WAITING,
        None,
        None,
        "employee-still-employed",
    ),
    # -- js-security (002) sections 12 and 29: messages, no period stated -----------------
    Case(
        JS,
        {"category": "message", "received_at": "2026-11-20T17:42:00Z"},
        utc("2026-11-20T18:00:00Z"),
        # received 2026-11-20 (GMT) -> +0, after -> review from 2026-11-21; at 2026-11-20
        # -> retained
        Status.RETAINED,
        date(2026, 11, 21),
        "messages-no-period",
        "message-day-received",
    ),
    Case(
        JS,
        {"category": "message", "received_at": "2026-11-20T17:42:00Z"},
        NOW,
        # review from 2026-11-21 <= 2026-11-22 -> due (for review)
        Status.DUE,
        date(2026, 11, 21),
        "messages-no-period",
        "message-up-for-review",
    ),
    # -- kjm-group (003): services, at least as long as provided --------------------------
    Case(
        KJM,
        {"category": "service", "service_started_at": "2022-03-01"},
        NOW,
        # service still provided: no service_ended_at -> waiting
        Status.WAITING,
        None,
        None,
        "service-ongoing",
    ),
    Case(
        KJM,
        {"category": "service", "service_ended_at": "2025-08-31"},
        date(2025, 9, 1),
        # ended 2025-08-31 -> +0, after -> dispose (review) 2025-09-01 -> due that day
        Status.DUE,
        date(2025, 9, 1),
        "services-provided",
        "service-ended",
    ),
    # -- kjm-group (003): quotes not accepted, 12 months ----------------------------------
    Case(
        KJM,
        {"category": "quote", "quoted_at": "2025-10-06", "accepted": False},
        utc("2026-10-06T22:59:00Z"),
        # quoted 2025-10-06 -> +12m 2026-10-06 -> dispose 2026-10-07;
        # at 23:59 BST on 2026-10-06 -> retained
        Status.RETAINED,
        date(2026, 10, 7),
        "quotes-not-accepted",
        "quote-unaccepted-last-day",
    ),
    Case(
        KJM,
        {"category": "quote", "quoted_at": "2025-10-06", "accepted": False},
        utc("2026-10-06T23:00:00Z"),
        # dispose 2026-10-07; 2026-10-06T23:00Z is 00:00 BST on 2026-10-07 -> due
        Status.DUE,
        date(2026, 10, 7),
        "quotes-not-accepted",
        "quote-unaccepted-due",
    ),
    # -- kjm-group (003): accepted quotes, installation then guarantee / maintenance ------
    Case(
        KJM,
        {
            "category": "quote",
            "accepted": True,
            "installation_completed_at": "2021-06-18",
            "guarantee_expires_at": "2031-06-18",
            "maintenance_contract_ends_at": "2027-06-30",
        },
        NOW,
        # latest of installed 2021-06-18, guarantee 2031-06-18, maintenance 2027-06-30
        # -> 2031-06-18 -> dispose 2031-06-19 -> retained
        Status.RETAINED,
        date(2031, 6, 19),
        "quotes-accepted",
        "quote-accepted-guarantee-and-maintenance",
    ),
    Case(
        KJM,
        {
            "category": "quote",
            "accepted": True,
            "installation_completed_at": "2021-06-18",
            "guarantee_expires_at": "2026-06-18",
            "maintenance_contract_ends_at": "2028-06-30",
        },
        NOW,
        # latest of 2021-06-18, guarantee 2026-06-18, maintenance 2028-06-30 -> 2028-06-30
        # -> dispose 2028-07-01 -> retained (the maintenance contract outlasts the guarantee)
        Status.RETAINED,
        date(2028, 7, 1),
        "quotes-accepted",
        "quote-accepted-maintenance-outlasts-guarantee",
    ),
    Case(
        KJM,
        {
            "category": "quote",
            "accepted": True,
            "installation_completed_at": "2022-05-10",
            "maintenance_contract_ends_at": "2026-12-31",
        },
        NOW,
        # no guarantee (left out); latest of 2022-05-10 and maintenance 2026-12-31
        # -> dispose 2027-01-01 -> retained
        Status.RETAINED,
        date(2027, 1, 1),
        "quotes-accepted",
        "quote-accepted-with-maintenance",
    ),
    Case(
        KJM,
        {
            "category": "quote",
            "accepted": True,
            "installation_completed_at": "2022-05-10",
            "guarantee_expires_at": None,
            "maintenance_contract_ends_at": None,
        },
        NOW,
        # no guarantee, no maintenance contract (both null, left out) -> installed 2022-05-10
        # -> dispose 2022-05-11 -> due (review)
        Status.DUE,
        date(2022, 5, 11),
        "quotes-accepted",
        "quote-accepted-without-maintenance",
    ),
    Case(
        KJM,
        {
            "category": "quote",
            "accepted": True,
            "guarantee_expires_at": "2036-01-01",
            "maintenance_contract_ends_at": "2027-01-01",
        },
        NOW,
        # installation not yet complete -> waiting, whatever the guarantee says
        Status.WAITING,
        None,
        None,
        "quote-accepted-installation-pending",
    ),
    # -- kjm-group (003): CVs, 6 months ---------------------------------------------------
    Case(
        KJM,
        {"category": "cv", "received_at": "2023-08-31"},
        date(2024, 2, 29),
        # received 2023-08-31 -> +6m clamps to 2024-02-29 -> dispose 2024-03-01;
        # at 2024-02-29 -> retained
        Status.RETAINED,
        date(2024, 3, 1),
        "cvs",
        "cv-31-august",
    ),
    Case(
        KJM,
        {"category": "cv", "received_at": "2026-03-02T09:15:00Z"},
        NOW,
        # received 2026-03-02 (GMT) -> +6m 2026-09-02 -> dispose 2026-09-03 -> due
        Status.DUE,
        date(2026, 9, 3),
        "cvs",
        "cv-due",
    ),
    # -- jb-carpentry (000): consent withdrawn or deletion asked -> remove ----------------
    Case(
        JB,
        {"category": "contact", "consent_withdrawn_at": "2026-05-11"},
        utc("2026-05-11T00:30:00Z"),
        # withdrawn 2026-05-11 -> +0, boundary on -> dispose 2026-05-11; the instant is
        # 01:30 BST on 2026-05-11 -> due the same day
        Status.DUE,
        date(2026, 5, 11),
        "contact-consent-withdrawn",
        "contact-consent-withdrawn",
    ),
    Case(
        JB,
        {
            "category": "contact",
            "erasure_requested_at": "2026-03-01",
            "consent_withdrawn_at": "2026-05-11",
        },
        utc("2026-02-28T12:00:00Z"),
        # earliest of erasure asked 2026-03-01 and withdrawn 2026-05-11 -> 2026-03-01 (on)
        # -> dispose 2026-03-01; at 2026-02-28 -> retained
        Status.RETAINED,
        date(2026, 3, 1),
        "contact-consent-withdrawn",
        "contact-erasure-requested-first",
    ),
    Case(
        JB,
        {"category": "contact", "collected_at": "2024-07-19"},
        NOW,
        # no withdrawal, no deletion request: the policy states no period -> waiting
        Status.WAITING,
        None,
        None,
        "contact-no-request",
    ),
]


def _pack(pack_file: str) -> RulePack:
    return keepfor.load_pack(RULES / pack_file)


@pytest.fixture(scope="module")
def all_rules() -> keepfor.RuleSet:
    return keepfor.load_rules(RULES)


# -- (a) every pack loads --------------------------------------------------------------


def test_rules_folder_has_the_seed_packs() -> None:
    assert {p.name for p in PACK_FILES} == {JET, JS, KJM, JB}


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_pack_loads(path: Path) -> None:
    pack = keepfor.load_pack(path)
    assert pack.id == path.stem
    assert pack.timezone == "Europe/London"
    assert pack.rules
    for rule in pack.rules:
        assert rule.source is not None
        assert rule.source.split(",")[0] in SEEDS, rule.id
        assert rule.description


def test_all_packs_load_together(all_rules: keepfor.RuleSet) -> None:
    ids = [pack.id for pack in all_rules.packs]
    assert len(ids) == len(set(ids)) == len(PACK_FILES)


def test_categories_do_not_overlap_between_packs(all_rules: keepfor.RuleSet) -> None:
    """Each business's categories are its own, so loading rules/ whole mixes nothing."""
    owner: dict[Any, str] = {}
    for pack, rule in all_rules:
        category = rule.applies_to["category"]
        assert owner.setdefault(category, pack.id) == pack.id, category


# -- (b) worked examples ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_worked_example(case: Case, all_rules: keepfor.RuleSet) -> None:
    decision = keepfor.evaluate(_pack(case.pack_file), case.record, case.at)
    got = (decision.status, decision.disposal_date, decision.rule and decision.rule.id)
    assert got == (case.status, case.disposal, case.rule), decision.reason
    # The same answer with every pack in rules/ loaded together.
    together = keepfor.evaluate(all_rules, case.record, case.at)
    assert together.to_dict() == decision.to_dict()


def test_labels_are_unique() -> None:
    labels = [c.label for c in CASES]
    assert len(labels) == len(set(labels))


def test_every_rule_has_a_worked_example() -> None:
    declared = {(path.name, rule.id) for path in PACK_FILES for rule in _pack(path.name).rules}
    covered = {(c.pack_file, c.rule) for c in CASES if c.rule is not None}
    assert declared - covered == set(), "rules with no worked example"
    assert covered - declared == set(), "worked examples naming a rule that does not exist"


# What each clause's wording asks for; see the comments in the packs.
ACTIONS = {
    ("jet-plumbing", "orders-tax"): (Action.PURGE, Boundary.AFTER),
    ("jet-plumbing", "enquiries-resolved"): (Action.PURGE, Boundary.AFTER),  # "delete"
    ("jet-plumbing", "correspondence-resolved"): (Action.PURGE, Boundary.AFTER),  # "delete"
    ("js-security", "contract-ended"): (Action.REVIEW, Boundary.AFTER),  # s.29 tax/claims
    ("js-security", "consent-withdrawn"): (Action.FLAG, Boundary.ON),  # stop processing
    ("js-security", "job-applications"): (Action.PURGE, Boundary.AFTER),
    ("js-security", "employee-files"): (Action.PURGE, Boundary.AFTER),  # "destroying"
    ("js-security", "messages-no-period"): (Action.REVIEW, Boundary.AFTER),  # no period
    ("kjm-group", "services-provided"): (Action.REVIEW, Boundary.AFTER),  # "at least"
    ("kjm-group", "quotes-not-accepted"): (Action.PURGE, Boundary.AFTER),  # "delete"
    ("kjm-group", "quotes-accepted"): (Action.REVIEW, Boundary.AFTER),
    ("kjm-group", "cvs"): (Action.PURGE, Boundary.AFTER),
    ("jb-carpentry", "contact-consent-withdrawn"): (Action.PURGE, Boundary.ON),  # "remove"
}


def test_actions_and_boundaries(all_rules: keepfor.RuleSet) -> None:
    got = {(pack.id, rule.id): (rule.action, rule.boundary) for pack, rule in all_rules}
    assert got == ACTIONS


def test_unaccepted_quote_is_not_the_accepted_rule() -> None:
    """accepted: false and accepted: true select one quote rule each, never both."""
    pack = _pack(KJM)
    record = {
        "category": "quote",
        "quoted_at": "2025-10-06",
        "accepted": False,
        "installation_completed_at": "2026-01-01",
    }
    decision = keepfor.evaluate(pack, record, NOW)
    assert [o.rule.id for o in decision.matched] == ["quotes-not-accepted"]


def test_unknown_category_is_unmatched(all_rules: keepfor.RuleSet) -> None:
    decision = keepfor.evaluate(all_rules, {"category": "invoice", "issued_at": "2020-01-01"}, NOW)
    assert decision.status is Status.UNMATCHED


# -- (c) example records ---------------------------------------------------------------


def test_example_records_cover_the_main_categories() -> None:
    names = {p.name for p in RECORD_FILES}
    required = {
        "order.json",
        "enquiry-open.json",
        "quote-accepted.json",
        "cv.json",
        "employee-file.json",
    }
    assert required <= names


def test_every_category_has_an_example_record(all_rules: keepfor.RuleSet) -> None:
    categories = {rule.applies_to["category"] for _, rule in all_rules}
    examples = {json.loads(p.read_text(encoding="utf-8"))["category"] for p in RECORD_FILES}
    assert categories <= examples


@pytest.mark.parametrize("path", RECORD_FILES, ids=lambda p: p.name)
def test_example_record_evaluates(path: Path, all_rules: keepfor.RuleSet) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(record, dict)
    decision = keepfor.evaluate(all_rules, record, NOW)
    assert decision.status is not Status.UNMATCHED, decision.reason
    json.dumps(decision.to_dict(detail=True))  # the explanation is plain JSON
