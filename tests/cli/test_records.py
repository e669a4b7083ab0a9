"""``load_record``: one JSON object from a file; every fault one RecordError naming the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from keepfor.cli.records import (
    MAX_BYTES,
    MAX_DEPTH,
    duplicate_line,
    json_kind,
    load_record,
    nesting,
)
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
    pytest.param(b"[]", "a record is one JSON object of fields, not a JSON array", id="a-list"),
    pytest.param(b'"order"', "not a JSON string", id="a-string"),
    pytest.param(b"null", "a record is one JSON object of fields, not a JSON null", id="null"),
    pytest.param(b"7", "not a JSON number", id="a-number"),
    pytest.param(b"2.5e3", "not a JSON number", id="a-float"),
    pytest.param(b"true", "not a JSON true/false", id="true"),
    pytest.param(b" false ", "not a JSON true/false", id="false"),
    pytest.param(
        b'{"category":"a","category":"b","d":"2019-01-01"}',
        "key 'category' appears twice in one object (line 1)",
        id="duplicate-key",
    ),
    pytest.param(
        b'{"category": "order",\n "x": {"a": 1,\n   "a": 2}}',
        "key 'a' appears twice in one object (line 3)",
        id="duplicate-key-nested",
    ),
    pytest.param(
        b'{"c\\u0061t": 1,\n\n "cat": 2}',
        "key 'cat' appears twice in one object (line 3)",
        id="duplicate-key-escaped",
    ),
    pytest.param(
        b'{"a\\nb": 1, "a\\nb": 2}',
        "key 'a\\nb' appears twice in one object (line 1)",
        id="duplicate-key-with-a-newline",
    ),
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


@pytest.mark.parametrize(
    "text",
    [
        '{"a": {"k": 1}, "b": {"k": 2}, "k": 3}',
        '{"a": [{"k": 1}, {"k": 2}], "k": [1, 1]}',
        '{"k": "\\"k\\": 1", "note": "k"}',
    ],
)
def test_the_same_key_in_different_objects_is_no_duplicate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "record.json"
    path.write_text(text)
    assert load_record(str(path)) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ('{"a": 1, "a": 2}', "a", 1),
        ('{"x": {"a": 1},\n "y": {"a": 1,\n "a": 2}}', "a", 3),
        ('{"a": [1, {"b": 1}],\n "b": 2,\n "b": 3}', "b", 3),
        ('{"a": "\\"a\\": [{", \n "a": 2}', "a", 2),
        ('{"a": 1}', "a", 1),  # not found: line 1
    ],
)
def test_duplicate_line(text: str, key: str, line: int) -> None:
    assert duplicate_line(text, key) == line


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, "null"), (True, "true/false"), (False, "true/false"), (0, "number"),
     (1.5, "number"), ("x", "string"), ([], "array"), ({}, "object")],
)  # fmt: skip
def test_json_kind_uses_json_names(value: object, kind: str) -> None:
    assert json_kind(value) == kind


def test_explain_with_a_duplicate_key_is_one_line_exit_2(shop_pack: Path, write: Write) -> None:
    record = write("dup.json", '{"category":"a","category":"b","d":"2019-01-01"}')
    run = invoke("explain", "--rules", shop_pack, "--record", record, "--at", AT, "--json")
    assert_bad_input(
        run, f"keepfor: error: {record}: key 'category' appears twice in one object (line 1)"
    )


def test_explain_with_a_duplicate_key_end_to_end(shop_pack: Path) -> None:
    run = run_keepfor("explain", "--rules", shop_pack, "--record", "-", input='{"a": 1,\n"a": 2}')
    assert_bad_input(run, "keepfor: error: <stdin>: key 'a' appears twice in one object (line 2)")


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
