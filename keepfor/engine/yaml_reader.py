"""Reading a pack file: bytes -> UTF-8 text -> plain YAML data with line numbers.

A pack is small, hand-written data, so the reader accepts only what such data needs
and refuses the rest with a :class:`keepfor.errors.RulePackError` naming the line:

- no anchors or aliases (``&name``, ``*name``): a 300-byte "billion laughs" of nested
  aliases would otherwise stand for a structure of a billion items; write values out;
- no tags (``!!int``, ``!!timestamp``, ``!!python/object``): nothing but mappings,
  lists, text, numbers, true/false, null and dates is ever constructed;
- at most :data:`MAX_DEPTH` levels of nesting, numbers of at most
  :data:`MAX_NUMBER_CHARS` characters, dates that exist, text without lone surrogates,
  files of at most :data:`MAX_PACK_BYTES`.

YAML 1.1 as PyYAML reads it otherwise: an unquoted ``2024-01-01`` is a date, ``yes``
is true. The loader turns the data into a pack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from keepfor.errors import QUOTE_LIMIT, RulePackError, quoted

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_PACK_BYTES",
    "Located",
    "line_of",
    "printable",
    "read_pack_file",
]

MAX_DEPTH = 64
"""Levels of YAML nesting a pack may use (a realistic pack uses under 20)."""

MAX_NUMBER_CHARS = 100
"""Characters of an unquoted number; longer ones are refused before Python converts them."""

MAX_PACK_BYTES = 10 * 2**20
"""Size of a pack file read at most (``keepfor validate /dev/zero`` must end)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_YAML_TAG = "tag:yaml.org,2002:"


class Located(dict[str, Any]):
    """A YAML mapping that remembers the line of each key (1-based).

    ``plain`` keeps the source text of each unquoted scalar value, so that a word
    YAML 1.1 turns into a boolean (``boundary: on``) can be read as written.
    """

    line: int | None = None
    key_lines: dict[str, int]
    plain: dict[str, str]


def line_of(node: Any, key: str | None = None) -> int | None:
    """The line of ``key`` in a :class:`Located` mapping, else of the mapping itself."""
    if isinstance(node, Located):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return None


