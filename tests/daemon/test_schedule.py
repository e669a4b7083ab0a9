"""When a source's job first runs: a catch-up run, once, when scheduled times were
missed while no daemon ran; else its next scheduled time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keepfor.daemon.schedule import GRACE_CRON, grace, next_after, plan, trigger
from keepfor.daemon.settings import ScheduleSettings

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
NIGHTLY = ScheduleSettings(cron="0 2 * * *", timezone="Europe/London")
HOURLY = ScheduleSettings(every=timedelta(hours=1))


def test_cron_in_its_zone() -> None:
    # 02:00 in London is 01:00 UTC in summer, 02:00 UTC in winter
    assert next_after(NIGHTLY, NOW) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_after(NIGHTLY, summer) == datetime(2026, 7, 2, 1, 0, tzinfo=UTC)


def test_next_after_is_strictly_after() -> None:
    at_two = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert next_after(NIGHTLY, at_two) == at_two + timedelta(days=1)
    assert next_after(HOURLY, NOW) == NOW + timedelta(hours=1)
    assert next_after(ScheduleSettings(), NOW) is None


def test_missed_times_give_one_catch_up_now() -> None:
    three_days_ago = NOW - timedelta(days=3)
    first = plan(NIGHTLY, three_days_ago, NOW)
    assert first.catch_up
    assert first.first == NOW
    # and after it, the schedule's own times (the trigger coalesces nothing more)
    after = trigger(NIGHTLY, first.anchor).get_next_fire_time(None, NOW + timedelta(seconds=1))
    assert after == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_no_missed_time_no_catch_up() -> None:
    tonight = plan(NIGHTLY, NOW - timedelta(hours=1), NOW)
    assert not tonight.catch_up
    assert tonight.first == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    soon = plan(HOURLY, NOW - timedelta(minutes=20), NOW)
    assert not soon.catch_up
    assert soon.first == NOW + timedelta(minutes=40)
    assert soon.anchor == soon.first


def test_interval_missed_five_times_runs_once() -> None:
    late = plan(HOURLY, NOW - timedelta(hours=5), NOW)
    assert late.catch_up
    assert late.first == NOW
    fire = trigger(HOURLY, late.anchor).get_next_fire_time(late.first, NOW)
    assert fire == NOW + timedelta(hours=1)


def test_never_run_waits_for_its_first_time() -> None:
    first = plan(NIGHTLY, None, NOW)
    assert not first.catch_up
    assert first.first == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert plan(HOURLY, None, NOW).first == NOW + timedelta(hours=1)


def test_grace() -> None:
    assert grace(NIGHTLY) == GRACE_CRON
    assert grace(ScheduleSettings(every=timedelta(seconds=0.2))) == timedelta(seconds=1)
    assert grace(HOURLY) == timedelta(hours=1)
    assert grace(ScheduleSettings(every=timedelta(days=1))) == GRACE_CRON
