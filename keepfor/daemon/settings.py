"""What a source's config says about the daemon: when it is swept, whether the daemon's
sweeps apply, and where the reports of its dry runs go.

::

    [sources.orders]
    schedule = "0 2 * * *"             # cron, five fields, in schedule_timezone
    # every = "PT6H"                   # or an ISO 8601 interval (weeks, days, h, min, s)
    schedule_timezone = "Europe/London"  # default UTC
    apply = false                      # default: the daemon's sweeps are dry runs
    reports = "reports"                # where dry runs write a report (default:
                                       # keepfor-reports beside the config file)
    keep_reports = 30                  # the newest reports kept per source

Parsed here for every kind of source, as :mod:`keepfor.actions.settings` parses the
keys of acting; the config file's reader (:mod:`keepfor.connectors.config`) hands the
keys over. A cron line is checked by APScheduler's own parser, so what loads here is
what the daemon schedules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from keepfor.errors import SourceError, did_you_mean, quoted
from keepfor.zones import is_zone_name, zone_names

__all__ = [
    "DEFAULT_KEEP_REPORTS",
    "DEFAULT_REPORTS",
    "SCHEDULE_KEYS",
    "ScheduleSettings",
    "iso_interval",
    "parse_every",
    "parse_schedule",
]

SCHEDULE_KEYS = ("schedule", "every", "schedule_timezone", "apply", "reports", "keep_reports")
"""The keys of a source's section this module reads, whatever the source's kind."""

DEFAULT_REPORTS = "keepfor-reports"
"""The folder (beside the config file) of dry-run reports, unless ``reports`` says."""

DEFAULT_KEEP_REPORTS = 30

_EVERY = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


@dataclass(frozen=True)
class ScheduleSettings:
    """When and how the daemon sweeps one source. ``cron`` and ``every`` are both None
    for a source the daemon does not schedule (``--once`` still sweeps it)."""

    cron: str | None = None
    every: timedelta | None = None
    timezone: str = "UTC"
    apply: bool = False
    reports: Path = Path(DEFAULT_REPORTS)
    keep_reports: int = DEFAULT_KEEP_REPORTS

    def __post_init__(self) -> None:
        if self.cron is not None and self.every is not None:
            raise ValueError("give 'schedule' (cron) or 'every', not both")
        if self.every is not None and self.every <= timedelta(0):
            raise ValueError("'every' must be longer than zero")
        if self.keep_reports < 1:
            raise ValueError("'keep_reports' must be 1 or more")

    @property
    def scheduled(self) -> bool:
        return self.cron is not None or self.every is not None

    def describe(self) -> str:
        """The schedule as the config spells it, for logs and ``status``."""
        if self.cron is not None:
            return f"cron '{self.cron}' ({self.timezone})"
        if self.every is not None:
            return f"every {iso_interval(self.every)}"
        return "not scheduled"


def iso_interval(length: timedelta) -> str:
    """A length of time as ISO 8601 (``PT6H``, ``P1DT30M``, ``PT1.5S``)."""
    seconds = length.total_seconds()
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, rest = divmod(rest, 60)
    time = "".join(f"{n:g}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (rest, "S")) if n)
    return f"P{f'{days:g}D' if days else ''}{'T' + time if time else ''}"


def parse_every(text: str) -> timedelta:
    """``PT1S``, ``PT6H``, ``P1D``, ``P1W``, ``PT1H30M``: a fixed length of time; months and
    years are not (their length varies), so they are refused with a hint."""
    spelt = text.strip().upper() if isinstance(text, str) else ""
    match = _EVERY.fullmatch(spelt)
    if match is None or not any(match.groupdict().values()) or spelt.endswith("T"):
        varies = "Y" in spelt or re.search(r"P[^T]*\d+M", spelt)
        hint = " (months and years vary in length: use days, e.g. P30D)" if varies else ""
        raise ValueError(
            f"'every' must be an ISO 8601 interval such as 'PT6H' or 'P1D', not {quoted(text)}"
            + hint
        )
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def parse_schedule(where: str, body: Mapping[str, Any], base: Path) -> ScheduleSettings:
    """The schedule keys of one source's section; a one-line error naming the key.
    ``base`` is the config file's folder (``reports`` is read from it)."""
    try:
        zone = _zone(body.get("schedule_timezone"))
        return ScheduleSettings(
            cron=_cron(body.get("schedule"), zone),
            every=_every(body.get("every")),
            timezone=zone,
            apply=_flag(body.get("apply")),
            reports=base / _text("reports", body.get("reports", DEFAULT_REPORTS)),
            keep_reports=_count(body.get("keep_reports")),
        )
    except ValueError as error:
        raise SourceError(f"{where}: {error}") from None


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be text, not {quoted(value)}")
    return value


def _zone(value: Any) -> str:
    if value is None:
        return "UTC"
    zone = _text("schedule_timezone", value)
    if not is_zone_name(zone):
        hint = did_you_mean(zone, zone_names())
        raise ValueError(f"schedule_timezone: unknown time zone {quoted(zone)}{hint}")
    return zone


def _cron(value: Any, zone: str) -> str | None:
    if value is None:
        return None
    line = " ".join(_text("schedule", value).split())
    if len(line.split()) != 5:
        raise ValueError(
            f"'schedule' must be a cron line of five fields (minute hour day month weekday), "
            f"such as '0 2 * * *', not {quoted(value)}"
        )
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(line, timezone=zone)
    except ValueError as error:
        raise ValueError(f"'schedule' {quoted(value)}: {error}") from None
    return line


def _every(value: Any) -> timedelta | None:
    if value is None:
        return None
    return parse_every(_text("every", value))


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"'apply' must be true or false, not {quoted(value)}")
    return value


def _count(value: Any) -> int:
    if value is None:
        return DEFAULT_KEEP_REPORTS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"'keep_reports' must be a whole number of 1 or more, not {quoted(value)}")
    return value
