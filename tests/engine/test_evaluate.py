"""Whole rules through ``evaluate()``: boundaries, status at the edges, several rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from keepfor import (
    Action,
    RulePack,
    RulePackError,
    RuleSet,
    Status,
    UsageError,
    evaluate,
    load_pack,
    parse_pack,
)

D = date.fromisoformat
LATER = datetime(2200, 1, 1, tzinfo=UTC)
EARLIER = datetime(1990, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rule(
    rule_id: str,
    retain: dict[str, Any],
    *,
    applies_to: dict[str, Any] | None = None,
    boundary: str = "after",
    then: str = "purge",
    **more: Any,
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "applies_to": applies_to or {"category": "order"},
        "retain": retain,
        "boundary": boundary,
        "then": then,
        **more,
    }


def pack(
    *rules: dict[str, Any],
    pack_id: str = "shop",
    timezone: str = "Europe/London",
    financial_year_end: str = "03-31",
) -> RulePack:
    return parse_pack(
        {
            "pack": pack_id,
            "version": "2026.1",
            "timezone": timezone,
            "financial_year_end": financial_year_end,
            "rules": list(rules),
        }
    )


def since(field: str, period: str, **more: Any) -> dict[str, Any]:
    return {"from": field, "for": period, **more}


# -- the spec's example ------------------------------------------------------------------

SPEC_PACK = """\
pack: uk-small-trades            # identifier, [a-z0-9-]+
version: "2026.1"                # recorded in every audit entry and report
timezone: Europe/London          # IANA zone; datetimes are converted to it before taking the date
financial_year_end: "03-31"      # MM-DD; default for `end_of: financial_year` (UK tax year: "04-05")
rules:
  - id: orders-tax               # unique in the pack, [a-z0-9-]+
    description: Order records, six years after the end of the financial year of the order.
    source: "001_07892572acde0760.txt, 'Retention periods'"   # where the clause comes from
    applies_to: {category: order}            # equality match on record fields (all must hold)
    where: {accepted: false}                 # optional further equality conditions, same form
    retain:                                  # a TERM, see below
      from: {end_of: financial_year, of: placed_at}
      for: P6Y
    boundary: after                          # after (default) | on
    then: purge                              # flag | anonymise | purge | review
"""  # noqa: E501 - the spec's example, verbatim

BASIS = "legitimate_interest"
"""The basis of a rule that names none."""

SPEC_OUTPUT = {
    "disposal_date": "2026-04-01",
    "rule": "orders-tax",
    "action": "purge",
    "basis": BASIS,
    "status": "due",
    "matched": [
        {
            "rule": "orders-tax",
            "retain_until": "2026-03-31",
            "disposal_date": "2026-04-01",
            "basis": BASIS,
        }
    ],
}
"""The spec's example output, and the ``basis`` of the winner and of each matched rule."""


def test_spec_example_from_dict() -> None:
    orders = pack(
        rule("orders-tax", {"from": {"end_of": "financial_year", "of": "placed_at"}, "for": "P6Y"})
    )
    record = {"category": "order", "placed_at": "2019-05-01"}
    decision = evaluate(orders, record, utc("2026-11-22T09:00:00Z"))
    assert decision.to_dict() == SPEC_OUTPUT


def test_spec_example_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "uk-small-trades.yaml"
    path.write_text(SPEC_PACK, encoding="utf-8")
    loaded = load_pack(path)
    record = {"category": "order", "placed_at": "2019-05-01", "accepted": False}
    decision = evaluate(loaded, record, utc("2026-11-22T09:00:00Z"))
    assert decision.to_dict() == {**SPEC_OUTPUT, "rule": "orders-tax"}
    # the `where` condition must hold too
    accepted = {**record, "accepted": True}
    assert evaluate(loaded, accepted, utc("2026-11-22T09:00:00Z")).status is Status.UNMATCHED


# -- boundary ----------------------------------------------------------------------------

