"""Every error keepfor raises on purpose, in one small tree.

    KeepforError                  base: one line, safe to show a user
    ├── RulePackError             a pack that does not load (file, rule, key, line, suggestion)
    ├── RecordError               a record that cannot be evaluated (file, record, field)
    ├── SourceError               a record source that cannot be read (config, table, column)
    └── UsageError                a bad argument on the command line or to the library

Each carries the place it is about, so a message can name the file, the rule and the
key; ``str(error)`` is the one-line message the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "KeepforError",
    "RecordError",
    "RulePackError",
    "SourceError",
    "UsageError",
    "did_you_mean",
    "quoted",
    "suggest",
]

QUOTE_LIMIT = 80
"""Characters of a value a message quotes before cutting it short."""


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a message, cut short: a message never carries a huge value."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} characters)"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        # repr() of a huge int is slow, and fails past Python's 4300-digit limit
        return f"<a number of about {int(value.bit_length() * 0.30103) + 1} digits>"
    text = repr(value) if not isinstance(value, (dict, list, tuple, set)) or _small(value) else ""
    if not text:
        size = len(value)  # type: ignore[arg-type]
        text = f"<{type(value).__name__} of {size} {'item' if size == 1 else 'items'}>"
    return text if len(text) <= limit + 2 else text[:limit] + "..."


def _small(value: object, budget: int = 50) -> bool:
    """True when a container holds few enough items to print (nested ones counted)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            budget -= len(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            budget -= len(item)
            stack.extend(item)
        if budget < 0:
            return False
    return True


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelt ``word``, if one is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    found = suggest(word, choices)
    return f" (did you mean '{found}'?)" if found else ""


class KeepforError(Exception):
    """Base of every error keepfor raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RulePackError(KeepforError):
    """A rule pack that does not load, with the place of the fault.

    ``key`` is a dotted path inside the rule (``retain.latest_of[1].for``) or inside
    the pack header when ``rule`` is None.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        rule: str | None = None,
        key: str | None = None,
        line: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.file = file
        self.rule = rule
        self.key = key
        self.line = line
        self.suggestion = suggestion
        self.detail = message
        super().__init__(self._render())

    def located(self, *, file: str | None = None, line: int | None = None) -> RulePackError:
        """The same error with the file (and line) filled in where it was not known."""
        return RulePackError(
            self.detail,
            file=self.file or file,
            rule=self.rule,
            key=self.key,
            line=self.line if self.line is not None else line,
            suggestion=self.suggestion,
        )

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.rule:
            where.append(f"rule '{self.rule}'")
        if self.key:
            where.append(f"key '{self.key}'")
        text = f"{', '.join(where)}: {self.detail}" if where else self.detail
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


class RecordError(KeepforError):
    """A record whose value cannot be used (a field that should be a date and is not)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.file = file
        self.record = record
        self.field = field
        self.rule = rule
        self.detail = message
        super().__init__(self._render())

    def located(self, *, file: str | None = None, record: str | None = None) -> RecordError:
        """The same error with the file or record key filled in where it was not known."""
        return RecordError(
            self.detail,
            file=self.file or file,
            record=self.record or record,
            field=self.field,
            rule=self.rule,
        )

    def _render(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"record '{self.record}'" if self.record else None,
                f"rule '{self.rule}'" if self.rule else None,
                f"field '{self.field}'" if self.field else None,
            )
            if part
        ]
        return f"{', '.join(where)}: {self.detail}" if where else self.detail


class SourceError(KeepforError):
    """A source of records that cannot be used: a bad config, a missing table or column,
    a database that does not answer. The message names the config file, the source,
    the table and the column where there is one; passwords are never shown."""


class UsageError(KeepforError):
    """A bad argument: an instant that does not parse, a path that does not exist."""
