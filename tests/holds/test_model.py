"""The :class:`Hold` value: one record or one customer, a reason and who, validated;
active until released or its until day has passed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from keepfor.errors import UsageError
from keepfor.holds import Hold, HoldState

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _hold(**changes: object) -> Hold:
    values: dict[str, object] = {
        "id": 1, "source": "orders", "record_key": "42", "customer": None,
        "reason": "legal claim", "by": "alice", "created_at": AT,
    }  # fmt: skip
    values.update(changes)
    return Hold(**values)  # type: ignore[arg-type]


def test_a_hold_covers_one_record_or_one_customer() -> None:
    assert _hold().covers == "record 42"
    assert _hold(record_key=None, customer="C-7").covers == "customer C-7"
    with pytest.raises(UsageError, match="one record"):
        _hold(customer="C-7")
    with pytest.raises(UsageError, match="one record"):
        _hold(record_key=None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reason", "", "empty"),
        ("reason", "   ", "empty"),
        ("by", "", "empty"),
        ("reason", "x" * 1001, "at most 1000"),
        ("reason", "two\nlines", "one line"),
        ("record_key", "k" * 256, "at most 255"),
        ("record_key", " ", "empty"),
    ],
)
def test_bad_texts_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _hold(**{field: value})


def test_times_are_aware_and_a_release_is_whole() -> None:
    with pytest.raises(ValueError, match="aware"):
        _hold(created_at=datetime(2026, 11, 22))
    with pytest.raises(ValueError, match="release"):
        _hold(released_at=AT)


def test_active_until_released_or_past_its_until_day() -> None:
    today = date(2026, 11, 22)
    assert _hold().state(today) is HoldState.ACTIVE
    assert _hold(until=today).active(today)  # its last day still holds
    assert _hold(until=date(2026, 11, 21)).state(today) is HoldState.EXPIRED
    released = _hold(released_at=AT, released_by="bob", release_reason="settled")
    assert released.state(today) is HoldState.RELEASED


def test_as_json_and_as_a_line() -> None:
    hold = _hold(until=date(2027, 1, 31))
    assert hold.to_dict() == {
        "id": 1, "source": "orders", "record": "42", "customer": None,
        "reason": "legal claim", "by": "alice", "created_at": "2026-11-22T09:00:00+00:00",
        "until": "2027-01-31", "released_at": None, "released_by": None,
        "release_reason": None,
    }  # fmt: skip
    assert hold.describe() == (
        "hold 1 (record 42) by alice since 2026-11-22 until 2027-01-31: legal claim"
    )
