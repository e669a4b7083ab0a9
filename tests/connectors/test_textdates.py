"""SQLite reads a text date exactly as Python does: for every value, the SQL of
:meth:`TextDates.well_formed` is true where :func:`keepfor.engine.datetext.is_date_text`
is, false elsewhere, never NULL; in a DATE column (numeric affinity) and a text column,
in UTF-8 and UTF-16 databases. Its cheap checks (a date ``date()`` writes back, a
datetime ``julianday()`` reads) are each sufficient, and the full check is exact alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from keepfor.connectors.textdates import text_dates
from keepfor.connectors.textdates.sqlite import _SQLite
from keepfor.engine.datetext import is_date_text

Part = Callable[[_SQLite], sa.ColumnElement[bool]]
WHOLE: Part = _SQLite.well_formed
PARTS: dict[str, Part] = {"day": _SQLite._day, "moment": _SQLite._moment, "any": _SQLite._any_form}

UNTAKEN = [
    "9999-12-31T23:00:00-14:00",  # past SQLite's last instant in UTC
    "0300-03-01",  # a day SQLite's calendar does not have (it has 29 February 300)
]
"""Dates only the full check takes."""
DATES = [
    *("2023-02-28", "2024-02-29", "2000-02-29", "2400-02-29", "1600-02-29", "2023-04-30"),
    *("2023-01-31", "0001-01-01", "9999-12-31"),
    *("2023-03-31T00:00", "2023-03-31 23:59", "2023-03-31T12:00:59", "2023-03-31 12:00:00.5"),
    *("2023-03-31 12:00:00.123456", "2023-03-31T12:00Z", "2023-03-31T12:00:00Z"),
    *("2023-03-31T12:00:00.123Z", "2023-03-31T12:00:00.123456Z", "2023-03-31T12:00+14:00"),
    *("2023-03-31T12:00+14:01", "2023-03-31T12:00:00+14:59", "2023-03-31T12:00:00-00:00"),
    *("2023-03-31T12:00:00.12345-14:59", "0001-01-01T00:00:00+14:00", "2023-03-31 12:00:00.1Z"),
    *(
        "2024-02-29T23:59:59.999999+05:30",
        "2023-01-31 00:00:00.12+01:00",
        "2023-03-31 12:00:00.1234",
    ),
    "0300-03-01T12:00",
    *UNTAKEN,
]
NOT_DATES = [
    *("2023-02-29", "1900-02-29", "2100-02-29", "2023-04-31", "2023-01-32", "2023-13-01"),
    *("2023-00-10", "2023-01-00", "0000-01-01", "0000-02-29", "2023-19-40", "2023-3-31"),
    *("2023-03-1", "20230331", "2023/03/31", " 2023-03-31", "2023-03-31 ", "2023-03-31\n"),
    *("-2023-03-31", "+2023-03-31", "12023-03-31", "2023-03-31T24:00", "2023-03-31 24:00:00"),
    *(
        "2023-03-31T12:60",
        "2023-03-31T12:00:60",
        "2023-03-31T12:00:00.1234567",
        "2023-03-31T12:00:00.",
    ),
    *("2023-03-31t12:00", "2023-03-31T12:00z", "2023-03-31  12:00", "2023-03-31T 12:00"),
    *("2023-03-31TT12:00", "2023-03-31T12", "2023-03-31T1:00", "2023-03-31T12:00+15:00"),
    *("2023-03-31T12:00+1400", "2023-03-31T12:00+14", "2023-03-31T12:00 +01:00"),
    *("2023-03-31T12:00:00.12 +01:00", "2023-03-31T12:00:00.1234 Z", "2023-03-31T12:00:00Z "),
    *("2023-03-31T12:00:00+01:60", "2023-02-30T12:00:00Z", "2023-02-29 00:00:00.000000"),
    *("2023-03-31T12:00:00.123456\x00", "2023-03-31\x00", "2023-03-31T12:00:00\x00Z", "\x002023"),
    *("\uff12\uff10\uff12\uff13-03-31", "\u0662\u0660\u0662\u0663-03-31"),  # other digits
    *("2023-03-31T12:00:00.12345\u0666", "2023-03-31T12:00:00.12345\u00e9"),
    *("now", "2460000.5", "12:00", "2023-03-31T12:00:00.5e", "2023-03-31 12:00:00.12345+01:00 "),
    *("0000-12-31T23:00:00-14:00", "2023-03-31T24:00Z", "2023-03-31T12:00:00.-01:00"),
    *("0300-02-29", "0300-02-29T00:00", "0300-02-29 12:00:00.5Z"),
]


def read(
    values: Sequence[Any], part: Part = WHOLE, *, column: str = "d", encoding: str = "UTF-8"
) -> list[Any]:
    """What one part of the SQL says of each value, stored in a DATE column ``d`` or a
    VARCHAR column ``s`` of a fresh database (the SQL compiled with literal binds, as
    ``--show-query`` prints it)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"PRAGMA encoding = '{encoding}'")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE, s VARCHAR(40))")
    db.executemany("INSERT INTO t (d, s) VALUES (?, ?)", [(v, v) for v in values])
    sql = text_dates(sa.column(column), "sqlite")
    assert isinstance(sql, _SQLite)
    compiled = part(sql).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    got = [row[0] for row in db.execute(f"SELECT {compiled} FROM t ORDER BY id")]
    db.close()
    return got


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16le"])
@pytest.mark.parametrize("column", ["d", "s"])
def test_the_table_reads_as_python_does(column: str, encoding: str) -> None:
    assert all(is_date_text(v) for v in DATES)
    assert not any(is_date_text(v) for v in NOT_DATES)
    values = DATES + NOT_DATES
    expected = [1] * len(DATES) + [0] * len(NOT_DATES)
    assert read(values, column=column, encoding=encoding) == expected


