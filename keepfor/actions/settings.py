"""What a source's config says about acting on it: where a flag goes, how each field is
anonymised, which child rows a purge takes with it, and the safety valve.

::

    [sources.orders]
    max_disposal_share = 0.2            # the safety valve (default 0.2)

    [sources.orders.flag]
    column = "retention_due_at"         # default: keepfor's own table, keepfor_flags

    [sources.orders.anonymise]          # column = strategy
    email = "hash"                      # keyed HMAC-SHA256 pseudonym, cut to the column
    name = "fixed:(removed)"
    phone = "null"
    notes = "truncate:20"
    country = "keep"

    [sources.orders.purge]
    children = ["order_lines.order_id"] # child table.column holding the record's key

Parsed once, here, for every kind of source; each strategy is checked against its
column's type, length and NOT NULL when the source is opened for a sweep, before
anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keepfor.errors import SourceError, did_you_mean, quoted

__all__ = [
    "ACTION_KEYS",
    "DEFAULT_MAX_DISPOSAL_SHARE",
    "ActionSettings",
    "Child",
    "Strategy",
    "StrategyKind",
    "parse_actions",
]

DEFAULT_MAX_DISPOSAL_SHARE = 0.2
"""Above this share of a source's records purged or anonymised in one run, nothing is done."""

ACTION_KEYS = ("max_disposal_share", "flag", "anonymise", "purge")
"""The keys of a source's section this module reads, whatever the source's kind."""


class StrategyKind(StrEnum):
    """How one field is anonymised."""

    NULL = "null"
    FIXED = "fixed"
    HASH = "hash"
    KEEP = "keep"
    TRUNCATE = "truncate"


@dataclass(frozen=True)
class Strategy:
    """One field's anonymisation: ``null``, ``fixed:TEXT``, ``hash``, ``keep`` or
    ``truncate:N``."""

    kind: StrategyKind
    text: str | None = None
    """The fixed text (``fixed``)."""
    length: int | None = None
    """Characters kept (``truncate``)."""

    @classmethod
    def parse(cls, spelt: str) -> Strategy:
        """A strategy from its config text; ValueError naming what is wrong."""
        name, colon, argument = spelt.partition(":")
        kinds = [k.value for k in StrategyKind]
        if name not in kinds:
            raise ValueError(f"unknown strategy {quoted(name)}{did_you_mean(name, kinds)}")
        kind = StrategyKind(name)
        if kind is StrategyKind.FIXED:
            if not colon:
                raise ValueError("'fixed' needs its text: fixed:TEXT")
            return cls(kind, text=argument)
        if kind is StrategyKind.TRUNCATE:
            if not argument.isdigit() or int(argument) < 1:
                raise ValueError("'truncate' needs a length of 1 or more: truncate:N")
            return cls(kind, length=int(argument))
        if colon:
            raise ValueError(f"'{name}' takes no argument")
        return cls(kind)

    def __str__(self) -> str:
        if self.kind is StrategyKind.FIXED:
            return f"fixed:{self.text}"
        if self.kind is StrategyKind.TRUNCATE:
            return f"truncate:{self.length}"
        return self.kind.value


@dataclass(frozen=True)
class Child:
    """Child rows a purge deletes with the record: ``table.column`` holding its key."""

    table: str
    column: str

    @classmethod
    def parse(cls, spelt: str) -> Child:
        table, dot, column = spelt.rpartition(".")
        if not dot or not table or not column:
            raise ValueError(f"{quoted(spelt)} is not table.column")
        return cls(table, column)

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class ActionSettings:
    """How a source is acted on (the defaults: flags in keepfor's table, no field
    anonymised, no child rows, the 20% valve)."""

    max_disposal_share: float = DEFAULT_MAX_DISPOSAL_SHARE
    flag_column: str | None = None
    anonymise: Mapping[str, Strategy] = field(default_factory=dict)
    children: tuple[Child, ...] = ()

    @property
    def rewrites(self) -> bool:
        """Whether an anonymise rewrites any field (one named with a strategy but ``keep``)."""
        return any(s.kind is not StrategyKind.KEEP for s in self.anonymise.values())

    def __post_init__(self) -> None:
        share = self.max_disposal_share
        if not (isinstance(share, int | float) and math.isfinite(share) and 0 <= share <= 1):
            raise ValueError("max_disposal_share must be a number from 0 to 1")


def parse_actions(where: str, body: Mapping[str, Any]) -> ActionSettings:
    """The action keys of one source's section; a one-line error naming the key."""
    try:
        return ActionSettings(
            max_disposal_share=_share(body.get("max_disposal_share")),
            flag_column=_flag_column(body.get("flag")),
            anonymise=_anonymise(body.get("anonymise")),
            children=_children(body.get("purge")),
        )
    except ValueError as error:
        raise SourceError(f"{where}: {error}") from None


def _share(value: Any) -> float:
    if value is None:
        return DEFAULT_MAX_DISPOSAL_SHARE
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"max_disposal_share must be a number from 0 to 1, not {quoted(value)}")
    return float(value)


def _table(name: str, value: Any, keys: tuple[str, ...] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"[{name}] must be a table")
    for key in value:
        if keys is not None and key not in keys:
            raise ValueError(f"{name}: unknown key {quoted(key)}{did_you_mean(key, keys)}")
    return value


def _flag_column(value: Any) -> str | None:
    if value is None:
        return None
    column = _table("flag", value, ("column",)).get("column")
    if column is not None and (not isinstance(column, str) or not column.strip()):
        raise ValueError(f"flag.column must be a column name, not {quoted(column)}")
    return column


def _anonymise(value: Any) -> dict[str, Strategy]:
    if value is None:
        return {}
    strategies: dict[str, Strategy] = {}
    for column, spelt in _table("anonymise", value, None).items():
        if not isinstance(spelt, str):
            raise ValueError(f"anonymise.{column} must be text such as 'hash', not {quoted(spelt)}")
        try:
            strategies[column] = Strategy.parse(spelt)
        except ValueError as error:
            raise ValueError(f"anonymise.{column}: {error}") from None
    return strategies


def _children(value: Any) -> tuple[Child, ...]:
    if value is None:
        return ()
    children = _table("purge", value, ("children",)).get("children", [])
    if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
        raise ValueError('purge.children must be a list of "table.column" texts')
    try:
        return tuple(Child.parse(c) for c in children)
    except ValueError as error:
        raise ValueError(f"purge.children: {error}") from None