BOUNDARY = [
    # (anchor value, period, boundary, retain_until, disposal date)
    ("2024-02-29", "P1Y", "after", "2025-02-28", "2025-03-01"),
    ("2024-02-29", "P1Y", "on", "2025-02-28", "2025-02-28"),
    ("2023-08-31", "P6M", "after", "2024-02-29", "2024-03-01"),
    ("2023-08-31", "P6M", "on", "2024-02-29", "2024-02-29"),
    ("2019-12-31", "P0D", "after", "2019-12-31", "2020-01-01"),
    ("2019-12-31", "P0D", "on", "2019-12-31", "2019-12-31"),
    ("2010-06-01", "P15Y", "on", "2025-06-01", "2025-06-01"),
    ("2019-03-31T23:30:00Z", "P1Y", "after", "2020-04-01", "2020-04-02"),
]


@pytest.mark.parametrize(
    ("value", "period", "boundary", "until", "disposal"),
    [pytest.param(*row, id=f"{row[0]}+{row[1]}-{row[2]}") for row in BOUNDARY],
)
def test_boundary(value: str, period: str, boundary: str, until: str, disposal: str) -> None:
    rules = pack(rule("r", since("d", period), boundary=boundary))
    decision = evaluate(rules, {"category": "order", "d": value}, EARLIER)
    assert decision.matched[0].retain_until == D(until)
    assert decision.disposal_date == D(disposal)
    assert decision.status is Status.RETAINED


def test_boundary_defaults_to_after() -> None:
    data = rule("r", since("d", "P1Y"))
    del data["boundary"]
    decision = evaluate(pack(data), {"category": "order", "d": "2024-02-29"}, EARLIER)
    assert decision.disposal_date == D("2025-03-01")


def test_boundary_on_unquoted_in_yaml(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare `on` as true; the spec writes `boundary: on` unquoted.
    path = tmp_path / "p.yaml"
    path.write_text(
        "pack: p\nversion: '1'\ntimezone: Europe/London\nrules:\n"
        "  - id: r\n    applies_to: {category: order}\n"
        "    retain: {from: d, for: P15Y}\n    boundary: on\n    then: purge\n",
        encoding="utf-8",
    )
    loaded = load_pack(path)
    decision = evaluate(loaded, {"category": "order", "d": "2010-06-01"}, EARLIER)
    assert decision.disposal_date == D("2025-06-01")


def test_boundary_on_quoted_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "pack: p\nversion: '1'\ntimezone: Europe/London\nrules:\n"
        "  - id: r\n    applies_to: {category: order}\n"
        "    retain: {from: d, for: P15Y}\n    boundary: 'on'\n    then: purge\n",
        encoding="utf-8",
    )
    decision = evaluate(load_pack(path), {"category": "order", "d": "2010-06-01"}, EARLIER)
    assert decision.disposal_date == D("2025-06-01")


# -- status at the edge of the disposal day ------------------------------------------------

EDGES = [
    # zone, anchor, boundary, at (UTC), status.  D is 2026-04-01 (BST) or 2025-01-15 (winter).
    ("Europe/London", "2025-03-31", "after", "2026-03-31T23:00:00Z", "due"),  # 00:00 BST
    ("Europe/London", "2025-03-31", "after", "2026-03-31T22:59:59Z", "retained"),  # 23:59:59 BST
    ("Europe/London", "2025-03-31", "after", "2026-03-31T23:30:00Z", "due"),
    ("Europe/London", "2025-03-31", "after", "2026-04-01T12:00:00Z", "due"),
    ("Europe/London", "2025-03-31", "after", "2026-03-31T12:00:00Z", "retained"),
    ("Europe/London", "2026-04-01", "on", "2026-03-31T23:00:00Z", "due"),
    ("Europe/London", "2026-04-01", "on", "2026-03-31T22:59:59Z", "retained"),
    ("Europe/London", "2024-01-14", "after", "2025-01-15T00:00:00Z", "due"),  # 00:00 GMT
    ("Europe/London", "2024-01-14", "after", "2025-01-14T23:59:59Z", "retained"),
    ("America/New_York", "2024-01-14", "after", "2025-01-15T05:00:00Z", "due"),  # 00:00 EST
    ("America/New_York", "2024-01-14", "after", "2025-01-15T04:59:59Z", "retained"),
    ("America/New_York", "2024-01-14", "after", "2025-01-15T03:00:00Z", "retained"),
    ("Asia/Kolkata", "2024-01-14", "after", "2025-01-14T18:30:00Z", "due"),  # 00:00 IST
    ("Asia/Kolkata", "2024-01-14", "after", "2025-01-14T18:29:59Z", "retained"),
    ("UTC", "2024-01-14", "after", "2025-01-15T00:00:00Z", "due"),
    ("UTC", "2024-01-14", "after", "2025-01-14T23:59:59Z", "retained"),
]


