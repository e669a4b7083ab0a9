"""A source's schedule as APScheduler 3.x sees it, and the catch-up rule.

APScheduler's job store lives in memory, one per process: its FAQ warns that a
persistent store shared by processes gives duplicate and missed runs. What survives a
restart is keepfor's own record of runs (:mod:`.runs`): a source whose last run began
before its latest scheduled time runs once at start (one catch-up, however many times
were missed), and its later times follow the schedule.

Jobs coalesce (many missed times are one run) and take a misfire grace: a run that is
late by less than the grace (a busy machine, a long sweep before it) still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from keepfor.daemon.settings import ScheduleSettings

__all__ = ["GRACE_CRON", "Plan", "grace", "next_after", "plan", "trigger"]

GRACE_CRON = timedelta(hours=1)
"""How late a cron run may start: a nightly sweep an hour late is still wanted."""


def grace(settings: ScheduleSettings) -> timedelta:
    """The misfire grace: an hour for cron, the interval (1 s to 1 h) for ``every``."""
    if settings.every is None:
        return GRACE_CRON
    return min(GRACE_CRON, max(timedelta(seconds=1), settings.every))


def trigger(settings: ScheduleSettings, anchor: datetime) -> Any:
    """The APScheduler trigger: cron in the schedule's zone, or an interval whose times
    fall on ``anchor`` plus whole intervals."""
    zone = ZoneInfo(settings.timezone)
    if settings.cron is not None:
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(settings.cron, timezone=zone)
    assert settings.every is not None
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(seconds=settings.every.total_seconds(), start_date=anchor, timezone=zone)


def next_after(settings: ScheduleSettings, instant: datetime) -> datetime | None:
    """The first scheduled time strictly after ``instant`` (for ``every``: one interval
    after it); None for a source without a schedule."""
    if settings.every is not None:
        return instant + settings.every
    if settings.cron is None:
        return None
    after = instant + timedelta(microseconds=1)
    fire: datetime | None = trigger(settings, after).get_next_fire_time(None, after)
    return None if fire is None else fire.astimezone(UTC)


@dataclass(frozen=True)
class Plan:
    """When a source's job first runs after the daemon starts."""

    first: datetime
    """Its first run."""
    catch_up: bool
    """Whether that run makes up for scheduled times missed while no daemon ran."""
    anchor: datetime
    """Where an interval's times are counted from."""


def plan(settings: ScheduleSettings, last_started: datetime | None, now: datetime) -> Plan:
    """A source's first run: now, once, when a scheduled time passed since its last run
    began; else its next scheduled time. A source never run waits for its first time."""
    if last_started is not None:
        due = next_after(settings, last_started)
        if due is not None and due <= now:
            return Plan(now, True, now)
        if due is not None:
            return Plan(due, False, due)
    first = next_after(settings, now)
    assert first is not None, "plan() is for scheduled sources"
    return Plan(first, False, first)
