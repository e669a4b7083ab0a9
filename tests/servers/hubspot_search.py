"""The CRM v3 search semantics of the HubSpot-shaped test server: filters, their
limits, sorts and the values properties hold.

Property values are texts, as HubSpot stores them; a date or date-time property holds
an epoch-millisecond text (midnight UTC for a date-only one). Filters compare such
properties, and number properties, as numbers; other properties as texts, ``EQ``,
``NEQ``, ``IN`` and ``NOT_IN`` ignoring case as HubSpot does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_FILTERS",
    "MAX_GROUPS",
    "MAX_PER_GROUP",
    "NUMERIC",
    "SearchError",
    "check_groups",
    "epoch_ms",
    "id_order",
    "matches",
    "sort_key",
    "stored_value",
    "whole_number",
]

MAX_GROUPS = 5
MAX_PER_GROUP = 10
MAX_FILTERS = 25
NUMERIC = frozenset({"number", "date", "datetime"})
OPERATORS = frozenset(
    {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN"}
    | {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}
)


class SearchError(Exception):
    """A search request HubSpot refuses (400, ``VALIDATION_ERROR``)."""


def epoch_ms(text: Any) -> Decimal | None:
    """A stored or filter value of a date, date-time or number property as a number:
    epoch milliseconds or an ISO 8601 date (midnight UTC) or date-time (UTC where it
    gives no offset); None where it is neither."""
    if text is None:
        return None
    value = str(text).strip()
    try:
        return Decimal(value)
    except InvalidOperation:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Decimal(int(moment.timestamp() * 1000))


def date_ms(day: date) -> str:
    """A date-only property's value: midnight UTC in epoch milliseconds."""
    return str(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000))


def check_groups(groups: Any, known: Mapping[str, str]) -> None:
    """HubSpot's limits on ``filterGroups``: at most 5 groups, 10 filters in a group, 25
    in all; each filter on a known property with a known operator."""
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list")
    if len(groups) > MAX_GROUPS:
        raise SearchError(
            f"Too many filter groups ({len(groups)}). The maximum number of filter "
            f"groups is {MAX_GROUPS}."
        )
    total = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("each filter group needs a list of filters")
        if len(filters) > MAX_PER_GROUP:
            raise SearchError(
                f"Too many filters in a filter group ({len(filters)}). The maximum "
                f"number of filters per group is {MAX_PER_GROUP}."
            )
        total += len(filters)
        for one in filters:
            _check_filter(one, known)
    if total > MAX_FILTERS:
        raise SearchError(
            f"Too many filters ({total}). The maximum number of filters is {MAX_FILTERS}."
        )


def _check_filter(one: Any, known: Mapping[str, str]) -> None:
    if not isinstance(one, dict) or one.get("operator") not in OPERATORS:
        raise SearchError(f"Invalid filter: {one!r}")
    name = one.get("propertyName")
    if name not in known:
        raise SearchError(f"Property {name!r} does not exist")
    if one["operator"] in ("IN", "NOT_IN") and not isinstance(one.get("values"), list):
        raise SearchError(f"{one['operator']} needs 'values'")
    if one["operator"] == "BETWEEN" and "highValue" not in one:
        raise SearchError("BETWEEN needs 'highValue'")


def matches(properties: Mapping[str, Any], groups: Sequence[Any], types: Mapping[str, str]) -> bool:
    """Some group's filters all hold (no groups: every object)."""
    if not groups:
        return True
    return any(all(_holds(properties, one, types) for one in group["filters"]) for group in groups)


def _holds(properties: Mapping[str, Any], one: Mapping[str, Any], types: Mapping[str, str]) -> bool:
    name, operator = one["propertyName"], one["operator"]
    value = properties.get(name)
    present = value is not None and value != ""
    if operator == "HAS_PROPERTY":
        return present
    if operator == "NOT_HAS_PROPERTY":
        return not present
    if operator in ("NEQ", "NOT_IN") and not present:
        return True
    if not present:
        return False
    numeric = types.get(name) in NUMERIC
    if operator in ("IN", "NOT_IN"):
        inside = any(_compare(value, v, numeric) == 0 for v in one["values"])
        return inside if operator == "IN" else not inside
    if operator == "BETWEEN":
        low, high = (
            _compare(value, one.get("value"), numeric),
            _compare(value, one.get("highValue"), numeric),
        )
        return low is not None and high is not None and low >= 0 and high <= 0
    order = _compare(value, one.get("value"), numeric)
    if order is None:
        return bool(operator == "NEQ")
    return bool(
        {
            "EQ": order == 0,
            "NEQ": order != 0,
            "LT": order < 0,
            "LTE": order <= 0,
            "GT": order > 0,
            "GTE": order >= 0,
        }[operator]
    )


def _compare(value: Any, other: Any, numeric: bool) -> int | None:
    """-1, 0 or 1 (None: the two cannot be compared, a number against a non-number)."""
    if numeric:
        a, b = epoch_ms(value), epoch_ms(other)
        if a is None or b is None:
            return None
        return (a > b) - (a < b)
    x, y = str(value).lower(), str(other).lower()
    return (x > y) - (x < y)


def sort_key(properties: Mapping[str, Any], name: str, numeric: bool) -> tuple[int, Any]:
    """An object's place when sorted by a property (objects without it last)."""
    value = properties.get(name)
    if value is None or value == "":
        return (1, 0)
    if numeric:
        number = epoch_ms(value)
        return (0, number) if number is not None else (1, 0)
    return (0, str(value).lower())


def stored_value(value: Any, kind: str) -> str | None:
    """A written value as HubSpot keeps it: "" clears it; an ISO date or date-time in a
    date property becomes epoch milliseconds."""
    if value is None or value == "":
        return None
    if kind in ("date", "datetime") and not str(value).lstrip("-").isdigit():
        number = epoch_ms(value)
        if number is not None:
            return str(int(number))
    return str(value)


def whole_number(value: Any, name: str) -> int:
    """A request's number, or the 400 HubSpot gives."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SearchError(f"{name} must be a whole number") from None


def id_order(obj: dict[str, Any]) -> tuple[int, str]:
    """Objects by numeric id (HubSpot's order), any other id last."""
    text = str(obj["id"])
    return (int(text), "") if text.isdigit() else (1 << 62, text)
