"""Periods: parsing ISO 8601 durations and adding them with calendar arithmetic.

Every expected date below was worked out by hand, in the style of python-dateutil's
relativedelta tests: years and months first, clamped to the month's last day, then
weeks and days.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from keepfor import Period, RulePackError, parse_pack

D = date.fromisoformat


# -- parsing ---------------------------------------------------------------------------

PARSED = [
    pytest.param("P6Y", Period(years=6), "P6Y", id="P6Y"),
    pytest.param("P12M", Period(months=12), "P12M", id="P12M-not-normalised"),
    pytest.param("P1Y6M", Period(years=1, months=6), "P1Y6M", id="P1Y6M"),
    pytest.param("P2W", Period(weeks=2), "P2W", id="P2W"),
    pytest.param("P30D", Period(days=30), "P30D", id="P30D"),
    pytest.param("P0D", Period(), "P0D", id="P0D"),
    pytest.param("P0Y", Period(), "P0D", id="P0Y-prints-as-P0D"),
    pytest.param("P1Y2M3W4D", Period(1, 2, 3, 4), "P1Y2M3W4D", id="all-units"),
    pytest.param("P100Y", Period(years=100), "P100Y", id="P100Y"),
    pytest.param("P1Y0M", Period(years=1), "P1Y", id="zero-unit-dropped"),
]


@pytest.mark.parametrize(("text", "period", "printed"), PARSED)
def test_parse(text: str, period: Period, printed: str) -> None:
    assert Period.parse(text) == period
    assert str(Period.parse(text)) == printed


@pytest.mark.parametrize(("text", "period", "printed"), PARSED)
def test_str_round_trip(text: str, period: Period, printed: str) -> None:
    assert Period.parse(str(period)) == period


REJECTED = [
    pytest.param("-P1Y", id="negative"),
    pytest.param("P-1Y", id="negative-unit"),
    pytest.param("P", id="bare-P"),
    pytest.param("PT1H", id="time-part"),
    pytest.param("P1DT12H", id="date-and-time-part"),
    pytest.param("P1.5Y", id="fraction"),
    pytest.param("P1,5Y", id="comma-fraction"),
    pytest.param("6Y", id="no-P"),
    pytest.param("", id="empty"),
    pytest.param("P1Y2", id="trailing-number"),
    pytest.param("P1D1Y", id="units-out-of-order"),
    pytest.param("P1Y1Y", id="unit-twice"),
    pytest.param("six years", id="words"),
    pytest.param(None, id="None"),
    pytest.param(6, id="int"),
    pytest.param(1.5, id="float"),
    pytest.param(["P6Y"], id="list"),
]


@pytest.mark.parametrize("text", REJECTED)
def test_parse_rejects(text: Any) -> None:
    with pytest.raises(ValueError, match=r"period|duration"):
        Period.parse(text)


@pytest.mark.parametrize("text", REJECTED)
def test_loader_rejects_bad_period(text: Any) -> None:
    pack = {
        "pack": "p",
        "version": "1",
        "timezone": "Europe/London",
        "rules": [
            {
                "id": "r",
                "applies_to": {"category": "order"},
                "retain": {"from": "placed_at", "for": text},
                "then": "purge",
            }
        ],
    }
    with pytest.raises(RulePackError) as caught:
        parse_pack(pack)
    assert caught.value.rule == "r"
    assert caught.value.key == "retain.for"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"years": -1}, ValueError, id="negative-years"),
        pytest.param({"days": -1}, ValueError, id="negative-days"),
        pytest.param({"months": 1.5}, TypeError, id="float-months"),
        pytest.param({"weeks": True}, TypeError, id="bool-weeks"),
        pytest.param({"years": "6"}, TypeError, id="text-years"),
    ],
)
def test_constructor_rejects(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Period(**kwargs)


# -- adding ----------------------------------------------------------------------------

LEAP_DAYS = [
    ("2024-02-29", "P1Y", "2025-02-28"),
    ("2024-02-29", "P4Y", "2028-02-29"),
    ("2024-02-29", "P12M", "2025-02-28"),
    ("2024-02-29", "P48M", "2028-02-29"),
    ("2024-02-29", "P6Y", "2030-02-28"),
    ("2024-02-29", "P1D", "2024-03-01"),
    ("2024-02-29", "P1Y1D", "2025-03-01"),
    ("2024-02-28", "P1Y", "2025-02-28"),
    ("2024-02-28", "P1D", "2024-02-29"),
    ("2023-02-28", "P1Y", "2024-02-28"),
    ("2023-02-28", "P1D", "2023-03-01"),
    ("2023-03-01", "P1Y", "2024-03-01"),
    ("2023-03-01", "P11M", "2024-02-01"),
    ("2023-03-01", "P11M28D", "2024-02-29"),
    ("2023-03-01", "P11M29D", "2024-03-01"),
    ("2023-03-01", "P365D", "2024-02-29"),
    ("2023-03-01", "P366D", "2024-03-01"),
    ("2024-03-01", "P365D", "2025-03-01"),
    ("2000-02-29", "P100Y", "2100-02-28"),
    ("2096-02-29", "P4Y", "2100-02-28"),
    ("1996-02-29", "P4Y", "2000-02-29"),
    ("2020-02-29", "P100Y", "2120-02-29"),
]

MONTH_ENDS = [
    ("2023-08-31", "P6M", "2024-02-29"),
    ("2022-08-31", "P6M", "2023-02-28"),
    ("2023-08-31", "P1Y6M", "2025-02-28"),
    ("2023-08-31", "P18M", "2025-02-28"),
    ("2024-11-30", "P15M", "2026-02-28"),
    ("2024-01-31", "P1M", "2024-02-29"),
    ("2023-01-31", "P1M", "2023-02-28"),
    ("2024-01-31", "P1M1D", "2024-03-01"),
    ("2023-01-31", "P1M1D", "2023-03-01"),
    ("2024-01-31", "P2M", "2024-03-31"),
    ("2024-03-31", "P1M", "2024-04-30"),
    ("2024-05-31", "P1M", "2024-06-30"),
    ("2024-10-31", "P4M", "2025-02-28"),
    ("2024-12-31", "P2M", "2025-02-28"),
    ("2024-04-30", "P1M", "2024-05-30"),
    ("2024-01-31", "P2W", "2024-02-14"),
    ("2024-02-20", "P2W", "2024-03-05"),
    ("2023-02-20", "P2W", "2023-03-06"),
    ("2024-12-25", "P2W", "2025-01-08"),
    ("2024-01-31", "P30D", "2024-03-01"),
    ("2023-01-31", "P30D", "2023-03-02"),
    ("2024-12-15", "P30D", "2025-01-14"),
    ("2024-04-30", "P30D", "2024-05-30"),
    ("2023-02-28", "P1Y2W", "2024-03-13"),
    ("2024-08-31", "P1M2W", "2024-10-14"),
]

PLAIN = [
    ("2024-01-01", "P0D", "2024-01-01"),
    ("2024-01-01", "P6M", "2024-07-01"),
    ("2024-01-01", "P183D", "2024-07-02"),
    ("2020-03-31", "P6Y", "2026-03-31"),
    ("2019-12-31", "P1Y", "2020-12-31"),
    ("2019-12-31", "P1D", "2020-01-01"),
    ("2019-05-01", "P12M", "2020-05-01"),
    ("1900-02-28", "P1D", "1900-03-01"),
    ("2399-12-31", "P1D", "2400-01-01"),
]


def _cases(rows: list[tuple[str, str, str]]) -> list[Any]:
    return [pytest.param(D(a), Period.parse(p), D(b), id=f"{a}+{p}={b}") for a, p, b in rows]


@pytest.mark.parametrize(("start", "period", "expected"), _cases(LEAP_DAYS))
def test_leap_days(start: date, period: Period, expected: date) -> None:
    assert period.add_to(start) == expected


@pytest.mark.parametrize(("start", "period", "expected"), _cases(MONTH_ENDS))
def test_month_ends(start: date, period: Period, expected: date) -> None:
    assert period.add_to(start) == expected


@pytest.mark.parametrize(("start", "period", "expected"), _cases(PLAIN))
def test_plain(start: date, period: Period, expected: date) -> None:
    assert period.add_to(start) == expected


def test_six_months_is_not_183_days() -> None:
    start = D("2024-01-01")
    assert Period.parse("P6M").add_to(start) != start + timedelta(days=183)


def test_weeks_are_seven_days() -> None:
    start = D("2024-02-20")
    assert Period.parse("P2W").add_to(start) == Period.parse("P14D").add_to(start)


def test_zero_period_is_identity() -> None:
    for day in (D("2024-02-29"), D("1900-01-01"), D("2400-12-31")):
        assert Period().add_to(day) == day
