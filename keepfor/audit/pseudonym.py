"""Keyed pseudonyms of record keys, and where the audit key comes from.

The audit trail never holds a record's key: it holds ``HMAC-SHA256(audit key, source,
key)`` in hex. Without the key, nobody can tell which record an entry is about (a
plain hash of an order number is reversed by hashing every order number); with it, a
person who knows a key can find its entries. The source's name is part of the message,
length-prefixed, so equal keys of two sources (customer 42 and order 42) do not link.

The key comes from the environment variable ``KEEPFOR_AUDIT_KEY``, or from a key file
the caller (the config) names; it is never stored in the database it protects. It is
used as the bytes of its text (UTF-8), surrounding whitespace stripped, so a key file
written by ``openssl rand -hex 32 > audit.key`` works as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from keepfor.errors import UsageError, quoted

__all__ = [
    "KEY_VARIABLE",
    "MIN_KEY_BYTES",
    "Pseudonymiser",
    "hmac_pads",
    "load_key",
    "pseudonym",
]

KEY_VARIABLE = "KEEPFOR_AUDIT_KEY"
"""The environment variable that holds the audit key."""

MIN_KEY_BYTES = 16
"""The shortest key accepted: a shorter one could be found by trying keys."""

_DOMAIN = b"keepfor-record-v1\x00"
"""Prefix of every HMAC message, so these pseudonyms mean nothing in another protocol."""


def load_key(key_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> bytes:
    """The audit key: from ``key_file`` when given, else from ``KEEPFOR_AUDIT_KEY``.

    Raises :class:`UsageError` (one line, naming where it looked, never the key) when
    the key is missing, empty, too short or unreadable.
    """
    if key_file is not None:
        where = f"audit key file {quoted(str(key_file))}"
        try:
            raw = Path(key_file).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{where}: no such file") from None
        except OSError as error:
            raise UsageError(f"{where}: cannot read it: {error.strerror or error}") from None
        return _checked(raw.strip(), where)
    env = os.environ if environ is None else environ
    text = env.get(KEY_VARIABLE)
    if text is None:
        raise UsageError(
            f"no audit key: set the environment variable {KEY_VARIABLE} "
            "or name a key file in the config"
        )
    return _checked(text.strip().encode("utf-8"), f"the environment variable {KEY_VARIABLE}")


def _checked(key: bytes, where: str) -> bytes:
    if not key:
        raise UsageError(f"{where}: the audit key is empty")
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"{where}: the audit key is {len(key)} bytes; use at least {MIN_KEY_BYTES} "
            "(e.g. openssl rand -hex 32)"
        )
    return key


def _prefix(source_name: str) -> bytes:
    """The HMAC message's start for a source: domain, length of the name, the name."""
    name = source_name.encode("utf-8")
    return _DOMAIN + len(name).to_bytes(4, "big") + name


def pseudonym(key_bytes: bytes, source_name: str, record_key_text: str) -> str:
    """The pseudonym of one record key of one source: 64 hex digits."""
    message = _prefix(source_name) + record_key_text.encode("utf-8")
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def hmac_pads(key_bytes: bytes, source_name: str) -> tuple[bytes, bytes]:
    """The two byte strings HMAC-SHA256 (RFC 2104) hashes in front, for a database to
    compute :func:`pseudonym` from its own SHA-256 as ``H(outer + H(inner + key text))``:
    ``inner`` is the padded key XOR 0x36 followed by the source's message prefix,
    ``outer`` the padded key XOR 0x5c."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key_bytes).digest() if len(key_bytes) > block else key_bytes).ljust(
        block, b"\0"
    )
    inner = bytes(b ^ 0x36 for b in padded) + _prefix(source_name)
    return inner, bytes(b ^ 0x5C for b in padded)


class Pseudonymiser:
    """:func:`pseudonym` for many keys of one source: the keyed state of the source's
    prefix is computed once and copied per key (about twice as fast as ``hmac.new``)."""

    __slots__ = ("_base", "source")

    def __init__(self, key_bytes: bytes, source_name: str) -> None:
        if not key_bytes:
            raise UsageError("the audit key is empty")
        self.source = source_name
        self._base = hmac.new(key_bytes, _prefix(source_name), hashlib.sha256)

    def __call__(self, record_key_text: str) -> str:
        mac = self._base.copy()
        mac.update(record_key_text.encode("utf-8"))
        return mac.hexdigest()

    def __repr__(self) -> str:  # never the key
        return f"Pseudonymiser(source={self.source!r})"
