"""The daemon's keys of a source's config: parsed with the rest of keepfor.toml, each
fault one line naming the file, the source and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from keepfor.connectors.config import load_settings
from keepfor.daemon.settings import (
    DEFAULT_KEEP_REPORTS,
    DEFAULT_REPORTS,
    ScheduleSettings,
    iso_interval,
    parse_every,
)
from keepfor.errors import SourceError


def _load(tmp_path: Path, keys: str) -> ScheduleSettings:
    path = tmp_path / "keepfor.toml"
    path.write_text(
        f'[sources.orders]\nurl = "sqlite:///shop.db"\ntable = "orders"\n{keys}\n',
        encoding="utf-8",
    )
    (source,) = load_settings(path).sources
    return source.schedule


def test_defaults_are_unscheduled_dry_runs(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert settings == ScheduleSettings(reports=tmp_path / DEFAULT_REPORTS)
    assert not settings.scheduled
    assert not settings.apply
    assert settings.keep_reports == DEFAULT_KEEP_REPORTS


def test_every_key(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        'schedule = "0  2 * * *"\nschedule_timezone = "Europe/London"\napply = true\n'
        'reports = "out/reports"\nkeep_reports = 3',
    )
    assert settings.cron == "0 2 * * *"
    assert settings.timezone == "Europe/London"
    assert settings.apply
    assert settings.reports == tmp_path / "out" / "reports"
    assert settings.keep_reports == 3
    assert settings.describe() == "cron '0 2 * * *' (Europe/London)"


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("PT1S", timedelta(seconds=1)),
        ("PT6H", timedelta(hours=6)),
        ("P1D", timedelta(days=1)),
        ("P2W", timedelta(weeks=2)),
        ("PT1H30M", timedelta(minutes=90)),
        ("pt0.5s", timedelta(seconds=0.5)),
        ("P1DT2H", timedelta(days=1, hours=2)),
    ],
)
def test_every(text: str, length: timedelta) -> None:
    assert parse_every(text) == length
    assert parse_every(iso_interval(length)) == length


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('schedule = "0 2 * *"', "five fields"),
        ('schedule = "0 25 * * *"', "'schedule' '0 25 * * *'"),
        ('schedule = "0 2 * * *"\nevery = "PT1H"', "not both"),
        ('every = "P1M"', "use days"),
        ('every = "P1Y"', "use days"),
        ('every = "PT0S"', "longer than zero"),
        ('every = "6 hours"', "ISO 8601 interval"),
        ("every = 6", "'every' must be text"),
        ('schedule_timezone = "Europe/Londn"', "did you mean 'Europe/London'"),
        ('apply = "yes"', "'apply' must be true or false"),
        ("keep_reports = 0", "keep_reports"),
        ('reports = ""', "'reports' must be text"),
    ],
)
def test_faults_are_one_line(tmp_path: Path, keys: str, message: str) -> None:
    with pytest.raises(SourceError) as error:
        _load(tmp_path, keys)
    text = str(error.value)
    assert message in text
    assert "source 'orders'" in text
    assert "\n" not in text


def test_the_kind_never_sees_the_daemon_keys(tmp_path: Path) -> None:
    """A misspelt key is still refused by the kind's own check."""
    with pytest.raises(SourceError, match="unknown key 'shedule'"):
        _load(tmp_path, 'shedule = "0 2 * * *"')
