"""A zone name is checked by loading its one zone, with the answer of the whole set."""

from __future__ import annotations

import zoneinfo

import pytest

from keepfor.zones import is_zone_name, zone_names


def test_every_name_of_the_database_is_one() -> None:
    names = zoneinfo.available_timezones()
    assert names == zone_names()
    assert len(names) > 300
    assert all(is_zone_name(name) for name in names)


@pytest.mark.parametrize(
    "name",
    [
        "posixrules",
        "posix/Europe/London",
        "right/UTC",
        "Europe/Londn",
        "europe/london",
        "BST",
        "",
        " UTC",
        "UTC ",
        "Europe",
        "zone.tab",
        "tzdata.zi",
        "../zoneinfo/UTC",
        "/usr/share/zoneinfo/UTC",
        "Europe/London\x00",
        None,
        3,
        ["UTC"],
    ],
)
def test_what_the_database_does_not_list_is_none(name: object) -> None:
    assert not isinstance(name, str) or name not in zoneinfo.available_timezones()
    assert not is_zone_name(name)