@pytest.mark.parametrize(
    ("zone", "anchor", "boundary", "at", "status"),
    [pytest.param(*row, id=f"{row[0]}-{row[2]}-{row[3]}-{row[4]}") for row in EDGES],
)
def test_status_at_the_edge(zone: str, anchor: str, boundary: str, at: str, status: str) -> None:
    period = "P1Y" if boundary == "after" else "P0D"
    rules = pack(rule("r", since("d", period), boundary=boundary), timezone=zone)
    decision = evaluate(rules, {"category": "order", "d": anchor}, utc(at))
    assert decision.status is Status(status)
    assert decision.disposal_date in (D("2026-04-01"), D("2025-01-15"))


def test_at_with_other_offsets() -> None:
    rules = pack(rule("r", since("d", "P1Y")))  # D = 2026-04-01 in London
    record = {"category": "order", "d": "2025-03-31"}
    ist = datetime.fromisoformat("2026-04-01T04:29:59+05:30")  # 2026-03-31T22:59:59Z
    assert evaluate(rules, record, ist).status is Status.RETAINED
    ist = datetime.fromisoformat("2026-04-01T04:30:00+05:30")  # 2026-03-31T23:00:00Z
    assert evaluate(rules, record, ist).status is Status.DUE


@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_at_as_a_date_is_that_day_in_every_zone(zone: str) -> None:
    rules = pack(rule("r", since("d", "P1Y")), timezone=zone)  # D = 2025-01-15
    record = {"category": "order", "d": "2024-01-14"}
    assert evaluate(rules, record, date(2025, 1, 15)).status is Status.DUE
    assert evaluate(rules, record, date(2025, 1, 14)).status is Status.RETAINED
    assert evaluate(rules, record, date(2025, 1, 15)).today == date(2025, 1, 15)


def test_naive_at_is_a_usage_error() -> None:
    rules = pack(rule("r", since("d", "P1Y")))
    with pytest.raises(UsageError, match="offset"):
        evaluate(rules, {"category": "order", "d": "2024-01-14"}, datetime(2025, 1, 15, 9))
    with pytest.raises(UsageError):  # waiting records too
        evaluate(rules, {"category": "order"}, datetime(2025, 1, 15, 9))


def test_naive_at_is_a_usage_error_even_when_nothing_matches() -> None:
    rules = pack(rule("r", since("d", "P1Y")))
    with pytest.raises(UsageError):
        evaluate(rules, {"category": "invoice"}, datetime(2025, 1, 15, 9))


# -- several rules ---------------------------------------------------------------------------

ORDER = {"category": "order", "placed_at": "2019-05-01", "closed_at": "2020-01-15"}


def test_retention_wins() -> None:
    rules = pack(
        rule("short", since("placed_at", "P1Y"), then="purge"),  # D 2020-05-02
        rule("long", since("closed_at", "P6Y"), then="flag"),  # D 2026-01-16
        rule("middle", since("placed_at", "P3Y"), then="anonymise"),  # D 2022-05-02
    )
    decision = evaluate(rules, ORDER, utc("2026-01-15T12:00:00Z"))
    assert decision.disposal_date == D("2026-01-16")
    assert decision.rule is not None
    assert decision.rule.id == "long"
    assert decision.action is Action.FLAG
    assert decision.status is Status.RETAINED
    assert [m.rule.id for m in decision.matched] == ["short", "long", "middle"]
    assert [m.disposal_date for m in decision.matched] == [
        D("2020-05-02"),
        D("2026-01-16"),
        D("2022-05-02"),
    ]


