"""``load_record``: one JSON object from a file; every fault one RecordError naming the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from keepfor.cli.records import MAX_BYTES, MAX_DEPTH, load_record, nesting
from keepfor.errors import RecordError
from tests.cli.conftest import AT, ORDER, assert_bad_input, invoke, run_keepfor

Write = Callable[[str, str], Path]


def deep(levels: int) -> str:
    """A record whose one field holds ``levels`` nested arrays (the record is one more)."""
    return '{"category": "order", "x": ' + "[" * levels + "]" * levels + "}"


BAD_RECORDS = [
    pytest.param(b'{"a": ', "not valid JSON: Expecting value at line 1, column 7", id="not-json"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"category: order", "not valid JSON", id="yaml-not-json"),
    pytest.param(b"[]", "a record is one JSON object of fields, not a JSON list", id="a-list"),
    pytest.param(b'"order"', "not a JSON str", id="a-string"),
    pytest.param(b"null", "not a JSON NoneType", id="null"),
    pytest.param(b"7", "not a JSON int", id="a-number"),
    pytest.param(
        b'{"n":\n "caf\xe9"}', "not UTF-8 text (byte 0xe9 at line 2)", id="latin-1-not-utf8"
    ),
    pytest.param(b"\xff\xfe{\x00}\x00", "not UTF-8 text (byte 0xff at line 1)", id="utf-16"),
    pytest.param(deep(5000).encode(), "nested 5001 levels deep; a record may nest", id="5000-deep"),
    pytest.param(b"[" * 100_000, "nested 100000 levels deep", id="100000-open-brackets"),
    pytest.param(
        deep(MAX_DEPTH).encode(), f"nested {MAX_DEPTH + 1} levels deep", id="one-too-deep"
    ),
    pytest.param(
        b'{"n": ' + b"9" * 5000 + b"}", "not usable JSON: Exceeds the limit", id="5000-digit-number"
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_RECORDS)
def test_a_bad_record_file_is_one_record_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(content)
    with pytest.raises(RecordError) as caught:
        load_record(str(path))
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text
    assert len(text) < 300 + len(str(path))


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(RecordError, match=r"nope\.json: no such file$"):
        load_record(str(path))


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="cannot read the file: Is a directory"):
        load_record(str(tmp_path))


def test_a_good_record(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"category": "order", "note": "[[[{{{", "x": [[1]]}))
    assert load_record(str(path)) == {"category": "order", "note": "[[[{{{", "x": [[1]]}


def test_the_deepest_record_allowed_loads(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(deep(MAX_DEPTH - 1))
    assert load_record(str(path))["category"] == "order"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        ('{"a": "\\"[[[", "b": [1]}', 2),
        ('"\\\\"', 0),
        ('"open string [[[', 0),
        ('"' + '\\"' * 100_000, 0),
        ("not json", 0),
    ],
)
def test_nesting_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert nesting(text) == depth


def test_explain_reads_a_record_from_stdin(shop_pack: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", "-", "--at", AT, "--json",
                 input=json.dumps(ORDER))  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.json()["rule"] == "orders-tax"


def test_explain_with_a_5000_deep_record_is_one_line(shop_pack: Path, write: Write) -> None:
    record = write("deep.json", deep(5000))
    run = invoke("explain", "--rules", shop_pack, "--record", record, "--at", AT)
    assert_bad_input(run, f"keepfor: error: {record}: nested 5001 levels deep")


def test_explain_with_a_deep_record_from_stdin_end_to_end(shop_pack: Path) -> None:
    run = run_keepfor("explain", "--rules", shop_pack, "--record", "-", input=deep(5000))
    assert_bad_input(run, "keepfor: error: <stdin>: nested 5001 levels deep")


def test_a_record_file_too_large_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(RecordError, match=r"huge\.json: larger than 10 MB"):
        load_record(str(path))