def test_values_that_are_no_text_are_no_dates() -> None:
    """Python reads only a ``str``; a blob of a date's bytes, a number, are not dates."""
    values = [b"2023-03-31", b"2023-03-31 12:00:00.123456", 20230331, 2023.5, 0]
    for column in ("d", "s"):
        assert read(values, column=column) == [0] * len(values)


@pytest.mark.parametrize("column", ["d", "s"])
def test_a_value_is_present_as_python_says_even_when_it_starts_with_a_nul(column: str) -> None:
    """Python: a value unless None or ``''``; ``length()`` stops at a NUL."""
    values = ["", None, "\x00", "\x002023-03-31", " ", "2023-03-31", b"\x00", 0]
    expected = [0, 0, 1, 1, 1, 1, 1, 1]
    assert read(values, _SQLite.present, column=column) == expected


def test_each_cheap_check_is_sufficient_and_the_full_check_exact() -> None:
    values = DATES + NOT_DATES
    expected = [int(is_date_text(v)) for v in values]
    assert read(values, PARTS["any"]) == expected
    for name in ("day", "moment"):
        said = read(values, PARTS[name])
        assert None not in said, name
        assert all(e for s, e in zip(said, expected, strict=True) if s), name


def test_the_cheap_checks_take_every_form_of_the_grammar() -> None:
    """The fast paths are not dead: each date and datetime of the table is taken by one
    of them (in UTF-8), but for those SQLite's date functions cannot read."""
    day, moment = read(DATES, PARTS["day"]), read(DATES, PARTS["moment"])
    taken = [d or m for d, m in zip(day, moment, strict=True)]
    assert taken == [int(v not in UNTAKEN) for v in DATES]


def test_every_day_of_the_calendar_edges() -> None:
    """Every year's last days of February and of the year, and for years around the
    edges and the leap rules every month 00 to 13 and day 00 to 32."""
    years = [
        *range(0, 5),
        1582,
        1600,
        1700,
        1900,
        2000,
        2023,
        2024,
        2100,
        2400,
        *range(9996, 10000),
    ]
    grid = [f"{y:04d}-{m:02d}-{d:02d}" for y in years for m in range(14) for d in range(33)]
    ends = [f"{y:04d}-{md}" for y in range(10000) for md in ("02-28", "02-29", "12-31")]
    values = grid + ends + [v + "T23:59:59.5Z" for v in grid]
    assert read(values) == [int(is_date_text(v)) for v in values]


