"""The report's windows (the 24 months of the chart, the 30/90/365-day forecast) in each
pack's own time zone.

A month has begun in one zone and not yet in another: at 2029-03-31T23:30Z a pack in
Europe/London is in April (BST) while a UTC pack is still in March. The chart starts at
the month of the earliest local date of any pack, and each window counts what falls due
"on that day, or today where that is later, in each pack's zone", so no count is ever
negative: a record the London pack made due at 00:00 on 1 April is due now, not a
record that "fell due in March" and was then taken away again.

The records here have one date, ``placed_at`` (a DATE column), and the rules keep them
``P0D`` with ``boundary: on``: a record's disposal date is its ``placed_at``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.engine import Instant, RuleSet, Status, evaluate, parse_pack
from keepfor.report import Report, build_report
from keepfor.report.model import CHART_MONTHS, FORECAST_DAYS
from tests.differential import instants, load_records, near, record_lists, rule_sets, table_source
from tests.report import Collect

TABLE = "kf_windows"
ZONES = (
    "Europe/London",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "America/Los_Angeles",
    "UTC",
    "Pacific/Pago_Pago",
)


def pack(name: str, zone: str, category: str) -> dict[str, Any]:
    """A pack whose one rule makes a record of ``category`` due on its ``placed_at``."""
    return {
        "pack": name,
        "version": "1",
        "timezone": zone,
        "rules": [
            {
                "id": f"{name}-rule",
                "applies_to": {"category": category},
                "retain": {"from": "placed_at", "for": "P0D"},
                "boundary": "on",
                "then": "purge",
            }
        ],
    }


@pytest.fixture
def table(db_url: str) -> sa.Table:
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    made = sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(16), nullable=False, unique=True),
        sa.Column("category", sa.String(8)),
        sa.Column("placed_at", sa.Date),
    )
    meta.create_all(engine)
    engine.dispose()
    return made


def run_report(
    url: str,
    table: sa.Table,
    packs: list[dict[str, Any]],
    rows: list[tuple[str, date]],
    at: Instant,
) -> Report:
    """Write ``rows`` (category, disposal date) to the table and report on it at ``at``."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(table.delete())
            if rows:
                conn.execute(
                    table.insert(),
                    [
                        {"id": i, "key": f"k{i}", "category": c, "placed_at": d}
                        for i, (c, d) in enumerate(rows)
                    ],
                )
    finally:
        engine.dispose()
    rules = RuleSet(tuple(parse_pack(p) for p in packs))
    source = SqlTableSource(url, TableMapping(table=TABLE, key="key", source="w"))
    writer = Collect()
    try:
        report = build_report(rules, [source], at, writer)
    finally:
        source.close()
    assert writer.report is report
    return report