def test_any_waiting_rule_makes_the_record_wait() -> None:
    rules = pack(
        rule("orders", since("placed_at", "P1Y")),
        rule("complaints", since("resolved_at", "P3Y")),
    )
    decision = evaluate(rules, ORDER, LATER)
    assert decision.status is Status.WAITING
    assert decision.disposal_date is None
    assert decision.rule is None
    assert decision.action is None
    assert decision.to_dict() == {
        "disposal_date": None,
        "rule": None,
        "action": None,
        "basis": None,
        "status": "waiting",
        "matched": [
            {
                "rule": "orders",
                "retain_until": "2020-05-01",
                "disposal_date": "2020-05-02",
                "basis": BASIS,
            },
            {"rule": "complaints", "retain_until": None, "disposal_date": None, "basis": BASIS},
        ],
    }
    assert "resolved_at" in decision.reason


def test_null_field_waits_like_a_missing_one() -> None:
    rules = pack(rule("complaints", since("resolved_at", "P3Y")))
    decision = evaluate(rules, {**ORDER, "resolved_at": None}, LATER)
    assert decision.status is Status.WAITING


def test_unmatched() -> None:
    rules = pack(rule("orders", since("placed_at", "P1Y")))
    decision = evaluate(rules, {"category": "invoice", "placed_at": "2019-05-01"}, LATER)
    assert decision.status is Status.UNMATCHED
    assert decision.disposal_date is None
    assert decision.matched == ()
    assert decision.to_dict() == {
        "disposal_date": None,
        "rule": None,
        "action": None,
        "basis": None,
        "status": "unmatched",
        "matched": [],
    }
    missing = evaluate(rules, {"placed_at": "2019-05-01"}, LATER)
    assert missing.status is Status.UNMATCHED


TIES = [
    # (rules as (id, then), expected winner)
    ([("a", "purge"), ("b", "review")], "b"),
    ([("a", "purge"), ("b", "flag"), ("c", "anonymise")], "b"),
    ([("a", "anonymise"), ("b", "purge")], "a"),
    ([("a", "review"), ("b", "flag"), ("c", "review")], "b"),  # flag is the gentlest
    ([("a", "purge"), ("b", "review"), ("c", "flag")], "c"),
    ([("a", "purge"), ("b", "purge")], "a"),
    ([("b", "purge"), ("a", "purge")], "b"),
]


@pytest.mark.parametrize(
    ("rules", "winner"),
    [pytest.param(r, w, id="-".join(f"{i}:{t}" for i, t in r)) for r, w in TIES],
)
def test_ties_go_to_the_gentlest_action_then_the_first_loaded(
    rules: list[tuple[str, str]], winner: str
) -> None:
    built = pack(*(rule(i, since("placed_at", "P1Y"), then=t) for i, t in rules))
    decision = evaluate(built, ORDER, LATER)
    assert decision.rule is not None
    assert decision.rule.id == winner
    assert decision.disposal_date == D("2020-05-02")


def test_tie_across_boundaries() -> None:
    # after: R 2020-05-01 -> D 2020-05-02; on: R 2020-05-02 -> D 2020-05-02.
    rules = pack(
        rule("after", since("placed_at", "P1Y"), then="purge"),
        rule("on", since("placed_at", "P1Y1D"), boundary="on", then="anonymise"),
    )
    decision = evaluate(rules, ORDER, LATER)
    assert decision.disposal_date == D("2020-05-02")
    assert decision.rule is not None
    assert decision.rule.id == "on"


def test_tie_across_packs_goes_to_the_first_loaded_pack() -> None:
    first = pack(rule("x", since("placed_at", "P1Y")), pack_id="first")
    second = pack(rule("x", since("placed_at", "P1Y")), pack_id="second")
    decision = evaluate(RuleSet((second, first)), ORDER, LATER)
    assert decision.winner is not None
    assert decision.winner.pack.id == "second"
    assert evaluate([first, second], ORDER, LATER).winner.pack.id == "first"  # type: ignore[union-attr]


