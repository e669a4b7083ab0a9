"""Terms: ``from``/``for``, ``latest_of``, ``earliest_of`` and ``optional``, worked by hand."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from keepfor import Period, RecordError
from keepfor.engine import (
    EarliestOf,
    EndOf,
    EndOfKind,
    FieldAnchor,
    LatestOf,
    MonthDay,
    Retain,
    Term,
)

D = date.fromisoformat
LONDON = ZoneInfo("Europe/London")


def retain(field: str, period: str, *, optional: bool = False) -> Retain:
    return Retain(FieldAnchor(field), Period.parse(period), optional)


CLOSED_6Y = retain("closed_at", "P6Y")
CONTRACT_1Y = retain("contract_end", "P1Y")
CONTRACT_1Y_OPT = retain("contract_end", "P1Y", optional=True)
ENQUIRY_2Y = retain("enquiry_at", "P2Y")
ENQUIRY_2Y_OPT = retain("enquiry_at", "P2Y", optional=True)

FULL = {"closed_at": "2020-01-15", "contract_end": "2026-06-30", "enquiry_at": "2019-03-01"}
# closed_at + P6Y = 2026-01-15; contract_end + P1Y = 2027-06-30; enquiry_at + P2Y = 2021-03-01


def without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in FULL.items() if k not in names}


def with_null(*names: str) -> dict[str, Any]:
    return {k: (None if k in names else v) for k, v in FULL.items()}


CASES = [
    # from
    pytest.param(CLOSED_6Y, FULL, "2026-01-15", id="from"),
    pytest.param(CLOSED_6Y, without("closed_at"), None, id="from-missing"),
    pytest.param(CLOSED_6Y, with_null("closed_at"), None, id="from-null"),
    pytest.param(
        Retain(EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay(3, 31)), Period(years=6)),
        {"placed_at": "2019-05-01"},
        "2026-03-31",
        id="from-financial-year",
    ),
    pytest.param(
        Retain(EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay(4, 5)), Period(years=6)),
        {"placed_at": "2022-04-06T00:30:00+01:00"},  # 2022-04-05T23:30Z, 06 April in BST
        "2029-04-05",
        id="from-uk-tax-year-bst",
    ),
    pytest.param(
        Retain(EndOf(EndOfKind.MONTH, "d"), Period(months=6)),
        {"d": "2023-08-15"},
        "2024-02-29",
        id="from-month-end",
    ),
    # latest_of
    pytest.param(LatestOf((CLOSED_6Y, CONTRACT_1Y)), FULL, "2027-06-30", id="latest"),
    pytest.param(LatestOf((CLOSED_6Y, ENQUIRY_2Y)), FULL, "2026-01-15", id="latest-first"),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y)), without("contract_end"), None, id="latest-waits"
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y)), with_null("closed_at"), None, id="latest-waits-null"
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT)),
        without("contract_end"),
        "2026-01-15",
        id="latest-optional-left-out",
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT)),
        with_null("contract_end"),
        "2026-01-15",
        id="latest-optional-null-left-out",
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT)), FULL, "2027-06-30", id="latest-optional-present"
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT)),
        without("closed_at"),
        None,
        id="latest-optional-does-not-excuse-others",
    ),
    pytest.param(
        LatestOf((CONTRACT_1Y_OPT, ENQUIRY_2Y_OPT)),
        without("contract_end", "enquiry_at"),
        None,
        id="latest-all-optional-missing",
    ),
    pytest.param(
        LatestOf((CONTRACT_1Y_OPT, ENQUIRY_2Y_OPT)),
        without("contract_end"),
        "2021-03-01",
        id="latest-all-optional-one-present",
    ),
    pytest.param(LatestOf((CLOSED_6Y,)), FULL, "2026-01-15", id="latest-single"),
    # earliest_of
    pytest.param(EarliestOf((CLOSED_6Y, ENQUIRY_2Y)), FULL, "2021-03-01", id="earliest"),
    pytest.param(
        EarliestOf((CLOSED_6Y, ENQUIRY_2Y)),
        without("enquiry_at"),
        "2026-01-15",
        id="earliest-some-missing",
    ),
    pytest.param(
        EarliestOf((CLOSED_6Y, ENQUIRY_2Y)),
        with_null("closed_at"),
        "2021-03-01",
        id="earliest-some-null",
    ),
    pytest.param(
        EarliestOf((CLOSED_6Y, ENQUIRY_2Y)),
        without("closed_at", "enquiry_at"),
        None,
        id="earliest-all-missing",
    ),
    pytest.param(
        EarliestOf((CLOSED_6Y, ENQUIRY_2Y_OPT)),
        without("closed_at"),
        "2021-03-01",
        id="earliest-optional-present",
    ),
    # nesting
    pytest.param(
        LatestOf((CLOSED_6Y, EarliestOf((CONTRACT_1Y, ENQUIRY_2Y)))),
        FULL,
        "2026-01-15",
        id="latest-of-earliest",
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, EarliestOf((CONTRACT_1Y, ENQUIRY_2Y)))),
        without("contract_end", "enquiry_at"),
        None,
        id="latest-of-dateless-earliest-waits",
    ),
    pytest.param(
        LatestOf((CLOSED_6Y, EarliestOf((CONTRACT_1Y, ENQUIRY_2Y), optional=True))),
        without("contract_end", "enquiry_at"),
        "2026-01-15",
        id="latest-of-optional-dateless-earliest",
    ),
    pytest.param(
        EarliestOf((LatestOf((CLOSED_6Y, CONTRACT_1Y)), ENQUIRY_2Y)),
        without("contract_end"),
        "2021-03-01",
        id="earliest-of-waiting-latest",
    ),
    pytest.param(
        EarliestOf((LatestOf((CLOSED_6Y, CONTRACT_1Y)), retain("closed_at", "P10Y"))),
        FULL,
        "2027-06-30",
        id="earliest-of-latest",
    ),
]


@pytest.mark.parametrize(("term", "record", "expected"), CASES)
def test_retain_until(term: Term, record: dict[str, Any], expected: str | None) -> None:
    result = term.evaluate(record, LONDON)
    assert result.retain_until == (None if expected is None else D(expected))


def test_result_records_the_working() -> None:
    result = CLOSED_6Y.evaluate({"closed_at": "2020-01-15T23:30:00Z"}, LONDON)
    assert result.event_date == D("2020-01-15")
    assert result.anchor_date == D("2020-01-15")
    assert result.retain_until == D("2026-01-15")
    assert result.to_dict() == {
        "term": "from",
        "from": "closed_at",
        "for": "P6Y",
        "anchor_date": "2020-01-15",
        "retain_until": "2026-01-15",
    }


def test_left_out_parts_are_marked_and_do_not_wait() -> None:
    term = LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT))
    result = term.evaluate(without("contract_end"), LONDON)
    assert [p.left_out for p in result.parts] == [False, True]
    assert result.waiting_on == ()
    assert result.to_dict()["parts"][1]["left_out"] is True


def test_waiting_on_names_missing_fields() -> None:
    term = LatestOf((CLOSED_6Y, CONTRACT_1Y, CONTRACT_1Y_OPT, ENQUIRY_2Y))
    result = term.evaluate({"enquiry_at": "2019-03-01"}, LONDON)
    assert result.retain_until is None
    assert result.waiting_on == ("closed_at", "contract_end")


def test_fields_and_retains() -> None:
    term = LatestOf((CLOSED_6Y, EarliestOf((CONTRACT_1Y, retain("closed_at", "P1D")))))
    assert term.fields() == ("closed_at", "contract_end")
    assert [leaf.period for leaf in term.retains()] == [
        Period(years=6),
        Period(years=1),
        Period(days=1),
    ]


@pytest.mark.parametrize(
    ("term", "written"),
    [
        pytest.param(CLOSED_6Y, {"from": "closed_at", "for": "P6Y"}, id="from"),
        pytest.param(
            CONTRACT_1Y_OPT,
            {"from": "contract_end", "for": "P1Y", "optional": True},
            id="optional",
        ),
        pytest.param(
            LatestOf((CLOSED_6Y, EarliestOf((ENQUIRY_2Y,), optional=True))),
            {
                "latest_of": [
                    {"from": "closed_at", "for": "P6Y"},
                    {"earliest_of": [{"from": "enquiry_at", "for": "P2Y"}], "optional": True},
                ]
            },
            id="nested",
        ),
    ],
)
def test_to_dict(term: Term, written: dict[str, Any]) -> None:
    assert term.to_dict() == written


def test_empty_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LatestOf(())
    with pytest.raises(ValueError, match="at least one"):
        EarliestOf(())


def test_bad_field_value_names_the_field() -> None:
    with pytest.raises(RecordError) as caught:
        LatestOf((CLOSED_6Y, CONTRACT_1Y_OPT)).evaluate(
            {"closed_at": "2020-01-15", "contract_end": "soon"}, LONDON
        )
    assert caught.value.field == "contract_end"


def test_overflow_is_kept_to_the_calendars_end() -> None:
    assert retain("d", "P1D").evaluate({"d": "9999-12-31"}, LONDON).retain_until == date.max
