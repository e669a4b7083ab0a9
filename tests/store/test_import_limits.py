"""Hostile and extreme values: each is one bad row (line, field, value cut short) or is
kept exactly, on every backend; never a crash, never a partial import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.store import ImportFailed, import_records, open_store, upgrade
from keepfor.store.values import MAX_TEXT_BYTES
from tests.store.test_importer import counts, jsonl, records

DEEP = "[" * 5000 + "]" * 5000
HUGE = "9" * 5000


@pytest.fixture
def store(db_url: str) -> Iterator[sa.Engine]:
    upgrade(db_url)
    engine = open_store(db_url)
    yield engine
    engine.dispose()


def refused(engine: sa.Engine, path: Path) -> ImportFailed:
    """The import fails with exactly one bad row, and the store is left as it was."""
    before = counts(engine)
    with pytest.raises(ImportFailed) as caught:
        import_records(engine, path)
    failed = caught.value
    assert failed.count == 1, failed.lines()
    for line in [str(failed), *failed.lines()]:
        assert "\n" not in line
        assert len(line) < 400 + len(str(path)), line
    assert counts(engine) == before
    return failed


CSV_CASES: list[tuple[str, bytes, int, str | None, str]] = [
    (
        "an instant after 9999",
        b"9999-12-31T23:59:59-14:00",
        2,
        "note",
        "'9999-12-31T23:59:59-14:00' is outside the instants the store can keep",
    ),
    ("an instant before 0001", b"0001-01-01T00:00:00+14:00", 2, "note", "is outside the instants"),
    ("a NUL character", b"a\x00b", 2, "note", "'a\\x00b' contains a NUL character"),
    (
        "bytes that are not UTF-8",
        b"Ren\xe9",
        2,
        "note",
        "'Ren\ufffd' is not UTF-8 text (byte 0xE9 at character 4)",
    ),
    (
        "a long text",
        b"a" * (MAX_TEXT_BYTES + 1),
        2,
        "note",
        "(65536 characters) is longer than a text value may be (65535 bytes)",
    ),
    (
        "a long text of 4-byte characters",
        "😀".encode() * (MAX_TEXT_BYTES // 4 + 1),
        2,
        "note",
        "is longer than a text value may be",
    ),
    (
        "a value too long for the CSV reader",
        b"a" * 200_000,
        2,
        None,
        "not readable as CSV (field "
        "larger than field limit (131072)); the rest of the file was not read",
    ),
]


@pytest.mark.parametrize(
    ("value", "line", "field", "reason"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES]
)
def test_a_hostile_csv_value(
    store: sa.Engine, tmp_path: Path, value: bytes, line: int, field: str | None, reason: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"key,category,note\nr1,order,fine\nr2,order," + value + b"\n")
    failed = refused(store, path)
    problem = failed.problems[0]
    assert (problem.line, problem.field) == (line + 1, field)
    assert reason in problem.reason


CSV_NAME_CASES: list[tuple[str, bytes, int, str | None, str]] = [
    (
        "a key of 256 characters",
        b"key,category\n" + b"k" * 256 + b",order\n",
        2,
        "key",
        "(256 characters) is longer than 255 characters",
    ),
    (
        "a category of 256 characters",
        b"key,category\nr1," + b"c" * 256 + b"\n",
        2,
        "category",
        "is longer than 255 characters",
    ),
    (
        "a customer of 256 characters",
        b"key,category,customer\nr1,order," + b"c" * 256 + b"\n",
        2,
        "customer",
        "is longer than 255 characters",
    ),
    ("a NUL in a key", b"key,category\nr\x001,order\n", 2, "key", "contains a NUL character"),
    (
        "a key that is not UTF-8",
        b"key,category\nr\xff,order\n",
        2,
        "key",
        "'r\ufffd' is not UTF-8 text (byte 0xFF at character 2)",
    ),
    (
        "a column name that is not UTF-8",
        b"key,category,n\xe9\nr1,order,x\n",
        1,
        None,
        "a column name 'n\ufffd' is not UTF-8 text",
    ),
    (
        "a NUL in a column name",
        b"key,category,a\x00\nr1,order,x\n",
        1,
        None,
        "a column name 'a\\x00' contains a NUL character",
    ),
    (
        "a column name of 256 characters",
        b"key,category," + b"n" * 256 + b"\nr1,order,x\n",
        1,
        "n" * 40 + "...",
        "a column name is longer than 255 characters",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "field", "reason"),
    [c[1:] for c in CSV_NAME_CASES],
    ids=[c[0] for c in CSV_NAME_CASES],
)
def test_a_hostile_csv_name(
    store: sa.Engine, tmp_path: Path, content: bytes, line: int, field: str | None, reason: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    problem = refused(store, path).problems[0]
    assert (problem.line, problem.field) == (line, field)
    assert reason in problem.reason


ROW = '{"key": "r2", "category": "order", '
JSONL_CASES: list[tuple[str, str, str | None, str]] = [
    (
        "an instant after 9999",
        ROW + '"at": "9999-12-31T23:59:59-14:00"}',
        "at",
        "is outside the instants the store can keep",
    ),
    ("5,000 levels of lists", DEEP, None, "not a record: the JSON is nested too deeply"),
    ("5,000 levels in a value", ROW + f'"x": {DEEP}}}', None, "nested too deeply"),
    ("5,000 levels of objects", '{"a": ' * 5000 + "1" + "}" * 5000, None, "nested too deeply"),
    (
        "500 levels in a value",
        ROW + '"x": ' + "[" * 500 + "]" * 500 + "}",
        "x",
        "a field value is a string, number, true/false or null, not a list",
    ),
    ("a list", "[1, 2]", None, "a line holds one JSON object, not a list"),
    ("a string", '"r1"', None, "a line holds one JSON object, not a JSON string"),
    ("a number", "12.5", None, "a line holds one JSON object, not a JSON number"),
    ("a huge number", HUGE, None, "a line holds one JSON object, not a JSON number"),
    ("true", "true", None, "a line holds one JSON object, not a JSON true/false"),
    ("null", "null", None, "a line holds one JSON object, not a JSON null"),
    (
        "a number of 5,000 digits",
        ROW + f'"n": {HUGE}}}',
        "n",
        "a number of 5000 digits is too large to keep exactly",
    ),
    (
        "a negative number of 19 digits",
        ROW + '"n": -1234567890123456789}',
        "n",
        "a number of 19 digits is too large",
    ),
    (
        "2**53 + 1",
        ROW + f'"n": {2**53 + 1}}}',
        "n",
        "9007199254740993 is too large to keep exactly (more than 2**53)",
    ),
    ("1e400", ROW + '"n": 1e400}', "n", "inf is not a finite number"),
    ("-1e400", ROW + '"n": -1e400}', "n", "-inf is not a finite number"),
    ("NaN", ROW + '"n": NaN}', None, "not valid JSON: NaN is not a JSON number"),
    (
        "a key of 5,000 digits",
        f'{{"key": {HUGE}, "category": "order"}}',
        "key",
        "key is <a number of 5000 digits>; it must be a string",
    ),
    (
        "a key that is a deep list",
        '{"key": ' + "[" * 200 + "]" * 200 + ', "category": "o"}',
        "key",
        "key is <list of 1 item>; it must be a string",
    ),
    ("a key that is true", '{"key": true, "category": "o"}', "key", "key is true; it must be"),
    (
        "a key of 256 characters",
        json.dumps({"key": "k" * 256, "category": "o"}),
        "key",
        "is longer than 255 characters",
    ),
    ("a NUL in a value", ROW + '"note": "a\\u0000b"}', "note", "contains a NUL character"),
    (
        "a NUL in a field name",
        ROW + '"a\\u0000": 1}',
        None,
        "the field name 'a\\x00' contains a NUL",
    ),
    (
        "a lone surrogate",
        ROW + '"note": "\\ud800"}',
        "note",
        "is not UTF-8 text (U+D800 at character 1)",
    ),
    (
        "a lone surrogate in a name",
        ROW + '"\\udce9": 1}',
        None,
        "the field name '\ufffd' is not UTF-8 text (byte 0xE9 at character 1)",
    ),
    ("a lone surrogate in a key", '{"key": "a\\udfff", "category": "o"}', "key", "U+DFFF"),
    (
        "a field named twice",
        ROW + '"at": "2015-01-01", "at": "2016-01-01"}',
        "at",
        "the object names this field twice",
    ),
    ("the key named twice", ROW + '"key": "r3"}', "key", "the object names this field twice"),
    (
        "a long text",
        ROW + json.dumps({"note": "a" * (MAX_TEXT_BYTES + 1)})[1:],
        "note",
        "is longer than a text value may be (65535 bytes)",
    ),
    (
        "a field name of 300 characters",
        ROW + json.dumps({"n" * 300: 1})[1:],
        "n" * 40 + "...",
        "a field name is longer than 255 characters",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "reason"), [c[1:] for c in JSONL_CASES], ids=[c[0] for c in JSONL_CASES]
)
def test_a_hostile_jsonl_line(
    store: sa.Engine, tmp_path: Path, text: str, field: str | None, reason: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl({"key": "r1", "category": "order"}, text), encoding="utf-8")
    problem = refused(store, path).problems[0]
    assert (problem.line, problem.field) == (2, field)
    assert reason in problem.reason


def test_a_jsonl_line_that_is_not_utf8(store: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"key": "r1", "category": "order"}\n{"key": "r\xe92", "category": "o"}\n')
    problem = refused(store, path).problems[0]
    assert (problem.line, problem.field) == (2, None)
    assert problem.reason == "the line is not UTF-8 text (byte 0xE9 at character 11)"


def test_every_hostile_row_of_a_file_is_listed(store: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        ROW.replace("r2", f"r{i}") + text[len(ROW) :]
        for i, (_, text, _, _) in enumerate(JSONL_CASES)
        if text.startswith(ROW)
    ]
    path.write_text(jsonl(*lines), encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_records(store, path)
    assert caught.value.count == len(lines)
    assert counts(store) == (0, 0, 0)


EDGE_VALUES: dict[str, Any] = {
    "first_day": "0001-01-01",
    "last_day": "9999-12-31",
    "first_instant": "0001-01-01T00:00:00Z",
    "last_instant": "9999-12-31T23:59:59.999999Z",
    "east": "9999-12-31T23:59:59+00:00",
    "exact": 2**53,
    "negative": -(2**53),
    "largest": 1.7976931348623157e308,
    "smallest": 5e-324,
    "controls": "tab\there\x01\x1f\r\nnew line",
    "longest": "😀" * (MAX_TEXT_BYTES // 4) + "abc",
    "emoji": "😀 café",
}


def test_values_at_the_edges_are_kept_exactly(store: sa.Engine, tmp_path: Path) -> None:
    key = "k" * 254 + "😀"
    row = {"key": key, "category": "c" * 255, "customer": "😀" * 255, **EDGE_VALUES}
    assert len(EDGE_VALUES["longest"].encode()) == MAX_TEXT_BYTES
    path = tmp_path / "edges.jsonl"
    path.write_text(jsonl(row), encoding="utf-8")
    assert import_records(store, path).count == 1
    got = records(store)[key]
    assert got["category"] == "c" * 255
    assert got["customer"] == "😀" * 255
    assert got["first_day"] == date(1, 1, 1)
    assert got["last_day"] == date(9999, 12, 31)
    assert got["first_instant"] == datetime(1, 1, 1, tzinfo=UTC)
    assert got["last_instant"] == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert got["east"] == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for name in ("exact", "negative", "largest", "smallest", "controls", "longest", "emoji"):
        assert got[name] == EDGE_VALUES[name], name