def test_later_pack_with_later_date_wins() -> None:
    first = pack(rule("x", since("placed_at", "P1Y")), pack_id="first")
    second = pack(rule("y", since("placed_at", "P2Y")), pack_id="second", timezone="UTC")
    decision = evaluate(RuleSet((first, second)), ORDER, LATER)
    assert decision.rule is not None
    assert decision.rule.id == "y"
    assert decision.disposal_date == D("2021-05-02")


def test_today_is_taken_in_the_winning_packs_zone() -> None:
    london = pack(rule("x", since("placed_at", "P1Y")), pack_id="london")
    # D = 2021-05-02 in the New York pack; 2021-05-02T03:00Z is still 1 May there.
    new_york = pack(
        rule("y", since("placed_at", "P2Y")), pack_id="new-york", timezone="America/New_York"
    )
    decision = evaluate([london, new_york], ORDER, utc("2021-05-02T03:00:00Z"))
    assert decision.today == D("2021-05-01")
    assert decision.status is Status.RETAINED


LATEST_OPTIONAL = {
    "latest_of": [
        {"from": "closed_at", "for": "P6Y"},
        {"from": "contract_end", "for": "P1Y", "optional": True},
    ]
}


@pytest.mark.parametrize(
    ("record", "status", "disposal"),
    [
        pytest.param({"closed_at": "2020-01-15"}, "retained", "2026-01-16", id="optional-missing"),
        pytest.param(
            {"closed_at": "2020-01-15", "contract_end": None},
            "retained",
            "2026-01-16",
            id="optional-null",
        ),
        pytest.param(
            {"closed_at": "2020-01-15", "contract_end": "2026-06-30"},
            "retained",
            "2027-07-01",
            id="optional-later",
        ),
        pytest.param(
            {"closed_at": "2020-01-15", "contract_end": "2020-06-30"},
            "retained",
            "2026-01-16",
            id="optional-earlier",
        ),
        pytest.param({"contract_end": "2026-06-30"}, "waiting", None, id="required-missing"),
    ],
)
def test_optional_parts_of_latest_of(
    record: dict[str, Any], status: str, disposal: str | None
) -> None:
    rules = pack(rule("customers", LATEST_OPTIONAL, applies_to={"kind": "customer"}))
    decision = evaluate(rules, {"kind": "customer", **record}, utc("2025-01-01T00:00:00Z"))
    assert decision.status is Status(status)
    assert decision.disposal_date == (None if disposal is None else D(disposal))


@pytest.mark.parametrize(
    ("record", "status", "disposal"),
    [
        pytest.param(
            {"opened_at": "2019-03-01", "closed_at": "2020-01-15"},
            "due",
            "2021-03-02",
            id="both",
        ),
        pytest.param({"closed_at": "2020-01-15"}, "retained", "2026-01-16", id="one-missing"),
        pytest.param(
            {"opened_at": None, "closed_at": "2020-01-15"},
            "retained",
            "2026-01-16",
            id="one-null",
        ),
        pytest.param({}, "waiting", None, id="all-missing"),
    ],
)
def test_earliest_of_with_parts_missing(
    record: dict[str, Any], status: str, disposal: str | None
) -> None:
    retain = {
        "earliest_of": [{"from": "closed_at", "for": "P6Y"}, {"from": "opened_at", "for": "P2Y"}]
    }
    rules = pack(rule("enquiries", retain, applies_to={"kind": "enquiry"}))
    decision = evaluate(rules, {"kind": "enquiry", **record}, utc("2025-01-01T00:00:00Z"))
    assert decision.status is Status(status)
    assert decision.disposal_date == (None if disposal is None else D(disposal))


def test_latest_of_with_all_optional_parts_missing_has_no_date() -> None:
    retain = {
        "latest_of": [
            {"from": "contract_end", "for": "P1Y", "optional": True},
            {"from": "warranty_end", "for": "P1Y", "optional": True},
        ]
    }
    rules = pack(rule("support", retain, applies_to={"kind": "customer"}))
    decision = evaluate(rules, {"kind": "customer"}, LATER)
    assert decision.status is Status.WAITING
    assert decision.disposal_date is None
    assert decision.matched[0].retain_until is None


