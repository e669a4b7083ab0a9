"""Which texts look like dates, and how --date-format and --dayfirst read them (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from keepfor.errors import UsageError
from keepfor.store.datelike import DateReading, DateShape, check_date_format, date_shape
from keepfor.store.values import BadValue, typed_text

PLAIN = DateReading()
DAYFIRST = DateReading(dayfirst=True)
UK = DateReading(formats=("%d/%m/%Y",))

LOOK_LIKE_DATES = [
    # year first, any of - / . (the same twice)
    ("2019-5-1", DateShape(True, 1, 5)),
    ("2019-02-30", DateShape(True, 30, 2)),
    ("2015/12/31", DateShape(True, 31, 12)),
    ("2015.12.31", DateShape(True, 31, 12)),
    ("2015-12-31T10:00:00.1234567Z", DateShape(True, 31, 12, has_time=True)),
    ("2015-12-31T25:00", DateShape(True, 31, 12, has_time=True)),
    ("2015-12-31T", DateShape(True, 31, 12, has_time=True)),
    ("2015-12-31 10:00:00 +0100", DateShape(True, 31, 12, has_time=True)),
    ("2015-12-31, 9:30", DateShape(True, 31, 12, has_time=True)),
    # day or month first
    ("31/12/2015", DateShape(False, 31, 12)),
    ("05/01/2015", DateShape(False, 5, 1)),
    ("12.31.2015", DateShape(False, 12, 31)),
    ("1-2-15", DateShape(False, 1, 2, two_digit_year=True)),
    ("00/00/0000", DateShape(False, 0, 0)),
    ("31/12/2015 10:00", DateShape(False, 31, 12, has_time=True)),
    ("31/12/2015, 10:00 pm", DateShape(False, 31, 12, has_time=True)),
    # compact: a real day of 1900-2099
    ("20150105", DateShape(True, 5, 1)),
    ("19000101", DateShape(True, 1, 1)),
    ("20991231", DateShape(True, 31, 12)),
    ("20150105T1000Z", DateShape(True, 5, 1, has_time=True)),
    ("20150105 10:00", DateShape(True, 5, 1, has_time=True)),
    # month names
    ("31 Dec 2015", DateShape(False)),
    ("31-Dec-2015", DateShape(False)),
    ("31.dec.2015", DateShape(False)),
    ("Dec 31, 2015", DateShape(False)),
    ("Dec. 31, 2015", DateShape(False)),
    ("DECEMBER 31ST 2015", DateShape(False)),
    ("31st of December 2015", DateShape(False)),
    ("Sept 3 2015", DateShape(False)),
    ("Thu, 31 Dec 2015 10:00:00 +0000", DateShape(False, has_time=True)),
    ("Thursday 31 December 2015", DateShape(False)),
    # ISO weeks
    ("2015-W01", DateShape(True)),
    ("2015-W01-1", DateShape(True)),
    ("2015W011", DateShape(True)),
    ("2015-W01-1T10:00Z", DateShape(True, has_time=True)),
    ("2015-W01-1 10:00", DateShape(True, has_time=True)),
]

STAY_TEXT = [
    "n/a",
    "yes",
    "ACME Ltd",
    "01234 567890",
    "020 7946 0958",
    "+44 20 7946 0958",
    "12.50",
    "1/2",
    "1.2.3",
    "10.20.300",
    "2015",
    "Dec 2015",
    "December",
    "10:00",
    "12345678",  # 1234-56-78 is no day
    "20151301",  # no month 13
    "18991231",  # before 1900: more likely a number
    "21000101",  # after 2099
    "201501051",  # nine digits
    "1420070400",  # a Unix time
    "paid on 2015-12-31",
    "2015-12-31 to 2016-01-31",
    "31/12-2015",  # two different separators
    "2015-12-31 was a Thursday",
    "31/12/20155",
    "1.2.2015.4",
    "Dec 31",
    "the 31st",
    "v2015.12.31",
    "",
]


@pytest.mark.parametrize(("text", "shape"), LOOK_LIKE_DATES)
def test_texts_that_look_like_dates(text: str, shape: DateShape) -> None:
    assert date_shape(text) == shape


@pytest.mark.parametrize("text", STAY_TEXT)
def test_texts_that_do_not_look_like_dates_stay_text(text: str) -> None:
    assert date_shape(text) is None
    for reading in (PLAIN, DAYFIRST, UK):
        typed = typed_text("f", text, csv_file=False, dates=reading)
        assert typed == (None if text == "" else ("value_text", text))


def value(text: str, reading: DateReading = PLAIN) -> Any:
    typed = typed_text("placed_at", text, csv_file=True, dates=reading)
    assert typed is not None
    return typed[1]


def refusal(text: str, reading: DateReading = PLAIN) -> str:
    with pytest.raises(BadValue) as caught:
        typed_text("placed_at", text, csv_file=True, dates=reading)
    assert caught.value.field == "placed_at"
    assert "\n" not in caught.value.reason
    return caught.value.reason


ISO = [
    ("2015-12-31", date(2015, 12, 31)),
    (" 2015-12-31 ", date(2015, 12, 31)),
    ("0001-01-01", date(1, 1, 1)),
    ("9999-12-31", date(9999, 12, 31)),
    ("2019-03-31T23:30:00Z", datetime(2019, 3, 31, 23, 30, tzinfo=UTC)),
    ("2019-03-31 23:30+01:00", datetime(2019, 3, 31, 22, 30, tzinfo=UTC)),
    ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), ISO)
@pytest.mark.parametrize("reading", [PLAIN, DAYFIRST, UK, DateReading(("%Y-%d-%m",), True)])
def test_iso_dates_are_read_by_the_grammar_whatever_the_options(
    text: str, expected: date | datetime, reading: DateReading
) -> None:
    assert value(text, reading) == expected


REFUSED_WITHOUT_OPTIONS = [
    (
        "31/12/2015",
        "'31/12/2015' is not an ISO 8601 date (YYYY-MM-DD); for dates written "
        "another way give --date-format or --dayfirst",
    ),
    ("05/01/2015", "'05/01/2015' is not an ISO 8601 date (YYYY-MM-DD)"),
    ("12.31.2015", "'12.31.2015' is not an ISO 8601 date"),
    ("2019-5-1", "'2019-5-1' is not an ISO 8601 date"),
    ("20150105", "'20150105' is not an ISO 8601 date"),
    ("31 Dec 2015", "'31 Dec 2015' is not an ISO 8601 date"),
    ("2015-W01-1", "'2015-W01-1' is not an ISO 8601 date"),
    ("2019-02-30", "'2019-02-30' is not a calendar date"),
    ("2019-13-01", "'2019-13-01' is not a calendar date"),
    ("0000-01-01", "'0000-01-01' is not a calendar date"),
    (
        "2015-12-31T25:00Z",
        "'2015-12-31T25:00Z' is not an ISO 8601 date or datetime "
        "(e.g. 2019-03-31 or 2019-03-31T23:30:00Z)",
    ),
    ("2015-12-31T10:00:00.1234567Z", "is not an ISO 8601 date or datetime"),
    ("2015-12-31T10:00:00+0100", "is not an ISO 8601 date or datetime"),
    ("2015-12-31T10:00:00+15:00", "is not an ISO 8601 date or datetime"),
    ("2015-12-31T10", "is not an ISO 8601 date or datetime"),
    ("2015-12-31 10:00 Europe/London", "is not an ISO 8601 date or datetime"),
    ("2015-12-31T10:00", "'2015-12-31T10:00' is a datetime without a UTC offset"),
    ("2015-12-31 10:00:00", "is a datetime without a UTC offset"),
    (
        "9999-12-31T23:59:59-14:00",
        "'9999-12-31T23:59:59-14:00' is outside the instants "
        "the store can keep (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)",
    ),
    ("0001-01-01T00:00:00+00:01", "is outside the instants the store can keep"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED_WITHOUT_OPTIONS)
def test_date_texts_outside_the_grammar_are_refused(text: str, reason: str) -> None:
    assert reason in refusal(text)


def test_a_refused_value_is_quoted_short() -> None:
    text = "2015-12-31T10:00:00Z" + "0" * 10_000
    reason = refusal(text)
    assert len(reason) < 300
    assert "(10020 characters)" in reason


DATE_FORMATS: list[tuple[tuple[str, ...], str, date | datetime]] = [
    (("%d/%m/%Y",), "31/12/2015", date(2015, 12, 31)),
    (("%d/%m/%Y",), "05/01/2015", date(2015, 1, 5)),
    (("%d/%m/%Y",), "5/1/2015", date(2015, 1, 5)),
    (("%d/%m/%Y",), " 31/12/2015 ", date(2015, 12, 31)),
    (("%m.%d.%Y",), "12.31.2015", date(2015, 12, 31)),
    (("%Y%m%d",), "20150105", date(2015, 1, 5)),
    (("%Y%m%d",), "18991231", date(1899, 12, 31)),  # a format reads what it says
    (("%d %m %Y",), "31 12 2015", date(2015, 12, 31)),
    (("%d-%b-%Y",), "31-Dec-2015", date(2015, 12, 31)),
    (("%d/%m/%y",), "31/12/15", date(2015, 12, 31)),
    (("%d/%m/%y",), "31/12/69", date(1969, 12, 31)),
    (
        ("%d/%m/%Y", "%d/%m/%Y %H:%M %z"),
        "31/12/2015 10:00 +0100",
        datetime(2015, 12, 31, 9, 0, tzinfo=UTC),
    ),
    (("%d/%m/%Y %H:%M%z",), "31/12/2015 10:00Z", datetime(2015, 12, 31, 10, 0, tzinfo=UTC)),
    (("%G-W%V-%u",), "2015-W53-4", date(2015, 12, 31)),
]


@pytest.mark.parametrize(("formats", "text", "expected"), DATE_FORMATS)
def test_date_format_reads_dates_written_that_way(
    formats: tuple[str, ...], text: str, expected: date | datetime
) -> None:
    assert value(text, DateReading(formats)) == expected
    assert value(text, DateReading(formats, dayfirst=True)) == expected  # formats come first


DATE_FORMAT_REFUSALS = [
    (
        ("%d/%m/%Y",),
        "12/31/2015",
        "'12/31/2015' looks like a date but matches no --date-format ('%d/%m/%Y')",
    ),
    (("%d/%m/%Y",), "31.12.2015", "matches no --date-format"),
    (("%d/%m/%Y",), "31/12/15", "matches no --date-format"),
    (("%d/%m/%Y", "%d.%m.%Y"), "2015/12/31", "matches no --date-format ('%d/%m/%Y', '%d.%m.%Y')"),
    (("%d/%m/%Y",), "31/02/2015", "matches no --date-format"),
    (("%d/%m/%Y",), "2019-02-30", "'2019-02-30' is not a calendar date"),
    (("%d/%m/%Y %H:%M",), "31/12/2015 10:00", "is a datetime without a UTC offset"),
    (("%d/%m/%Y %H:%M %Z",), "31/12/2015 10:00 UTC", "is a datetime without a UTC offset"),
    (("%d/%m/%Y %H:%M %z",), "31/12/9999 23:00 -0200", "is outside the instants"),
]


@pytest.mark.parametrize(("formats", "text", "reason"), DATE_FORMAT_REFUSALS)
def test_date_format_refuses_other_dates(formats: tuple[str, ...], text: str, reason: str) -> None:
    assert reason in refusal(text, DateReading(formats))


def test_date_format_reads_any_text_that_matches_it() -> None:
    reading = DateReading(("%d %B %Y",))
    assert value("1 March 2020", reading) == date(2020, 3, 1)
    assert value("n/a", reading) == "n/a"


DAYFIRST_CASES: list[tuple[str, date | datetime]] = [
    ("31/12/2015", date(2015, 12, 31)),
    ("05/01/2015", date(2015, 1, 5)),
    ("5/1/2015", date(2015, 1, 5)),
    ("05.01.2015", date(2015, 1, 5)),
    ("05-01-2015", date(2015, 1, 5)),
    ("2015/01/05", date(2015, 1, 5)),  # the year leads: year, month, day
    ("2015.01.05", date(2015, 1, 5)),
    ("2019-5-1", date(2019, 5, 1)),
    ("20150105", date(2015, 1, 5)),
    ("31 Dec 2015", date(2015, 12, 31)),
    ("Dec 31, 2015", date(2015, 12, 31)),
    ("31st of December 2015", date(2015, 12, 31)),
    ("Thu, 31 Dec 2015", date(2015, 12, 31)),
    ("05/01/2015 10:00 +01:00", datetime(2015, 1, 5, 9, 0, tzinfo=UTC)),
    ("05/01/2015 10:00:00.5 -0500", datetime(2015, 1, 5, 15, 0, 0, 500_000, tzinfo=UTC)),
    ("05/01/2015 10:00 Z", datetime(2015, 1, 5, 10, 0, tzinfo=UTC)),
    ("05/01/2015, 10:00 pm UTC", datetime(2015, 1, 5, 22, 0, tzinfo=UTC)),
    ("Thu, 31 Dec 2015 10:00:00 GMT", datetime(2015, 12, 31, 10, 0, tzinfo=UTC)),
    ("Thu, 31 Dec 2015 10:00:00 +0000", datetime(2015, 12, 31, 10, 0, tzinfo=UTC)),
    ("2015-12-31T10:00:00+0100", datetime(2015, 12, 31, 9, 0, tzinfo=UTC)),
    ("20150105T1000Z", datetime(2015, 1, 5, 10, 0, tzinfo=UTC)),
    ("31/12/2015 10:00 +14:59", datetime(2015, 12, 30, 19, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), DAYFIRST_CASES)
def test_dayfirst_reads_dates_day_first(text: str, expected: date | datetime) -> None:
    got = value(text, DAYFIRST)
    assert got == expected
    assert type(got) is type(expected)


DAYFIRST_REFUSALS = [
    ("12/31/2015", "'12/31/2015' cannot be read day first: there is no month 31"),
    ("12.31.2015 10:00Z", "cannot be read day first: there is no month 31"),
    ("31/02/2015", "'31/02/2015' is not a date (read day first)"),
    ("00/00/0000", "is not a date (read day first)"),
    ("2019-02-30", "'2019-02-30' is not a calendar date"),
    ("2015/31/12", "is not a date (read day first)"),
    ("2015-W01-1", "'2015-W01-1' is not a date (read day first)"),
    (
        "31/12/15",
        "'31/12/15' has a two-digit year, which --dayfirst does not guess; "
        "give --date-format with %y (e.g. %d/%m/%y)",
    ),
    ("31/12/2015 10:00", "'31/12/2015 10:00' is a datetime without a UTC offset"),
    ("31/12/2015 10:00 BST", "'31/12/2015 10:00 BST' names the zone 'BST'; write an offset"),
    ("31/12/2015 10:00 EST", "names the zone 'EST'"),
    ("31/12/2015 10:00 GMT+01:00", "adds an offset to a zone name; write the offset alone"),
    ("31/12/2015 10:00 UTC-5", "adds an offset to a zone name"),
    ("31/12/2015 10:00 +15:00", "is not a date (read day first)"),
    ("31/12/2015 25:00 +01:00", "is not a date (read day first)"),
    ("31/12/2015 10:00 tomorrow", "is not a date (read day first)"),
    ("31/12/9999 23:00 -14:00", "is outside the instants the store can keep"),
]


@pytest.mark.parametrize(("text", "reason"), DAYFIRST_REFUSALS)
def test_dayfirst_refuses_what_it_cannot_read_for_sure(text: str, reason: str) -> None:
    assert reason in refusal(text, DAYFIRST)


def test_dayfirst_with_formats_names_both_when_neither_reads() -> None:
    reason = refusal("31/02/2015", DateReading(("%d.%m.%Y",), dayfirst=True))
    assert "is not a date (read day first)" in reason


def test_dayfirst_does_not_use_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """dateutil would map a zone name equal to the machine's own to tzlocal(): not here."""
    import time

    monkeypatch.setattr(time, "tzname", ("CET", "CEST"))
    assert "names the zone 'CET'" in refusal("05/01/2015 10:00 CET", DAYFIRST)
    assert value("05/01/2015 10:00 UTC", DAYFIRST) == datetime(2015, 1, 5, 10, tzinfo=UTC)