@pytest.mark.slow
def test_every_text_of_the_date_form() -> None:
    """Every ``YYYY-MM-DD`` of years 0000 to 9999, months 00 to 13, days 00 to 32 (4.6
    million texts): SQLite takes exactly the days Python does, in order."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (d DATE)")
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) "
        "INSERT INTO t SELECT printf('%04d-%02d-%02d', y.i, m.i, d.i) "
        "FROM n AS y, n AS m, n AS d WHERE m.i < 14 AND d.i < 33"
    )
    sql = text_dates(sa.column("d"), "sqlite")
    assert sql is not None
    where = sql.well_formed().compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    taken = (row[0] for row in db.execute(f"SELECT d FROM t WHERE {where} ORDER BY d"))
    days = (date.fromordinal(n).isoformat() for n in range(1, date.max.toordinal() + 1))
    mismatch = next(((t, d) for t, d in zip(taken, days, strict=True) if t != d), None)
    assert mismatch is None
    db.close()


def _fmt2(low: int, high: int, form: str = "{:02d}") -> st.SearchStrategy[str]:
    return st.integers(low, high).map(form.format)


_YEARS = st.sampled_from(["0000", "0001", "1900", "2000", "2023", "2024", "2100", "9999"]) | _fmt2(
    0, 9999, "{:04d}"
)
_DAYS = st.builds("{}-{}-{}".format, _YEARS, _fmt2(0, 19), _fmt2(0, 39) | _fmt2(28, 31))
_FRACTIONS = st.integers(1, 8).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n).map(".".__add__)
)
_OFFSETS = st.builds(
    "{}{:02d}:{:02d}".format, st.sampled_from("+-"), st.integers(0, 19), st.integers(0, 69)
)
_ZONES = st.sampled_from(["", "Z", "z", " Z", "+0100", "+01", "-00:00", "+14:00"]) | _OFFSETS
_TIMES = st.builds(
    "{}{}:{}{}{}".format,
    st.sampled_from(["T", " ", "t", "", "  ", "T "]),
    _fmt2(0, 29),
    _fmt2(0, 69),
    st.just("") | _fmt2(0, 69, ":{:02d}"),
    st.just("") | _FRACTIONS,
)
_NEAR = st.builds(
    "{}{}{}".format,
    _DAYS,
    st.just("") | st.builds(str.__add__, _TIMES, _ZONES),
    st.sampled_from(["", "", "", " ", "\x00", "x", "\n", "0", "Z", "\u00e9"]),
)


@st.composite
def _well_formed(draw: st.DrawFn) -> str:
    """A text of the grammar: any day of years 1 to 9999, any precision, any zone."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    precision = draw(st.sampled_from(["day", "minutes", "seconds", *"123456"]))
    if precision == "day":
        return moment.date().isoformat()
    text = moment.isoformat(draw(st.sampled_from("T ")), "seconds")
    if precision == "minutes":
        text = text[:16]
    elif precision.isdigit():
        text += "." + f"{moment.microsecond:06d}"[: int(precision)]
    zone = draw(st.sampled_from(["", "Z", "offset"]))
    if zone == "offset":
        sign, minutes = draw(st.sampled_from("+-")), draw(st.integers(0, 14 * 60 + 59))
        zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text + zone


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A text of the grammar with one character replaced, inserted or removed."""
    text = list(draw(_well_formed() | _NEAR))
    at = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from("0123456789-:T .Z+z\x00\u00e9\u0663\t"))
    how = draw(st.sampled_from(["replace", "insert", "remove"]))
    if how == "insert" or not text:
        text.insert(at, char)
    elif how == "replace":
        text[min(at, len(text) - 1)] = char
    else:
        del text[min(at, len(text) - 1)]
    return "".join(text)


_TEXTS = st.lists(
    _well_formed() | _NEAR | _mutated() | st.text(min_size=1, max_size=34), min_size=1, max_size=60
)


@given(texts=_TEXTS, encoding=st.sampled_from(["UTF-8", "UTF-16le"]), column=st.sampled_from("ds"))
@settings(max_examples=200, deadline=None)
def test_sqlite_reads_generated_texts_as_python_does(
    texts: list[str], encoding: str, column: str
) -> None:
    values = [t for t in texts if t]  # the empty text is no value (not the check's)
    expected = [int(is_date_text(v)) for v in values]
    assert read(values, column=column, encoding=encoding) == expected
    assert read(values, PARTS["any"], column=column, encoding=encoding) == expected
    for name in ("day", "moment"):
        said = read(values, PARTS[name], column=column, encoding=encoding)
        assert all(e for s, e in zip(said, expected, strict=True) if s), name