@pytest.mark.parametrize(
    ("conditions", "record", "matches"),
    [
        pytest.param({"accepted": False}, {"accepted": False}, True, id="false-false"),
        pytest.param({"accepted": False}, {"accepted": True}, False, id="false-true"),
        pytest.param({"accepted": False}, {}, False, id="false-missing"),
        pytest.param({"count": 1}, {"count": True}, False, id="1-vs-true"),
        pytest.param({"count": 0}, {"count": False}, False, id="0-vs-false"),
        pytest.param({"count": 1}, {"count": 1}, True, id="1-vs-1"),
        pytest.param({"count": 1}, {"count": "1"}, False, id="1-vs-text"),
        pytest.param({"region": "uk"}, {"region": "UK"}, False, id="case-sensitive"),
        pytest.param({"region": None}, {"region": None}, True, id="null-null"),
        pytest.param({"region": None}, {"region": "uk"}, False, id="null-vs-text"),
        pytest.param(
            {"region": "uk", "accepted": True},
            {"region": "uk", "accepted": True},
            True,
            id="all-hold",
        ),
        pytest.param(
            {"region": "uk", "accepted": True},
            {"region": "uk", "accepted": False},
            False,
            id="one-fails",
        ),
    ],
)
def test_where_conditions(
    conditions: dict[str, Any], record: dict[str, Any], matches: bool
) -> None:
    rules = pack(rule("r", since("placed_at", "P1Y"), where=conditions))
    decision = evaluate(rules, {**ORDER, **record}, LATER)
    assert (decision.status is not Status.UNMATCHED) is matches


@pytest.mark.parametrize(
    ("conditions", "value"),
    [
        pytest.param({"accepted": False}, 0, id="false-vs-0"),
        pytest.param({"accepted": True}, 1, id="true-vs-1"),
        pytest.param({"accepted": True}, "true", id="true-vs-text"),
        pytest.param({"accepted": True}, "", id="true-vs-empty"),
        pytest.param({"accepted": True}, [1], id="true-vs-list"),
        pytest.param({"accepted": True}, {"a": 1}, id="true-vs-object"),
    ],
)
def test_a_non_boolean_where_a_rule_needs_one_is_unreadable(
    conditions: dict[str, Any], value: Any
) -> None:
    rules = pack(rule("r", since("placed_at", "P1Y"), where=conditions))
    decision = evaluate(rules, {**ORDER, "accepted": value}, LATER)
    assert decision.status is Status.UNREADABLE
    assert decision.problem is not None
    assert (decision.problem.field, decision.problem.rule) == ("accepted", "r")
    assert decision.problem.value == value
    assert decision.to_dict()["unreadable"]["field"] == "accepted"


def test_a_bad_boolean_in_a_rule_that_plainly_does_not_apply_is_not_unreadable() -> None:
    rules = pack(
        rule(
            "quotes",
            since("placed_at", "P1Y"),
            applies_to={"category": "quote"},
            where={"accepted": False},
        )
    )
    decision = evaluate(rules, {**ORDER, "accepted": "n/a"}, LATER)
    assert decision.status is Status.UNMATCHED


def test_applies_to_bool_does_not_match_int() -> None:
    rules = pack(rule("r", since("placed_at", "P1Y"), applies_to={"active": True}))
    assert evaluate(rules, {**ORDER, "active": 1}, LATER).status is Status.UNREADABLE
    assert evaluate(rules, {**ORDER, "active": False}, LATER).status is Status.UNMATCHED
    assert evaluate(rules, {**ORDER, "active": None}, LATER).status is Status.UNMATCHED
    assert evaluate(rules, {**ORDER, "active": True}, LATER).status is Status.DUE