def labels(first: str, n: int = CHART_MONTHS) -> list[str]:
    start = date.fromisoformat(first + "-01")
    return [(start + relativedelta(months=i)).strftime("%Y-%m") for i in range(n)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def assert_sound(report: Report) -> None:
    """No count is negative, and the forecast only grows with its window."""
    assert all(n >= 0 for _, n in report.by_month), report.by_month
    forecast = [report.forecast[days] for days in FORECAST_DAYS]
    assert all(n >= 0 for n in forecast), forecast
    assert forecast == sorted(forecast), forecast


# -- the chart starts at the month of each pack's own today -----------------------------

START_CASES = [
    # the cases of the issue
    ("Europe/London", "2029-03-31T23:30:00Z", "2029-04"),  # 00:30 BST on 1 April
    ("Asia/Kolkata", "2026-01-31T20:00:00Z", "2026-02"),  # 01:30 IST on 1 February
    ("UTC", "2029-03-31T23:30:00Z", "2029-03"),
    # a minute before and after local midnight at month ends, in each zone
    ("Europe/London", "2029-03-31T22:59:00Z", "2029-03"),  # 23:59 BST
    ("Europe/London", "2026-01-31T23:59:00Z", "2026-01"),  # GMT: no shift in winter
    ("Europe/London", "2026-10-31T23:01:00Z", "2026-10"),  # GMT again (from 25 October)
    ("Europe/London", "2026-11-01T00:00:00Z", "2026-11"),
    ("Asia/Kolkata", "2026-01-31T18:29:00Z", "2026-01"),  # 23:59 IST
    ("Asia/Kolkata", "2028-02-29T18:30:00Z", "2028-03"),  # a leap February ends
    ("Pacific/Kiritimati", "2026-06-30T09:59:00Z", "2026-06"),  # UTC+14: 23:59
    ("Pacific/Kiritimati", "2026-06-30T10:00:00Z", "2026-07"),  # the world's first July
    ("Pacific/Kiritimati", "2026-12-31T10:00:00Z", "2027-01"),  # and first new year
    ("America/Los_Angeles", "2026-03-01T07:59:00Z", "2026-02"),  # 23:59 PST, 28 February
    ("America/Los_Angeles", "2026-03-01T08:00:00Z", "2026-03"),
    ("America/Los_Angeles", "2027-01-01T07:30:00Z", "2026-12"),  # UTC is in 2027 already
    ("America/Los_Angeles", "2026-11-01T06:59:00Z", "2026-10"),  # 23:59 PDT
    ("UTC", "2026-12-31T23:59:59Z", "2026-12"),
    ("UTC", "2027-01-01T00:00:00Z", "2027-01"),
]


def _around(today: date, first: date) -> list[date]:
    """Disposal dates where windows begin and end: around today, the first month's end,
    the chart's end, and each forecast window's end."""
    last = first + relativedelta(months=CHART_MONTHS, days=-1)
    days = {today + timedelta(days=n) for n in (-1, 0, 1, 2)}
    days |= {first + relativedelta(months=1, days=n) for n in (-1, 0)}
    days |= {last, last + timedelta(days=1)}
    days |= {today + timedelta(days=n + k) for n in FORECAST_DAYS for k in (0, 1)}
    return sorted(days)


@pytest.mark.parametrize(("zone", "at_text", "first"), START_CASES)
def test_the_chart_starts_in_the_month_of_the_packs_today(
    table: sa.Table, db_url: str, zone: str, at_text: str, first: str
) -> None:
    at = utc(at_text)
    today = at.astimezone(ZoneInfo(zone)).date()
    assert today.strftime("%Y-%m") == first  # the table says what zoneinfo says
    dates = _around(today, date.fromisoformat(first + "-01"))
    report = run_report(db_url, table, [pack("p", zone, "a")], [("a", d) for d in dates], at)

    months = labels(first)
    assert [m for m, _ in report.by_month] == months
    expected = dict.fromkeys(months, 0)
    for d in dates:
        if d > today and d.strftime("%Y-%m") in expected:
            expected[d.strftime("%Y-%m")] += 1
    assert dict(report.by_month) == expected
    for days in FORECAST_DAYS:
        horizon = (at + timedelta(days=days)).astimezone(ZoneInfo(zone)).date()
        assert report.forecast[days] == sum(today < d <= horizon for d in dates), days
    assert report.overall.due == sum(d <= today for d in dates)
    assert_sound(report)


# -- packs in two zones at once ---------------------------------------------------------


def test_a_utc_pack_and_a_london_pack_at_the_end_of_march(table: sa.Table, db_url: str) -> None:
    """At 2029-03-31T23:30Z it is 31 March in UTC and 1 April in London. The chart starts
    in March (the earliest today), and March counts nothing: what London made due at its
    midnight is due now, in neither March nor April."""
    at = utc("2029-03-31T23:30:00Z")
    packs = [pack("utc", "UTC", "a"), pack("london", "Europe/London", "b")]
    placed = ["2029-03-30", "2029-03-31", "2029-04-01", "2029-04-02", "2029-04-30", "2029-05-01"]
    rows = [(c, date.fromisoformat(d)) for c in "ab" for d in placed]
    report = run_report(db_url, table, packs, rows, at)

    assert report.overall.due == 2 + 3  # UTC through 31 March, London through 1 April
    expected = dict.fromkeys(labels("2029-03"), 0)
    expected |= {"2029-04": 3 + 2, "2029-05": 1 + 1}
    assert dict(report.by_month) == expected
    assert [m for m, _ in report.by_month] == labels("2029-03")
    # 30 days on: UTC 30 April, London 1 May
    assert report.forecast == {30: 3 + 3, 90: 4 + 3, 365: 4 + 3}
    assert_sound(report)


def test_the_london_pack_alone_is_in_april(table: sa.Table, db_url: str) -> None:
    at = utc("2029-03-31T23:30:00Z")
    rows = [("b", date(2029, 4, 1)), ("b", date(2029, 4, 2))]
    report = run_report(db_url, table, [pack("london", "Europe/London", "b")], rows, at)
    assert report.by_month[0] == ("2029-04", 1)
    assert report.overall.due == 1


def test_packs_two_dates_apart(table: sa.Table, db_url: str) -> None:
    """At 2026-05-31T10:30Z it is 30 May, 23:30 in Pago Pago (UTC-11) and 1 June, 00:30
    in Kiritimati (UTC+14): two dates apart. A record of both packs (category ``a``) is
    due when both rules are; the chart starts in May, Pago Pago's month."""
    at = utc("2026-05-31T10:30:00Z")
    packs = [
        pack("east", "Pacific/Kiritimati", "a"),
        pack("west", "Pacific/Pago_Pago", "a"),
        pack("only-east", "Pacific/Kiritimati", "e"),
        pack("only-west", "Pacific/Pago_Pago", "w"),
    ]
    rows = [
        ("a", date(2026, 5, 30)),  # due now in both
        ("a", date(2026, 5, 31)),  # due now in the east, on 31 May in the west
        ("a", date(2026, 6, 1)),  # due now in the east, in June in the west
        ("e", date(2026, 6, 1)),  # due now
        ("e", date(2026, 6, 2)),  # June
        ("w", date(2026, 5, 31)),  # May
        ("w", date(2026, 6, 1)),  # June
    ]
    report = run_report(db_url, table, packs, rows, at)
    assert report.overall.due == 2
    expected = dict.fromkeys(labels("2026-05"), 0)
    expected |= {"2026-05": 2, "2026-06": 3}
    assert dict(report.by_month) == expected
    assert_sound(report)


# -- the laws, over generated packs, records and instants --------------------------------


@st.composite
def zoned_rule_sets(draw: st.DrawFn) -> RuleSet:
    """Generated packs, each moved to a zone of :data:`ZONES` (or left where it was)."""
    rules = draw(rule_sets())
    packs = tuple(
        dataclasses.replace(p, timezone=draw(st.sampled_from((p.timezone, *ZONES))))
        for p in rules.packs
    )
    return RuleSet(packs)


@st.composite
def month_end_instants(draw: st.DrawFn) -> datetime:
    """Instants within two days of the end of a month, where the zones disagree."""
    month = draw(st.dates(min_value=date(2001, 1, 1), max_value=date(2039, 12, 1)))
    last = month.replace(day=1) + relativedelta(months=1, days=-1)
    return draw(near(last + timedelta(days=1)))


@pytest.fixture
def diff_source(db_url: str) -> Iterator[SqlTableSource]:
    with table_source(db_url) as src:
        yield src


def _due(rules: RuleSet, records: list[dict[str, Any]], at: Instant) -> int:
    return sum(evaluate(rules, r, at).status is Status.DUE for r in records)


@given(
    rules=zoned_rule_sets(),
    records=record_lists(max_size=20),
    at=st.one_of(instants, month_end_instants()),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_windows_are_never_negative_and_add_up(
    diff_source: SqlTableSource, rules: RuleSet, records: list[dict[str, Any]], at: datetime
) -> None:
    load_records(diff_source, records)
    report = build_report(rules, [diff_source], at, Collect())
    assert_sound(report)

    todays = [at.astimezone(p.zone).date() for p in rules.packs]
    first = min(todays).replace(day=1)
    ends = [first + relativedelta(months=i + 1, days=-1) for i in range(CHART_MONTHS)]
    assert [m for m, _ in report.by_month] == [e.strftime("%Y-%m") for e in ends]
    counts = [n for _, n in report.by_month]

    now = _due(rules, records, at)
    assert report.overall.due == now
    # from the second month on, every month's end is on or after every pack's today, so
    # "due by its end" is "due on that date" (a plain date: that day in every zone)
    by_end = [_due(rules, records, end) for end in ends]
    assert sum(counts) == by_end[-1] - now
    assert counts[0] + counts[1] == by_end[1] - now
    for i in range(2, CHART_MONTHS):
        assert counts[i] == by_end[i] - by_end[i - 1], i
    if max(todays) <= ends[0]:  # every pack is in the first month: its end is plain too
        assert counts[0] == by_end[0] - now
    for days in FORECAST_DAYS:
        assert report.forecast[days] == _due(rules, records, at + timedelta(days=days)) - now


@st.composite
def simple_packs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Two or three packs of :func:`pack` in zones of :data:`ZONES`: one for ``a``, one
    for ``b``, and perhaps another for either (a record of it is due when both rules are)."""
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=2, max_size=3, unique=True))
    categories = ["a", "b", draw(st.sampled_from("ab"))]
    return [pack(f"p{i}", zone, categories[i]) for i, zone in enumerate(zones)]


def _bounds(packs: list[dict[str, Any]], category: str, days: list[date]) -> list[date]:
    """The day of each pack covering ``category`` (``days`` has one per pack)."""
    return [
        day
        for p, day in zip(packs, days, strict=True)
        if p["rules"][0]["applies_to"]["category"] == category
    ]


Scenario = tuple[list[dict[str, Any]], datetime, list[tuple[str, date]]]


@st.composite
def near_a_packs_midnight(draw: st.DrawFn, packs: list[dict[str, Any]]) -> datetime:
    """An instant within three hours of the start of a month in one pack's zone: the
    other packs are often still in the month before, or already in the next."""
    zone = ZoneInfo(draw(st.sampled_from([p["timezone"] for p in packs])))
    month = draw(st.dates(min_value=date(2001, 1, 1), max_value=date(2039, 12, 1)))
    midnight = datetime.combine(month.replace(day=1), time(), tzinfo=zone)
    return midnight.astimezone(UTC) + timedelta(minutes=draw(st.integers(-180, 180)))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Packs, an instant, and records (category, disposal date): of each category, one
    due the day before, on and after each pack's today, where the zones disagree; then
    more, near those days or anywhere in the chart."""
    packs = draw(simple_packs())
    at = draw(st.one_of(near_a_packs_midnight(packs), near_a_packs_midnight(packs), instants))
    todays = [at.astimezone(ZoneInfo(p["timezone"])).date() for p in packs]
    near_today = st.builds(
        lambda today, n: today + timedelta(days=n), st.sampled_from(todays), st.integers(-1, 1)
    )
    anywhere = st.integers(-3, 800).map(lambda n: at.date() + timedelta(days=n))
    rows = [(c, today + timedelta(days=n)) for c in "ab" for today in todays for n in (-1, 0, 1)]
    rows += draw(
        st.lists(
            st.tuples(st.sampled_from("abc"), st.one_of(near_today, anywhere)),
            max_size=30,
        )
    )
    return packs, at, rows


@given(scenario=scenarios())
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_each_window_counts_what_falls_due_in_it_in_each_zone(
    table: sa.Table, db_url: str, scenario: Scenario
) -> None:
    """Every month and forecast window, exactly, for records due around ``at``: a record
    is due by a window's end when, for every pack covering it, it is due by that day or
    by the pack's today, whichever is later."""
    packs, at, rows = scenario
    report = run_report(db_url, table, packs, rows, at)
    assert_sound(report)

    zones = [ZoneInfo(p["timezone"]) for p in packs]
    todays = [at.astimezone(zone).date() for zone in zones]

    def due(ends: list[date]) -> int:
        n = 0
        for category, disposal in rows:
            bounds = _bounds(packs, category, ends)
            n += bool(bounds) and all(disposal <= bound for bound in bounds)
        return n

    now = due(todays)
    assert report.overall.due == now
    first = min(todays).replace(day=1)
    expected, previous = [], now
    for i in range(CHART_MONTHS):
        end = first + relativedelta(months=i + 1, days=-1)
        total = due([max(end, today) for today in todays])
        expected.append((end.strftime("%Y-%m"), total - previous))
        previous = total
    assert report.by_month == expected
    for days in FORECAST_DAYS:
        later = [(at + timedelta(days=days)).astimezone(zone).date() for zone in zones]
        assert report.forecast[days] == due(later) - now, days


def test_a_plain_date_is_that_day_in_every_zone(table: sa.Table, db_url: str) -> None:
    """``--at 2029-03-31`` is 31 March in London too: the chart starts in March."""
    rows = [("b", date(2029, 3, 31)), ("b", date(2029, 4, 1))]
    report = run_report(
        db_url, table, [pack("london", "Europe/London", "b")], rows, date(2029, 3, 31)
    )
    assert report.by_month[:2] == [("2029-03", 0), ("2029-04", 1)]
    assert report.overall.due == 1
