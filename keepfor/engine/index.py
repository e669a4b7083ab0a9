"""Which rules a record can meet: the rules indexed by the value one field must equal.

A schedule of many record types (200 rules, a table holding four categories) tries
every rule on every record, though a record of category ``order`` can only meet the
rules that ask for ``category: order``. A rule whose condition on the indexed field the
record's value plainly fails neither matches the record nor finds any of its values
unreadable (:meth:`RetentionRule.unreadable_field` says None as soon as one condition
plainly fails), so leaving it out changes no decision. The field indexed is the one
most rules compare with a value other than true or false (with those, a value that is
no boolean is unreadable, not a plain failure: such rules are always tried).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keepfor.engine.rules import RetentionRule, RulePack

__all__ = ["RuleIndex"]

Entry = tuple[int, "RulePack", "RetentionRule"]
"""A rule with its pack and its place in load order."""

MIN_RULES = 8
"""Fewer rules than this are tried in turn: the index would save nothing."""

_MISSING = object()


class RuleIndex:
    """The rules of a rule set, in load order, as the candidates for each value."""

    __slots__ = ("_by_value", "_others", "entries", "field")

    def __init__(self, rules: Iterable[tuple[RulePack, RetentionRule]]) -> None:
        self.entries: tuple[Entry, ...] = tuple(
            (i, pack, rule) for i, (pack, rule) in enumerate(rules)
        )
        self.field = _field_to_index(rule for _, _, rule in self.entries)
        by_value: dict[Any, list[Entry]] = {}
        others: list[Entry] = []  # the rules tried whatever the value
        for entry in self.entries:
            expected = _expects(entry[2], self.field)
            if expected is _MISSING:
                others.append(entry)
                for entries in by_value.values():
                    entries.append(entry)
            else:
                by_value.setdefault(expected, list(others)).append(entry)
        self._by_value: Mapping[Any, tuple[Entry, ...]] = {
            value: tuple(entries) for value, entries in by_value.items()
        }
        self._others = tuple(others)

    def candidates(self, record: Mapping[str, Any]) -> Sequence[Entry]:
        """The rules that may match ``record`` or find a value of it unreadable, in load
        order; every other rule plainly fails to match it."""
        if self.field is None:
            return self.entries
        value = record.get(self.field, _MISSING)
        if value is _MISSING or isinstance(value, bool):
            return self._others  # no rule's value condition holds for it
        try:
            return self._by_value.get(value, self._others)
        except TypeError:  # an unhashable value (a list read from JSON): try them all
            return self.entries


def _expects(rule: RetentionRule, name: str | None) -> Any:
    """The value other than true or false that ``rule`` asks ``name`` to equal, or
    _MISSING where it asks for none (or for a boolean)."""
    if name is None:
        return _MISSING
    for field, expected in rule.conditions():
        if field == name and not isinstance(expected, bool):
            return expected
    return _MISSING


def _field_to_index(rules: Iterable[RetentionRule]) -> str | None:
    """The field most rules compare with a value other than a boolean; None where there
    are too few rules for an index to pay."""
    listed = list(rules)
    if len(listed) < MIN_RULES:
        return None
    asked: Counter[str] = Counter()
    for rule in listed:
        asked.update({name for name, value in rule.conditions() if not isinstance(value, bool)})
    if not asked:
        return None
    return asked.most_common(1)[0][0]