@pytest.mark.parametrize(
    "value", ["01/05/2019", "2019-5-1", "20190501", "2019-02-30", " 2019-05-01", "n/a", 20190501]
)
def test_bad_record_value_is_unreadable_naming_rule_field_and_value(value: Any) -> None:
    rules = pack(rule("orders", since("placed_at", "P1Y")))
    decision = evaluate(rules, {"category": "order", "placed_at": value}, LATER)
    assert decision.status is Status.UNREADABLE
    assert decision.disposal_date is None
    assert decision.problem is not None
    assert decision.problem.rule == "orders"
    assert decision.problem.field == "placed_at"
    assert decision.problem.value == value
    assert "placed_at" in decision.reason
    assert "orders" in decision.reason


def test_a_bad_date_in_a_rule_that_does_not_apply_is_not_read() -> None:
    rules = pack(
        rule("orders", since("placed_at", "P1Y")),
        rule("enquiries", since("resolved_at", "P1Y"), applies_to={"category": "enquiry"}),
    )
    decision = evaluate(
        rules, {"category": "order", "placed_at": "2019-05-01", "resolved_at": "garbage"}, LATER
    )
    assert decision.status is Status.DUE


def test_rule_financial_year_end_overrides_the_packs() -> None:
    rules = pack(
        rule(
            "tax",
            {"from": {"end_of": "financial_year", "of": "placed_at"}, "for": "P6Y"},
            financial_year_end="04-05",
        ),
        financial_year_end="03-31",
    )
    # 2022-04-06 -> year ending 2023-04-05; + P6Y = 2029-04-05; D = 2029-04-06
    decision = evaluate(rules, {"category": "order", "placed_at": "2022-04-06"}, LATER)
    assert decision.disposal_date == D("2029-04-06")


def test_pack_financial_year_end() -> None:
    rules = pack(
        rule("tax", {"from": {"end_of": "financial_year", "of": "placed_at"}, "for": "P6Y"}),
        financial_year_end="04-05",
    )
    decision = evaluate(rules, {"category": "order", "placed_at": "2022-04-05"}, LATER)
    assert decision.matched[0].retain_until == D("2028-04-05")
    assert decision.disposal_date == D("2028-04-06")


def test_datetime_objects_in_records() -> None:
    rules = pack(
        rule("tax", {"from": {"end_of": "financial_year", "of": "placed_at"}, "for": "P6Y"})
    )
    record = {"category": "order", "placed_at": datetime(2019, 3, 31, 23, 30, tzinfo=UTC)}
    # 00:30 BST on 1 April 2019: financial year ending 2020-03-31
    assert evaluate(rules, record, LATER).disposal_date == D("2026-04-01")
    record = {"category": "order", "placed_at": date(2019, 3, 31)}
    assert evaluate(rules, record, LATER).disposal_date == D("2025-04-01")


def test_financial_year_end_past_the_last_date_is_kept_to_the_calendars_end() -> None:
    rules = pack(
        rule("tax", {"from": {"end_of": "financial_year", "of": "placed_at"}, "for": "P0D"})
    )
    decision = evaluate(rules, {"category": "order", "placed_at": "9999-05-01"}, LATER)
    assert decision.status is Status.RETAINED
    assert decision.disposal_date == date.max


@pytest.mark.parametrize("boundary", ["after", "on"])
def test_disposal_date_past_the_last_date_is_kept_to_the_calendars_end(boundary: str) -> None:
    rules = pack(rule("r", since("placed_at", "P1Y"), boundary=boundary))
    decision = evaluate(rules, {"category": "order", "placed_at": "9999-12-31"}, LATER)
    assert decision.status is Status.RETAINED
    assert decision.disposal_date == date.max


def test_an_instant_past_the_calendars_end_in_the_packs_zone_is_retained() -> None:
    rules = pack(rule("r", since("placed_at", "P0D")), timezone="Asia/Kolkata")
    decision = evaluate(rules, {"category": "order", "placed_at": "9999-12-31T23:00:00Z"}, LATER)
    assert decision.status is Status.RETAINED
    assert decision.disposal_date == date.max


def test_bad_pack_is_refused() -> None:
    with pytest.raises(RulePackError):
        pack(rule("r", since("placed_at", "P1Y"), boundary="before"))
