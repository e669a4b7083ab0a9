"""The entry value objects refuse what the trail must not hold; the canonical form."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from keepfor.audit.entry import AuditEntry, PendingEntry, entry_hash, hash_of
from tests.audit.conftest import AT, pending


def test_an_entry_is_frozen() -> None:
    entry = pending(1)[0]
    with pytest.raises(AttributeError):
        entry.outcome = "failed"  # type: ignore[misc]


def test_a_time_in_another_zone_is_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    entry = replace(pending(1)[0], time=AT.astimezone(paris))
    assert entry.time == AT
    assert entry.time.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("time", datetime(2026, 1, 1), "aware datetime"),
        ("time", "2026-01-01", "aware datetime"),
        ("record", "ORD-1", "pseudonym"),
        ("record", "A" * 64, "pseudonym"),
        ("source", "", "1 to 200"),
        ("rule_id", "x" * 201, "1 to 200"),
        ("outcome", None, "outcome"),
        ("action", "purge\x1fdone", "control character"),
        ("pack_version", "1\n", "control character"),
    ],
)
def test_a_bad_field_is_refused(field: str, value: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        replace(pending(1)[0], **{field: value})


def test_an_audit_entry_checks_its_sequence_and_hash() -> None:
    base = pending(1)[0]
    good = AuditEntry(1, *[getattr(base, n) for n in PendingEntry.__dataclass_fields__], "0" * 64)
    with pytest.raises(ValueError, match="sequence"):
        replace(good, sequence=0)
    with pytest.raises(ValueError, match="sequence"):
        replace(good, sequence=True)
    with pytest.raises(ValueError, match="hash"):
        replace(good, hash="0" * 63)


def test_the_canonical_form_is_the_documented_one() -> None:
    entry = pending(1)[0]
    text = "\x1f".join(
        [
            "keepfor-audit-1",
            "7",
            "2026-11-22T09:00:00.123456Z",
            "sweep-1",
            "b1",
            "orders",
            entry.record,
            "orders-tax",
            "shop",
            "2026.1",
            "purge",
            "done",
        ]
    )
    assert entry_hash(7, entry) == hashlib.sha256(text.encode()).hexdigest()


def test_every_field_and_the_sequence_change_the_hash() -> None:
    entry = pending(1)[0]
    texts = [entry.sweep_id, entry.batch_id, entry.source, entry.record, entry.rule_id]
    texts += [entry.pack_id, entry.pack_version, entry.action, entry.outcome]
    base = hash_of(1, entry.time, texts)
    assert hash_of(2, entry.time, texts) != base
    assert hash_of(1, entry.time + timedelta(microseconds=1), texts) != base
    for i in range(len(texts)):
        changed = [*texts[:i], texts[i] + "x", *texts[i + 1 :]]
        assert hash_of(1, entry.time, changed) != base
    assert entry.time.tzinfo is UTC
