"""Record text on a terminal: escapes, C0 and C1 controls and bidi overrides are shown,
never acted on; the table format prints keys, rules and categories through printable()."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from keepfor.report import build_report
from keepfor.report.formats import FORMATS
from keepfor.report.text import printable
from tests.report import AT, load, rules, source

HOSTILE = [
    # text, as printed
    ("\x1b[2J", "\\x1b[2J"),  # clear the screen
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # set the window title
    ("\x1b]8;;https://x.example/\x1b\\link\x1b]8;;\x1b\\", None),  # a hyperlink
    ("a\rb", "a\\rb"),  # overwrite the line
    ("a\nb\tc", "a\\nb\\tc"),
    ("\x00\x08\x7f", "\\x00\\x08\\x7f"),  # NUL, backspace, DEL
    ("\x9b2J", "\\x9b2J"),  # CSI as one C1 character
    ("\x85\x90\x9c", "\\x85\\x90\\x9c"),  # NEL, DCS, ST
    ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
    ("\u2066x\u2069\u200f", "\\u2066x\\u2069\\u200f"),  # isolates, a direction mark
    ("a\u2028b\u2029", "a\\u2028b\\u2029"),  # line and paragraph separators
    ("\ufeffkey\u200b", "\\ufeffkey\\u200b"),  # BOM, zero-width space
    ("C:\\dir\x1b", "C:\\\\dir\\x1b"),  # escaped: backslashes doubled, so it reads one way
]


def unescape(shown: str) -> str:
    """The text that ``printable`` escaped, read back from its escapes."""
    return shown.encode("raw_unicode_escape").decode("unicode_escape")


PLAIN = ["o01", "", "café ☕ 東京", "C:\\dir", "[bold]x[/bold]", "a b", "'\"", "ẞ"]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_hostile_text_is_escaped(text: str, shown: str | None) -> None:
    out = printable(text)
    if shown is not None:
        assert out == shown
    assert out.isprintable()
    assert "\x1b" not in out
    assert unescape(out) == text


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


@given(st.text())
def test_printable_shows_every_character(text: str) -> None:
    out = printable(text)
    assert out.isprintable()
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in out)
    assert printable(out) == out
    if not text.isprintable():
        assert unescape(out) == text  # escaped text reads one way only


def test_the_table_prints_record_text_escaped(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    load(db)
    engine = sa.create_engine(db)
    hostile = {
        "o01": "\x1b[2J\u202e",  # a due key
        "c01": "[/x]\x9b",  # a due key that is also markup
        "u03": "\x1b]0;owned\x07",  # an unmatched category
        "u02": "[/y][bold]",  # a category that is markup
    }
    with engine.begin() as conn:
        for key, text in hostile.items():
            column = "category" if key.startswith("u") else "key"
            conn.execute(
                sa.text(f"UPDATE kf_report_records SET {column} = :text WHERE key = :key"),
                {"text": text, "key": key},
            )
    engine.dispose()
    out = io.StringIO()
    with source(db) as src:
        build_report(rules(), [src], AT, FORMATS["table"](out))
    text = out.getvalue()
    assert not any(unicodedata.category(c) in {"Cc", "Cf"} for c in text.replace("\n", ""))
    for shown in ("\\x1b[2J\\u202e", "[/x]\\x9b", "\\x1b]0;owned\\x07", "[/y][bold]"):
        assert shown in text, shown
