"""Reading one record for ``keepfor explain --record FILE.json``.

The file holds one JSON object: the record's fields. Every fault is one
:class:`keepfor.errors.RecordError` naming the file: a missing or unreadable file,
one of more than :data:`MAX_BYTES`, bytes that are not UTF-8, text that is not JSON,
nesting deeper than :data:`MAX_DEPTH` (refused before the JSON parser, which recurses,
reads it), JSON that is not an object, and an object that names a key twice (packs
refuse duplicate keys too: the last one silently winning would hide a typo).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO

from keepfor.errors import RecordError, quoted

__all__ = ["MAX_BYTES", "MAX_DEPTH", "duplicate_line", "json_kind", "load_record", "nesting"]

MAX_DEPTH = 100
"""Levels of nested arrays and objects a record may have (a record's fields are flat)."""

MAX_BYTES = 10 * 2**20
"""Size of a record file read at most (``--record /dev/zero`` must end)."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
"""A JSON string (skipped whole: brackets in it do not count; one left open runs to the
end, so the scan stays linear) or a bracket."""

_KEY_END = re.compile(r"[ \t\n\r]*:")
"""What follows a JSON string that is an object's key."""


def load_record(path: str) -> dict[str, Any]:
    """The JSON object in the file ``path`` (``-`` reads standard input)."""
    name = "<stdin>" if path == "-" else path
    raw = _read(path, name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise RecordError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at line {line}); "
            "save the record as UTF-8",
            file=name,
        ) from None
    depth = nesting(text)
    if depth > MAX_DEPTH:
        raise RecordError(
            f"nested {depth} levels deep; a record may nest at most {MAX_DEPTH}", file=name
        )
    try:
        data = json.loads(text, object_pairs_hook=_unique)
    except _DuplicateKey as duplicate:
        raise RecordError(
            f"key {quoted(duplicate.key)} appears twice in one object (line "
            f"{duplicate_line(text, duplicate.key)}); a record names each field once",
            file=name,
        ) from None
    except json.JSONDecodeError as error:
        raise RecordError(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}", file=name
        ) from None
    except ValueError as error:  # a number past Python's 4300-digit limit
        raise RecordError(f"not usable JSON: {str(error).split(';')[0]}", file=name) from None
    if not isinstance(data, dict):
        raise RecordError(
            f"a record is one JSON object of fields, not a JSON {json_kind(data)}", file=name
        )
    return data


class _DuplicateKey(Exception):
    """An object of the record names ``key`` twice (raised from the JSON parser's hook)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One JSON object as a dict; :class:`_DuplicateKey` if a key comes twice."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type: object, array, string, number, true/false,
    null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def duplicate_line(text: str, key: str) -> int:
    """The line where ``key`` is first named a second time in one object of JSON ``text``
    (valid JSON, already parsed); 1 if it cannot be found."""
    objects: list[set[str] | None] = []  # one entry per open bracket: an object's keys
    for token in _TOKEN.finditer(text):
        found = token.group()
        if found in ("{", "["):
            objects.append(set() if found == "{" else None)
        elif found in ("}", "]"):
            objects.pop()
        elif objects and objects[-1] is not None and _KEY_END.match(text, token.end()):
            name = json.loads(found)
            if name == key and name in objects[-1]:
                return text.count("\n", 0, token.start()) + 1
            objects[-1].add(name)
    return 1


def _read(path: str, name: str) -> bytes:
    """The bytes of the file (or of standard input for ``-``)."""
    try:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:  # a text stream without bytes under it
                raw = sys.stdin.read(MAX_BYTES + 1).encode("utf-8")
            else:
                raw = _head(stdin, MAX_BYTES + 1)
        else:
            with Path(path).open("rb") as file:
                raw = _head(file, MAX_BYTES + 1)
    except FileNotFoundError:
        raise RecordError("no such file", file=name) from None
    except OSError as error:
        raise RecordError(f"cannot read the file: {error.strerror or error}", file=name) from None
    if len(raw) > MAX_BYTES:
        raise RecordError(f"larger than {MAX_BYTES // 2**20} MB; a record is one object", file=name)
    return raw


def _head(stream: BinaryIO, size: int) -> bytes:
    """The stream's first ``size`` bytes at most, read in chunks (no buffer of ``size``)."""
    chunks: list[bytes] = []
    left = size
    while left > 0 and (chunk := stream.read(min(left, 2**16))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def nesting(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text``, without parsing it."""
    depth = deepest = 0
    for token in _TOKEN.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in ("]", "}"):
            depth -= 1
    return deepest