def test_a_csv_boolean_is_not_a_date() -> None:
    assert value(" TRUE ", DAYFIRST) is True
    assert typed_text("f", "true", csv_file=False, dates=DAYFIRST) == ("value_text", "true")


GOOD_FORMATS = [
    "%d/%m/%Y",
    "%m/%d/%y",
    "%Y%m%d",
    "%d %b %Y",
    "%d/%m/%Y %H:%M %z",
    "%x",
    "%G-W%V-%u",
    "%j/%Y",
    "%d/%m/%Y %%",
]
BAD_FORMATS = [
    ("%d/%m", "does not name a day, a month and a year"),
    ("%m/%Y", "does not name a day, a month and a year"),
    ("%H:%M", "does not name a day, a month and a year"),
    ("dd/mm/yyyy", "does not name a day, a month and a year"),
    ("", "does not name a day, a month and a year"),
    ("%d/%q/%Y", "cannot be used: 'q' is a bad directive"),
    ("%d/%d/%Y", "cannot be used"),
]


@pytest.mark.parametrize("fmt", GOOD_FORMATS)
def test_good_date_formats(fmt: str) -> None:
    assert check_date_format(fmt) == fmt
    assert DateReading((fmt,)).formats == (fmt,)


@pytest.mark.parametrize(("fmt", "reason"), BAD_FORMATS)
def test_bad_date_formats(fmt: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason.replace("(", r"\(")) as caught:
        DateReading((fmt,))
    assert str(caught.value).startswith(f"date format {fmt!r}")


def test_an_offset_of_at_most_14_59() -> None:
    east = timezone(timedelta(hours=14, minutes=59))
    assert value("01/01/2000 14:59 +14:59", DAYFIRST) == datetime(2000, 1, 1, 14, 59, tzinfo=east)
