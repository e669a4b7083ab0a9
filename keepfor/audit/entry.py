"""One audit entry, and its canonical form for hashing.

An entry says what was done to which record, under which rule of which version of
which pack, in which sweep and batch: ``sequence`` (1, 2, 3... with no gaps), ``time``
(UTC), ``sweep_id``, ``batch_id``, ``source``, ``record`` (the keyed pseudonym of the
record's key, never the key), ``rule_id``, ``pack_id``, ``pack_version``, ``action``,
``outcome`` and ``hash``. No field value of a record has a field here to be written to.

:class:`PendingEntry` is an entry before it is appended (no sequence, no hash); the
chain (:mod:`keepfor.audit.chain`) gives it both and returns an :class:`AuditEntry`.

Canonical form (version 1), what ``hash`` is the SHA-256 of, in hex::

    keepfor-audit-1 US sequence US time US sweep_id US batch_id US source US record
                    US rule_id US pack_id US pack_version US action US outcome

joined by the ASCII unit separator (``\\x1f``), UTF-8 encoded; ``sequence`` in decimal;
``time`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. No text field may hold a control
character, so the separator cannot appear inside a field and the form is unambiguous.
It uses only concatenation and SHA-256, so a database can compute it too (PostgreSQL
``sha256()``, MariaDB ``SHA2(..., 256)``) when a sweep writes entries in SQL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

__all__ = [
    "FIELD_NAMES",
    "FORMAT",
    "LIMITS",
    "TEXT_FIELDS",
    "AuditEntry",
    "PendingEntry",
    "entry_hash",
    "hash_of",
    "utc_text",
]

FORMAT = "keepfor-audit-1"
"""The canonical form's name and version: the first field of every hashed text."""

LIMITS = {
    "sweep_id": 64,
    "batch_id": 64,
    "source": 200,
    "record": 64,
    "rule_id": 200,
    "pack_id": 200,
    "pack_version": 100,
    "action": 32,
    "outcome": 32,
}
"""The longest text of each text field (the columns' widths)."""

TEXT_FIELDS = tuple(LIMITS)
"""The text fields in canonical order."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SEP = "\x1f"


def utc_text(time: datetime) -> str:
    """``time`` (aware) as the canonical form writes it: UTC, microseconds, ``Z``."""
    return time.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _checked_time(time: object) -> datetime:
    """An aware datetime converted to UTC; ValueError for anything else."""
    if not isinstance(time, datetime) or time.utcoffset() is None:
        raise ValueError(f"an audit entry's time must be an aware datetime, not {time!r}")
    return time if time.utcoffset() == timedelta(0) and time.tzinfo is UTC else time.astimezone(UTC)


def _check_texts(entry: object) -> None:
    """Every text field is a non-empty str within its limit, free of control characters;
    ``record`` is a pseudonym (64 lowercase hex digits), never a raw key."""
    values = [getattr(entry, name) for name in TEXT_FIELDS]
    for name, value in zip(TEXT_FIELDS, values, strict=True):
        if not isinstance(value, str) or not value or len(value) > LIMITS[name]:
            raise ValueError(
                f"an audit entry's {name} must be a text of 1 to {LIMITS[name]} characters, "
                f"not {value!r}"[:200]
            )
    if _CONTROL.search("".join(values)):
        bad = next(n for n, v in zip(TEXT_FIELDS, values, strict=True) if _CONTROL.search(v))
        raise ValueError(f"an audit entry's {bad} holds a control character")
    if not _HEX64.fullmatch(values[3]):
        raise ValueError("an audit entry's record must be a pseudonym (64 lowercase hex digits)")


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry to append: everything but its sequence number and hash."""

    time: datetime
    sweep_id: str
    batch_id: str
    source: str
    record: str
    rule_id: str
    pack_id: str
    pack_version: str
    action: str
    outcome: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", _checked_time(self.time))
        _check_texts(self)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the trail, as appended or as read back."""

    sequence: int
    time: datetime
    sweep_id: str
    batch_id: str
    source: str
    record: str
    rule_id: str
    pack_id: str
    pack_version: str
    action: str
    outcome: str
    hash: str

    def __post_init__(self) -> None:
        if type(self.sequence) is not int or self.sequence < 1:
            raise ValueError(
                f"an audit entry's sequence must be an int >= 1, not {self.sequence!r}"
            )
        object.__setattr__(self, "time", _checked_time(self.time))
        _check_texts(self)
        if not isinstance(self.hash, str) or not _HEX64.fullmatch(self.hash):
            raise ValueError("an audit entry's hash must be 64 lowercase hex digits")

    @classmethod
    def trusted(cls, sequence: int, time: datetime, texts: Sequence[str], value: str) -> AuditEntry:
        """An entry from parts already validated (as a :class:`PendingEntry`), without
        checking them again: the chain makes ten thousand per batch."""
        made = object.__new__(cls)
        setter = object.__setattr__
        setter(made, "sequence", sequence)
        setter(made, "time", time)
        for name, text in zip(TEXT_FIELDS, texts, strict=True):
            setter(made, name, text)
        setter(made, "hash", value)
        return made

    def expected_hash(self) -> str:
        """The hash this entry's contents give (equal to ``hash`` when it is intact)."""
        return entry_hash(self.sequence, self)

    def as_dict(self) -> dict[str, object]:
        """Field name -> value, ``time`` as canonical text: for JSON and CSV export."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["time"] = utc_text(self.time)
        return data


def entry_hash(sequence: int, entry: PendingEntry | AuditEntry) -> str:
    """The SHA-256 (hex) of the canonical form of ``entry`` at ``sequence``."""
    return hash_of(sequence, entry.time, [getattr(entry, name) for name in TEXT_FIELDS])


def hash_of(sequence: int, time: datetime, texts: Sequence[str]) -> str:
    """The SHA-256 (hex) of the canonical form of an entry given as its sequence, time
    and text fields (in :data:`TEXT_FIELDS` order): what verify recomputes from a row."""
    text = _SEP.join((FORMAT, str(sequence), utc_text(time), *texts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


FIELD_NAMES = tuple(f.name for f in fields(AuditEntry))
"""The fields of an entry in their order (the export's columns)."""
