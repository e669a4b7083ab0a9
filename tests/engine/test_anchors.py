"""Anchors: the local date of a field, and the ends of financial years, years and months.

Expected dates are worked out by hand. Time-zone cases use the real UK rules: summer
time (BST, UTC+1) starts at 01:00 UTC on the last Sunday of March (2019-03-31,
2024-03-31) and ends at 01:00 UTC on the last Sunday of October (2024-10-27).
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from keepfor import RecordError
from keepfor.engine import EndOf, EndOfKind, FieldAnchor, MonthDay, local_date
from keepfor.engine.datetext import UnreadDate

D = date.fromisoformat
LONDON = ZoneInfo("Europe/London")


# -- MonthDay --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "month", "day"),
    [
        pytest.param("03-31", 3, 31, id="uk-company"),
        pytest.param("04-05", 4, 5, id="uk-tax"),
        pytest.param("12-31", 12, 31, id="calendar"),
        pytest.param("06-30", 6, 30, id="australia"),
        pytest.param("02-28", 2, 28, id="february"),
        pytest.param("01-01", 1, 1, id="new-year"),
    ],
)
def test_month_day_parse(text: str, month: int, day: int) -> None:
    parsed = MonthDay.parse(text)
    assert (parsed.month, parsed.day) == (month, day)
    assert str(parsed) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("02-29", id="leap-day"),
        pytest.param("13-01", id="month-13"),
        pytest.param("00-10", id="month-0"),
        pytest.param("04-31", id="april-31"),
        pytest.param("02-30", id="february-30"),
        pytest.param("03-00", id="day-0"),
        pytest.param("3-31", id="short-month"),
        pytest.param("03-1", id="short-day"),
        pytest.param("0331", id="no-hyphen"),
        pytest.param("03/31", id="slash"),
        pytest.param("31-03", id="day-first"),
        pytest.param("", id="empty"),
        pytest.param(None, id="None"),
        pytest.param(331, id="int"),
    ],
)
def test_month_day_rejects(text: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each refusal has its own message
        MonthDay.parse(text)


# -- end of financial year, calendar year and month -------------------------------------

FINANCIAL_YEAR = [
    ("03-31", "2019-02-15", "2019-03-31"),
    ("03-31", "2019-03-31", "2019-03-31"),
    ("03-31", "2019-04-01", "2020-03-31"),
    ("03-31", "2019-04-02", "2020-03-31"),
    ("03-31", "2019-01-01", "2019-03-31"),
    ("03-31", "2019-12-31", "2020-03-31"),
    ("03-31", "2019-05-01", "2020-03-31"),
    ("03-31", "2024-02-29", "2024-03-31"),
    ("04-05", "2022-04-05", "2022-04-05"),
    ("04-05", "2022-04-06", "2023-04-05"),
    ("04-05", "2022-04-04", "2022-04-05"),
    ("04-05", "2022-01-01", "2022-04-05"),
    ("04-05", "2022-12-31", "2023-04-05"),
    ("12-31", "2022-01-01", "2022-12-31"),
    ("12-31", "2022-12-31", "2022-12-31"),
    ("01-01", "2022-01-01", "2022-01-01"),
    ("01-01", "2022-01-02", "2023-01-01"),
    ("06-30", "2022-06-30", "2022-06-30"),
    ("06-30", "2022-07-01", "2023-06-30"),
    ("09-30", "2022-10-01", "2023-09-30"),
    ("02-28", "2023-02-28", "2023-02-28"),
    ("02-28", "2023-03-01", "2024-02-28"),
    # A year ending in February ends on 02-28 every year, so the leap day opens the next.
    ("02-28", "2024-02-29", "2025-02-28"),
    ("02-28", "2024-02-28", "2024-02-28"),
]


@pytest.mark.parametrize(
    ("fy_end", "event", "expected"),
    [pytest.param(f, D(e), D(x), id=f"fy{f}:{e}->{x}") for f, e, x in FINANCIAL_YEAR],
)
def test_end_of_financial_year(fy_end: str, event: date, expected: date) -> None:
    anchor = EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay.parse(fy_end))
    assert anchor.anchor_date(event) == expected
    assert anchor.resolve({"placed_at": event.isoformat()}, LONDON) == expected


CALENDAR_YEAR = [
    ("2019-01-01", "2019-12-31"),
    ("2019-12-31", "2019-12-31"),
    ("2024-02-29", "2024-12-31"),
    ("1900-06-15", "1900-12-31"),
]

MONTH = [
    ("2024-02-01", "2024-02-29"),
    ("2024-02-29", "2024-02-29"),
    ("2023-02-15", "2023-02-28"),
    ("2000-02-10", "2000-02-29"),
    ("1900-02-10", "1900-02-28"),
    ("2100-02-10", "2100-02-28"),
    ("2024-04-01", "2024-04-30"),
    ("2024-04-30", "2024-04-30"),
    ("2024-12-01", "2024-12-31"),
    ("2024-01-31", "2024-01-31"),
]


@pytest.mark.parametrize(
    ("event", "expected"), [pytest.param(D(e), D(x), id=f"{e}->{x}") for e, x in CALENDAR_YEAR]
)
def test_end_of_calendar_year(event: date, expected: date) -> None:
    assert EndOf(EndOfKind.CALENDAR_YEAR, "d").anchor_date(event) == expected


@pytest.mark.parametrize(
    ("event", "expected"), [pytest.param(D(e), D(x), id=f"{e}->{x}") for e, x in MONTH]
)
def test_end_of_month(event: date, expected: date) -> None:
    assert EndOf(EndOfKind.MONTH, "d").anchor_date(event) == expected


def test_end_of_financial_year_needs_a_year_end() -> None:
    with pytest.raises(ValueError, match="financial_year_end"):
        EndOf(EndOfKind.FINANCIAL_YEAR, "d")
    with pytest.raises(ValueError, match="financial_year_end"):
        EndOf(EndOfKind.MONTH, "d", MonthDay(3, 31))


def test_end_of_financial_year_uses_local_date() -> None:
    # 23:30 UTC on 31 March 2019 is 00:30 BST on 1 April: the next financial year.
    anchor = EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay(3, 31))
    assert anchor.resolve({"placed_at": "2019-03-31T23:30:00Z"}, LONDON) == D("2020-03-31")
    assert anchor.resolve({"placed_at": "2019-03-31T22:59:59Z"}, LONDON) == D("2019-03-31")


# -- the local date of a record value -----------------------------------------------------

LOCAL_DATES = [
    # Europe/London, BST and GMT
    ("2019-03-31T23:30:00Z", "Europe/London", "2019-04-01", "bst-next-day"),
    ("2019-01-31T23:30:00Z", "Europe/London", "2019-01-31", "gmt-same-day"),
    ("2019-03-31T22:59:59Z", "Europe/London", "2019-03-31", "bst-last-second"),
    ("2019-03-31T23:00:00Z", "Europe/London", "2019-04-01", "bst-midnight"),
    ("2024-03-31T00:30:00Z", "Europe/London", "2024-03-31", "before-clocks-go-forward"),
    ("2024-03-30T23:30:00Z", "Europe/London", "2024-03-30", "eve-of-clocks-forward-gmt"),
    ("2024-03-31T23:30:00Z", "Europe/London", "2024-04-01", "first-bst-night"),
    ("2024-10-26T23:30:00Z", "Europe/London", "2024-10-27", "last-bst-night"),
    ("2024-10-27T00:30:00Z", "Europe/London", "2024-10-27", "ambiguous-hour"),
    ("2024-10-27T23:30:00Z", "Europe/London", "2024-10-27", "first-gmt-night"),
    ("2024-06-30T23:00:00+00:00", "Europe/London", "2024-07-01", "plus-zero-offset"),
    # offsets other than the zone's
    ("2019-04-01T03:00:00+05:30", "Europe/London", "2019-03-31", "plus-0530-previous-day"),
    ("2019-03-31T20:00:00-05:00", "Europe/London", "2019-04-01", "minus-05-next-day"),
    ("2024-01-15T00:30:00+01:00", "Europe/London", "2024-01-14", "plus-01-in-winter"),
    # other zones
    ("2024-01-15T03:00:00Z", "America/New_York", "2024-01-14", "new-york-est"),
    ("2024-07-01T03:59:59Z", "America/New_York", "2024-06-30", "new-york-edt-last-second"),
    ("2024-07-01T04:00:00Z", "America/New_York", "2024-07-01", "new-york-edt-midnight"),
    ("2024-03-31T18:29:59Z", "Asia/Kolkata", "2024-03-31", "kolkata-last-second"),
    ("2024-03-31T18:30:00Z", "Asia/Kolkata", "2024-04-01", "kolkata-midnight"),
    ("2024-06-30T12:00:00Z", "Pacific/Auckland", "2024-07-01", "auckland"),
    ("2024-12-31T10:00:00Z", "Pacific/Kiritimati", "2025-01-01", "plus-14"),
    ("2024-01-01T10:59:59Z", "Pacific/Pago_Pago", "2023-12-31", "minus-11"),
    ("2019-03-31T23:30:00Z", "UTC", "2019-03-31", "utc"),
    # naive datetimes are local; dates are the day itself everywhere
    ("2019-03-31T23:30:00", "Europe/London", "2019-03-31", "naive-is-local"),
    ("2019-03-31T23:30:00", "America/New_York", "2019-03-31", "naive-is-local-new-york"),
    ("2019-03-31", "Europe/London", "2019-03-31", "date-string"),
    ("2019-03-31", "Pacific/Kiritimati", "2019-03-31", "date-string-plus-14"),
    ("2019-03-31", "Pacific/Pago_Pago", "2019-03-31", "date-string-minus-11"),
    ("2019-03-31 23:30", "Europe/London", "2019-03-31", "space-no-seconds"),
    ("2019-03-31T23:30Z", "Europe/London", "2019-04-01", "t-no-seconds-z"),
    ("2019-03-31 23:30:00+00:00", "Europe/London", "2019-04-01", "space-offset"),
    ("2019-03-31T23:59:59.9Z", "UTC", "2019-03-31", "one-fraction-digit"),
    ("2019-04-01T04:59+14:00", "Europe/London", "2019-03-31", "offset-plus-14"),
    ("", "Europe/London", None, "empty-is-missing"),
    ("2019-03-31T23:30:00.123456Z", "Europe/London", "2019-04-01", "fractional-seconds"),
]


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [pytest.param(v, z, x and D(x), id=i) for v, z, x, i in LOCAL_DATES],
)
def test_local_date_of_text(value: str, zone: str, expected: date | None) -> None:
    assert local_date(value, ZoneInfo(zone), "resolved_at") == expected


@pytest.mark.parametrize(
    "value",
    [
        " 2019-03-31 ",
        "31/12/2015",
        "2019-5-1",
        "20190501",
        "2019-W13-1",
        "2019-02-29",
        "0000-01-01",
        "2019-03-31T24:00",
        "2019-03-31T23:30:00+15:00",
        "2019-03-31T23:30:00+0100",
        "2019-03-31T23",
        "2019-03-31T23:30:00.1234567",
        "2019-03-31t23:30",
        "2019-03-31T23:30z",
        "\uff12019-03-31",
        "n/a",
    ],
)
def test_text_outside_the_grammar_is_a_record_error(value: str) -> None:
    with pytest.raises(RecordError) as caught:
        local_date(value, LONDON, "resolved_at")
    assert caught.value.field == "resolved_at"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(9999, 12, 31, 23, tzinfo=UTC), date.max, id="past-the-end"),
        pytest.param(datetime(1, 1, 1, 1, tzinfo=UTC), date.min, id="before-the-start"),
    ],
)
def test_an_instant_past_either_end_in_the_zone_reads_as_that_end(
    value: datetime, expected: date
) -> None:
    zone = "Asia/Kolkata" if expected == date.max else "America/New_York"
    assert local_date(value, ZoneInfo(zone), "d") == expected


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        pytest.param(
            datetime(2019, 3, 31, 23, 30, tzinfo=UTC), "Europe/London", "2019-04-01", id="utc"
        ),
        pytest.param(
            datetime(2019, 1, 31, 23, 30, tzinfo=UTC), "Europe/London", "2019-01-31", id="gmt"
        ),
        pytest.param(
            datetime(2019, 4, 1, 3, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "Europe/London",
            "2019-03-31",
            id="fixed-offset",
        ),
        pytest.param(
            datetime(2024, 1, 14, 22, 0, tzinfo=ZoneInfo("America/New_York")),
            "Europe/London",
            "2024-01-15",
            id="new-york-to-london",
        ),
        pytest.param(
            datetime(2024, 1, 15, 1, 0, tzinfo=ZoneInfo("Europe/London")),
            "America/New_York",
            "2024-01-14",
            id="london-to-new-york",
        ),
        pytest.param(datetime(2019, 3, 31, 23, 30), "Europe/London", "2019-03-31", id="naive"),
        pytest.param(datetime(2019, 3, 31, 23, 30), "Asia/Kolkata", "2019-03-31", id="naive-ist"),
        pytest.param(date(2019, 3, 31), "Pacific/Kiritimati", "2019-03-31", id="date"),
        pytest.param(date(2024, 2, 29), "Pacific/Pago_Pago", "2024-02-29", id="date-leap"),
    ],
)
def test_local_date_of_objects(value: date, zone: str, expected: str) -> None:
    assert local_date(value, ZoneInfo(zone), "resolved_at") == D(expected)


def test_missing_values_have_no_date() -> None:
    assert local_date(None, LONDON, "resolved_at") is None
    anchor = FieldAnchor("resolved_at")
    assert anchor.resolve({}, LONDON) is None
    assert anchor.resolve({"resolved_at": None}, LONDON) is None
    assert EndOf(EndOfKind.MONTH, "resolved_at").resolve({}, LONDON) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("31/03/2019", id="dd-mm-yyyy"),
        pytest.param("2019-02-30", id="february-30"),
        pytest.param("2019-13-01T00:00:00Z", id="month-13"),
        pytest.param("2019-03-31T25:00:00Z", id="hour-25"),
        pytest.param("not a date", id="words"),
        pytest.param("yesterday", id="relative"),
        pytest.param(20190331, id="int"),
        pytest.param(1553990400.0, id="timestamp-float"),
        pytest.param(True, id="bool"),
        pytest.param(["2019-03-31"], id="list"),
        pytest.param({"date": "2019-03-31"}, id="mapping"),
    ],
)
def test_invalid_values_raise_record_error_naming_the_field(value: Any) -> None:
    with pytest.raises(RecordError) as caught:
        local_date(value, LONDON, "resolved_at")
    assert caught.value.field == "resolved_at"
    assert "resolved_at" in str(caught.value)
    with pytest.raises(RecordError) as caught:
        FieldAnchor("closed_at").resolve({"closed_at": value}, LONDON)
    assert caught.value.field == "closed_at"


def test_anchor_reads_its_own_field() -> None:
    record = {"placed_at": "2019-05-01", "closed_at": "2020-07-15"}
    assert FieldAnchor("closed_at").resolve(record, LONDON) == D("2020-07-15")
    assert EndOf(EndOfKind.CALENDAR_YEAR, "placed_at").resolve(record, LONDON) == D("2019-12-31")
    assert FieldAnchor("closed_at").field == "closed_at"
    assert EndOf(EndOfKind.MONTH, "placed_at").field == "placed_at"


@pytest.mark.parametrize(
    ("anchor", "written"),
    [
        pytest.param(FieldAnchor("placed_at"), "placed_at", id="field"),
        pytest.param(
            EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay(4, 5)),
            {"end_of": "financial_year", "of": "placed_at"},
            id="financial-year",
        ),
        pytest.param(
            EndOf(EndOfKind.CALENDAR_YEAR, "x"), {"end_of": "calendar_year", "of": "x"}, id="year"
        ),
        pytest.param(EndOf(EndOfKind.MONTH, "x"), {"end_of": "month", "of": "x"}, id="month"),
    ],
)
def test_anchor_to_dict(anchor: Any, written: Any) -> None:
    assert anchor.to_dict() == written


def test_a_text_a_source_could_not_read_says_why_in_the_source_s_words() -> None:
    """An :class:`UnreadDate` is the text the record holds (equal to it, pickled as
    it), and its reason is what the engine says of it; an ISO text it cannot be."""
    text = UnreadDate("31/02/2020", "'31/02/2020' matches no date_formats ('%d/%m/%Y')")
    assert text == "31/02/2020"
    assert isinstance(text, str)
    again = pickle.loads(pickle.dumps(text))
    assert (again, again.reason) == (text, text.reason)
    with pytest.raises(RecordError) as caught:
        local_date(text, ZoneInfo("UTC"), "placed_at")
    assert str(caught.value) == f"field 'placed_at': {text.reason}"
    assert caught.value.field == "placed_at"
    with pytest.raises(RecordError, match="not an ISO 8601 date or datetime"):
        local_date("31/02/2020", ZoneInfo("UTC"), "placed_at")
