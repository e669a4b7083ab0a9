"""Pseudonyms are stable, keyed and separated by source; the key's sources and errors."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepfor.audit.pseudonym import KEY_VARIABLE, Pseudonymiser, load_key, pseudonym
from keepfor.errors import UsageError
from tests.audit.conftest import KEY

OTHER = b"another-audit-key-0123456789abcd"


def test_a_pseudonym_is_64_hex_digits_and_stable() -> None:
    first = pseudonym(KEY, "orders", "ORD-1")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert pseudonym(KEY, "orders", "ORD-1") == first
    assert "ORD" not in first


def test_a_pseudonym_is_the_documented_hmac() -> None:
    message = b"keepfor-record-v1\x00" + (6).to_bytes(4, "big") + b"orders" + b"ORD-1"
    assert pseudonym(KEY, "orders", "ORD-1") == hmac.new(KEY, message, hashlib.sha256).hexdigest()


@given(st.text(max_size=30), st.text(max_size=30))
def test_the_pseudonymiser_equals_the_function(source: str, key: str) -> None:
    assert Pseudonymiser(KEY, source)(key) == pseudonym(KEY, source, key)


@given(st.text(max_size=30))
def test_another_key_gives_another_pseudonym(record: str) -> None:
    assert pseudonym(KEY, "orders", record) != pseudonym(OTHER, "orders", record)


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_equal_keys_of_two_sources_do_not_link(a: str, b: str, record: str) -> None:
    if a != b:
        assert pseudonym(KEY, a, record) != pseudonym(KEY, b, record)


def test_the_source_name_cannot_bleed_into_the_key() -> None:
    assert pseudonym(KEY, "ab", "c") != pseudonym(KEY, "a", "bc")


def test_the_key_comes_from_the_environment() -> None:
    assert load_key(environ={KEY_VARIABLE: "  " + KEY.decode() + "\n"}) == KEY


def test_a_key_file_named_by_the_caller_wins(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_bytes(OTHER + b"\n")
    assert load_key(path, environ={KEY_VARIABLE: KEY.decode()}) == OTHER


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({}, "KEEPFOR_AUDIT_KEY"),
        ({KEY_VARIABLE: ""}, "KEEPFOR_AUDIT_KEY: the audit key is empty"),
        ({KEY_VARIABLE: " \n"}, "is empty"),
        ({KEY_VARIABLE: "short"}, "at least 16"),
    ],
)
def test_a_missing_or_weak_key_is_one_line(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(UsageError, match=re.escape(fragment)) as raised:
        load_key(environ=environ)
    assert "\n" not in str(raised.value)
    secret = environ.get(KEY_VARIABLE, "").strip()
    if secret:
        assert secret not in str(raised.value)


def test_a_key_file_that_is_missing_empty_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"audit key file .*nope\.key.*: no such file"):
        load_key(tmp_path / "nope.key")
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    with pytest.raises(UsageError, match=r"empty\.key.*is empty"):
        load_key(empty)
    with pytest.raises(UsageError, match="cannot read it"):
        load_key(tmp_path)  # a folder


def test_the_pseudonymiser_never_shows_its_key() -> None:
    assert KEY.decode() not in repr(Pseudonymiser(KEY, "orders"))