def printable(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` with control characters escaped and cut short, for a message's one line."""
    if not isinstance(text, str):
        return quoted(text, limit)
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= limit else f"{shown[:limit]}..."


def _line(node: yaml.Node | yaml.Event) -> int:
    """The 1-based line where a node or event starts."""
    return int(getattr(node.start_mark, "line", 0)) + 1


class _Loader(yaml.SafeLoader):
    """Safe YAML without anchors, aliases or tags, nested at most MAX_DEPTH deep."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """PyYAML's composer, refusing anchors, aliases, tags and deep nesting first."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise RulePackError(
                f"YAML anchors and aliases ({sign}{printable(str(event.anchor))}) are not "
                "allowed in a rule pack; write the value out",
                line=_line(event),
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag
            raise RulePackError(
                f"YAML tags ({printable(shown)}) are not allowed in a rule pack; "
                'write plain values, and quote text: "..."',
                line=_line(event),
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise RulePackError(f"nested more than {MAX_DEPTH} levels deep", line=_line(event))
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        return node


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    """A mapping of text keys, each once, remembering lines and plain scalars."""
    out = Located()
    out.line = _line(node)
    out.key_lines = {}
    out.plain = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = _line(key_node)
        if isinstance(key, bool) and isinstance(key_node, yaml.ScalarNode) and not key_node.style:
            key = key_node.value  # YAML 1.1 reads a bare `on`, `off`, `yes`, `no` key as true/false
        if not isinstance(key, str):
            raise RulePackError(f"key {quoted(key)} is not text", line=line)
        if key in out:
            shown = printable(key)
            raise RulePackError(f"key '{shown}' appears twice in one mapping", key=shown, line=line)
        try:
            out[key] = loader.construct_object(value_node, deep=True)
        except RulePackError as error:
            raise _within(error, printable(key)) from None
        out.key_lines[key] = line
        if isinstance(value_node, yaml.ScalarNode) and not value_node.style:
            out.plain[key] = value_node.value
    return out


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> list[Any]:
    """A list; an error inside names the item's index."""
    out = []
    for index, item in enumerate(node.value):
        try:
            out.append(loader.construct_object(item, deep=True))
        except RulePackError as error:
            raise _within(error, f"[{index}]") from None
    return out


def _within(error: RulePackError, step: str) -> RulePackError:
    """The error of a value, its key path now starting from the mapping or list around it."""
    key = error.key
    path = step if key is None else f"{step}{key}" if key.startswith("[") else f"{step}.{key}"
    return RulePackError(error.detail, key=path, line=error.line, suggestion=error.suggestion)


def _in_rule(error: RulePackError, root: yaml.Node) -> RulePackError:
    """An error at ``rules[N].KEY`` as the loader names it: rule N's id and KEY."""
    found = re.fullmatch(r"rules\[(\d+)\](?:\.(.+))?", error.key or "")
    rules = _child(root, "rules")
    if found is None or not isinstance(rules, yaml.SequenceNode):
        return error
    index, key = int(found.group(1)), found.group(2)
    rule = _child(rules.value[index], "id") if index < len(rules.value) else None
    if not isinstance(rule, yaml.ScalarNode) or not isinstance(rule.value, str):
        return error
    return RulePackError(
        error.detail,
        rule=printable(rule.value),
        key=key,
        line=error.line,
        suggestion=error.suggestion,
    )


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    """The value node of a plain ``key`` in a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """An int, refused before conversion when it is too long."""
    if len(node.value) > MAX_NUMBER_CHARS:
        raise RulePackError(
            f"a number of {len(node.value)} characters is too long for a rule pack "
            '(quote it if it is text: "...")',
            line=_line(node),
        )
    try:
        value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        raise RulePackError(f"{quoted(node.value)} is not a number", line=_line(node)) from None
    return value


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A date or datetime; one that does not exist (2024-02-30) is a pack error."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        raise RulePackError(
            f"{quoted(node.value)} is not a real date or time; YAML reads an unquoted date "
            'as a date: quote it if it is text ("...")',
            line=_line(node),
        ) from None


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    """Text that UTF-8 can hold (no lone surrogates from ``\\ud800`` escapes)."""
    value = str(loader.construct_scalar(node))
    found = _SURROGATE.search(value)
    if found:
        raise RulePackError(
            f"text holds {ascii(found.group())[1:-1]}, a lone surrogate that is not a "
            "character (UTF-8 cannot hold it)",
            line=_line(node),
        )
    return value


_Loader.add_constructor(f"{_YAML_TAG}map", _construct_mapping)
_Loader.add_constructor(f"{_YAML_TAG}seq", _construct_list)
_Loader.add_constructor(f"{_YAML_TAG}int", _construct_int)
_Loader.add_constructor(f"{_YAML_TAG}timestamp", _construct_timestamp)
_Loader.add_constructor(f"{_YAML_TAG}str", _construct_str)
# Without aliases there is nothing to merge: `<<` and `=` are plain text, not YAML 1.1's
# merge and value keys.
_Loader.add_constructor(f"{_YAML_TAG}merge", _construct_str)
_Loader.add_constructor(f"{_YAML_TAG}value", _construct_str)


def parse_yaml(text: str) -> Any:
    """The YAML ``text`` as plain data; a :class:`RulePackError` (with a line) otherwise."""
    try:
        loader = _Loader(text)  # checks the characters at once
    except yaml.reader.ReaderError as error:
        raise RulePackError(
            f"not valid YAML: {printable(str(error).splitlines()[0], 200)}",
            line=text.count("\n", 0, error.position) + 1,
        ) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        try:
            return loader.construct_document(root)
        except RulePackError as error:
            raise _in_rule(error, root) from None
    except yaml.YAMLError as error:
        raise _not_yaml(error) from None
    finally:
        loader.dispose()


def _not_yaml(error: yaml.YAMLError) -> RulePackError:
    """PyYAML's error as one short line with its line number."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    if context and problem.startswith("but "):  # "expected a single document ..., but found ..."
        problem = f"{context}, {problem}"
    return RulePackError(
        f"not valid YAML: {printable(problem, 200)}", line=None if mark is None else mark.line + 1
    )


def read_pack_file(path: str | Path) -> Any:
    """The YAML data of one pack file, every fault a :class:`RulePackError` naming the file."""
    name = str(path)
    try:
        raw = _head(Path(path), MAX_PACK_BYTES + 1)
    except FileNotFoundError:
        raise RulePackError("no such file", file=name) from None
    except OSError as error:
        raise RulePackError(f"cannot read the file: {error.strerror or error}", file=name) from None
    if len(raw) > MAX_PACK_BYTES:
        raise RulePackError(
            f"larger than {MAX_PACK_BYTES // 2**20} MB; a rule pack is a few KB", file=name
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise RulePackError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save the pack as UTF-8",
            file=name,
            line=line,
        ) from None
    try:
        return parse_yaml(text)
    except RulePackError as error:
        raise error.located(file=name) from None


def _head(path: Path, size: int) -> bytes:
    """The file's first ``size`` bytes at most, read in chunks (no buffer of ``size``)."""
    chunks: list[bytes] = []
    left = size
    with path.open("rb") as file:
        while left > 0 and (chunk := file.read(min(left, 2**16))):
            chunks.append(chunk)
            left -= len(chunk)
    return b"".join(chunks)
