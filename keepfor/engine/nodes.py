"""Checking the nodes of a parsed YAML file, each fault one error that names the file, the
line, the rule and the key, with a suggestion where one is obvious: what the rule-pack
parser (:mod:`keepfor.engine.loader`) is built on. Generic checks live here (keys,
required values, texts, identifiers, field names, choices of an enum, time zones,
month-days); the pack's grammar lives in the loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

from keepfor.engine.anchors import MonthDay
from keepfor.engine.rules import Action, Basis, Boundary
from keepfor.engine.yaml_reader import Located, line_of, printable
from keepfor.errors import QUOTE_LIMIT, RulePackError, quoted, suggest
from keepfor.zones import is_zone_name, zone_names

__all__ = ["KEY_LIMIT", "NodeChecker", "join_key", "kind_of", "suggestion", "yaml_type"]

_ID = re.compile(r"[a-z0-9-]+")
"""A pack or rule id, as the contract has it: lower-case letters, digits and hyphens."""
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEY_LIMIT = 400
"""Characters of a key path a message shows (20 nested terms take under 300)."""
_E = TypeVar("_E", Boundary, Action, Basis)


class NodeChecker:
    """The checks one file's nodes go through; ``rule`` is the rule being read, for the
    messages."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.rule: str | None = None

    def fail(
        self,
        message: str,
        key: str | None = None,
        *,
        node: Any = None,
        line_key: str | None = None,
        suggestion: str | None = None,
    ) -> NoReturn:
        raise RulePackError(
            message,
            file=self.file,
            rule=None if self.rule is None else printable(self.rule),
            key=None if key is None else printable(key, limit=KEY_LIMIT),
            line=line_of(node, line_key),
            suggestion=suggestion,
        )

    def check_keys(
        self, node: Mapping[str, Any], allowed: Sequence[str], path: str, what: str
    ) -> None:
        for key in node:
            if key not in allowed:
                self.fail(
                    f"unknown key '{printable(key)}' in {what}; allowed: {', '.join(allowed)}",
                    join_key(path, key),
                    node=node,
                    line_key=key,
                    suggestion=suggestion(key, allowed),
                )

    def require(self, node: Mapping[str, Any], key: str, path: str, what: str) -> Any:
        """The value of a required key; no value or empty text (``""``) is not given."""
        if key not in node or node[key] is None or node[key] == "":
            self.fail(f"{what} needs '{key}'", join_key(path, key), node=node, line_key=key)
        return node[key]

    def text(self, node: Mapping[str, Any], key: str, path: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            hint = ' (quote it: "...")' if isinstance(value, (int, float)) else ""
            self.fail(
                f"'{key}' must be text, not {quoted(value)}{hint}", path, node=node, line_key=key
            )
        return value

    def identifier(self, node: Mapping[str, Any], key: str, value: Any, path: str) -> str:
        name = self.text(node, key, path, value)
        if not _ID.fullmatch(name):
            self.fail(
                f"{quoted(name)} is not an identifier: lower-case letters, digits and hyphens",
                path,
                node=node,
                line_key=key,
            )
        return name

    def optional_text(self, node: Mapping[str, Any], key: str, path: str) -> str | None:
        value = node.get(key)
        return None if value is None else self.text(node, key, path, value)

    def timezone(self, node: Mapping[str, Any], value: Any) -> str:
        zone = self.text(node, "timezone", "timezone", value)
        if not is_zone_name(zone):
            if zone.isalpha() and zone.isupper() and len(zone) <= 5:
                # An abbreviation (BST, CEST): a close zone name would be a wrong guess.
                self.fail(
                    f"unknown IANA time zone {quoted(zone)}: give a zone name such as "
                    "'Europe/London', not an abbreviation",
                    "timezone",
                    node=node,
                    line_key="timezone",
                )
            self.fail(
                f"unknown IANA time zone {quoted(zone)}",
                "timezone",
                node=node,
                line_key="timezone",
                suggestion=suggestion(zone, zone_names()),
            )
        return zone

    def month_day(self, node: Mapping[str, Any], key: str, path: str) -> MonthDay:
        value = node[key]
        if not isinstance(value, str):
            self.fail(
                f"{kind_of(value)} is not MM-DD; YAML read the unquoted value as "
                f'{yaml_type(value)}: quote it, e.g. "03-31"',
                path,
                node=node,
                line_key=key,
            )
        if len(value) > QUOTE_LIMIT:  # MonthDay.parse would quote all of it
            self.fail(f"{quoted(value)} is not MM-DD", path, node=node, line_key=key)
        try:
            return MonthDay.parse(value)
        except ValueError as error:
            self.fail(str(error), path, node=node, line_key=key)

    def field_name(self, node: Any, name: Any, path: str, line_key: str | None = None) -> str:
        if not isinstance(name, str) or not _FIELD.fullmatch(name):
            if line_key is None and isinstance(name, str):
                line_key = name
            self.fail(
                f"{quoted(name)} is not a field name "
                "(letters, digits and '_', not starting with a digit)",
                path,
                node=node,
                line_key=line_key,
            )
        return name

    def choice(self, node: Mapping[str, Any], key: str, enum: type[_E], default: _E | None) -> _E:
        value = node.get(key)
        allowed = [member.value for member in enum]
        if isinstance(value, bool) and isinstance(node, Located):
            # YAML 1.1 reads a bare `on` as true: `boundary: on` means the word.
            value = node.plain.get(key, value)
        if value is None:
            if default is None:
                self.fail(f"a rule needs '{key}': one of {', '.join(allowed)}", key, node=node)
            return default
        if value not in allowed:
            self.fail(
                f"{quoted(value)} is not one of {', '.join(allowed)}",
                key,
                node=node,
                line_key=key,
                suggestion=suggestion(value, allowed),
            )
        return enum(value)


def suggestion(word: Any, choices: Iterable[str]) -> str | None:
    """The closest choice to a misspelt word; none for what is not a short text."""
    return suggest(word, choices) if isinstance(word, str) and len(word) <= 200 else None


def join_key(path: str, key: object) -> str:
    """``path.key``, the key (which may be the pack's own text) escaped and cut short."""
    return f"{path}.{printable(key)}" if path else printable(key)


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return quoted(value)


def yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, datetime):
        return "a datetime"
    if isinstance(value, date):
        return "a date"
    return kind_of(value)
