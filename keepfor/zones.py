"""IANA time zone names: whether a name is one, and the names to suggest from.

``zoneinfo.available_timezones()`` walks the whole zone database and opens every file
(about 10 ms, every time it is called): a report paid it for its pack's one zone. A name
is checked instead by loading that one zone, which gives the same answer (tested against
the whole set): ``available_timezones()`` is every name that loads, less the ``posix/``
and ``right/`` copies and ``posixrules``. The whole set is read only for a suggestion.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

__all__ = ["is_zone_name", "zone_names"]

_LEFT_OUT = ("posix/", "right/")


def is_zone_name(name: object) -> bool:
    """``name`` is one of ``zoneinfo.available_timezones()``."""
    return isinstance(name, str) and _loads(name)


@cache
def _loads(name: str) -> bool:
    if name == "posixrules" or name.startswith(_LEFT_OUT):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def zone_names() -> frozenset[str]:
    """Every zone name, for "did you mean" (read once)."""
    return frozenset(zoneinfo.available_timezones())
