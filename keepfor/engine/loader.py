"""Loading rule packs: YAML -> validated :class:`RulePack`, all checks up front.

A pack is parsed and checked once; the values it gives are then evaluated many
times. Every fault is a :class:`keepfor.errors.RulePackError` that names the file,
the line, the rule id and the key, with a suggestion where one is obvious::

    rules/shop.yaml:14: rule 'orders-tax', key 'retain.from.end_of':
        unknown anchor kind 'finacial_year' (did you mean 'financial_year'?)

The language is described in ``docs/rules.md``; ``schema.json`` beside this module
is the same language as a JSON Schema, for editors. ``yaml_reader`` reads the file
(plain YAML only: no anchors, aliases or tags); this module checks what it holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from keepfor.engine.anchors import Anchor, EndOf, EndOfKind, FieldAnchor, MonthDay
from keepfor.engine.nodes import NodeChecker, join_key, kind_of, suggestion, yaml_type
from keepfor.engine.periods import Period
from keepfor.engine.rules import Action, Basis, Boundary, RetentionRule, RulePack, RuleSet, Scalar
from keepfor.engine.terms import EarliestOf, LatestOf, Retain, Term
from keepfor.engine.yaml_reader import printable, read_pack_file
from keepfor.errors import QUOTE_LIMIT, RulePackError, quoted

__all__ = ["PACK_SUFFIXES", "json_schema", "load_pack", "load_rules", "parse_pack"]

PACK_SUFFIXES = (".yaml", ".yml")

_PACK_KEYS = ("pack", "version", "description", "timezone", "financial_year_end", "rules")
_RULE_KEYS = (
    "id",
    "description",
    "source",
    "applies_to",
    "where",
    "financial_year_end",
    "retain",
    "boundary",
    "then",
    "basis",
)
_TERM_KINDS = ("from", "latest_of", "earliest_of")
MAX_TERM_DEPTH = 20
"""Levels of ``latest_of``/``earliest_of`` a rule may nest (evaluation recurses on them)."""
_ANCHOR_KEYS = ("end_of", "of")
_E = TypeVar("_E", Boundary, Action, Basis)


# -- the parser ------------------------------------------------------------------------


class _PackParser(NodeChecker):
    """Turns one pack's parsed YAML into a RulePack, raising at the first fault."""

    # pack

    def pack(self, data: Any) -> RulePack:
        if not isinstance(data, Mapping):
            self.fail(
                f"a rule pack is a mapping with 'pack', 'version' and 'rules', not {kind_of(data)}"
            )
        self.check_keys(data, _PACK_KEYS, "", "a pack")
        pack_id = self.identifier(data, "pack", self.require(data, "pack", "", "a pack"), "pack")
        version = self.text(data, "version", "version", self.require(data, "version", "", "a pack"))
        description = self.optional_text(data, "description", "description")
        timezone = self.timezone(data, self.require(data, "timezone", "", "a pack"))
        fy_end = MonthDay(3, 31)
        if data.get("financial_year_end") is not None:
            fy_end = self.month_day(data, "financial_year_end", "financial_year_end")
        rules_node = self.require(data, "rules", "", "a pack")
        if not isinstance(rules_node, list) or not rules_node:
            self.fail(
                "'rules' must be a non-empty list of rules", "rules", node=data, line_key="rules"
            )
        rules: list[RetentionRule] = []
        seen: dict[str, int] = {}
        for index, rule_node in enumerate(rules_node):
            rule = self.retention_rule(rule_node, index, fy_end)
            if rule.id in seen:
                self.rule = rule.id
                self.fail(
                    f"duplicate rule id (rule #{seen[rule.id] + 1} has it too)",
                    "id",
                    node=rule_node,
                    line_key="id",
                )
            seen[rule.id] = index
            rules.append(rule)
        self.rule = None
        return RulePack(
            id=pack_id,
            version=version,
            timezone=timezone,
            rules=tuple(rules),
            financial_year_end=fy_end,
            description=description,
            path=self.file,
        )

    # rule

    def retention_rule(self, node: Any, index: int, pack_fy_end: MonthDay) -> RetentionRule:
        self.rule = None
        if not isinstance(node, Mapping):
            at = f"rules[{index}]"
            self.fail(f"rule #{index + 1} must be a mapping, not {kind_of(node)}", at)
        raw_id = node.get("id")
        if isinstance(raw_id, str) and raw_id:
            self.rule = raw_id
        rule_id = self.identifier(
            node, "id", self.require(node, "id", "", f"rule #{index + 1}"), "id"
        )
        self.check_keys(node, _RULE_KEYS, "", "a rule")
        applies_to = self.conditions(node, "applies_to", required=True)
        where = self.conditions(node, "where", required=False)
        fy_override: MonthDay | None = None
        if node.get("financial_year_end") is not None:
            fy_override = self.month_day(node, "financial_year_end", "financial_year_end")
        term = self.term(
            self.require(node, "retain", "", "a rule"), "retain", fy_override or pack_fy_end
        )
        boundary = self.choice(node, "boundary", Boundary, default=Boundary.AFTER)
        action = self.choice(node, "then", Action, default=None)
        basis = self.choice(node, "basis", Basis, default=Basis.LEGITIMATE_INTEREST)
        rule = RetentionRule(
            id=rule_id,
            retain=term,
            applies_to=applies_to,
            where=where,
            boundary=boundary,
            action=action,
            basis=basis,
            description=self.optional_text(node, "description", "description"),
            source=self.optional_text(node, "source", "source"),
            financial_year_end=fy_override,
        )
        if fy_override is not None and not rule.uses_financial_year():
            self.fail(
                "financial_year_end is set but no anchor uses 'end_of: financial_year'",
                "financial_year_end",
                node=node,
                line_key="financial_year_end",
            )
        return rule

    def conditions(self, node: Mapping[str, Any], key: str, *, required: bool) -> dict[str, Scalar]:
        value = node.get(key)
        if value is None:
            if required:
                self.fail(f"a rule needs '{key}', e.g. {{category: order}}", key, node=node)
            return {}
        if not isinstance(value, Mapping) or (required and not value):
            self.fail(
                f"'{key}' must be a non-empty mapping of field: value, e.g. {{category: order}}",
                key,
                node=node,
                line_key=key,
            )
        out: dict[str, Scalar] = {}
        for name, expected in value.items():
            self.field_name(value, name, join_key(key, name))
            if isinstance(expected, (list, dict, set, tuple)) or not isinstance(
                expected, (str, int, float, bool, type(None))
            ):
                self.fail(
                    "equality conditions take text, a number, true/false or null, "
                    f"not {yaml_type(expected)} ({kind_of(expected)})"
                    + (' (quote a date: "2024-01-01")' if hasattr(expected, "isoformat") else ""),
                    join_key(key, name),
                    node=value,
                    line_key=name,
                )
            out[name] = expected
        return out

    # terms and anchors

    def term(self, node: Any, path: str, fy_end: MonthDay, depth: int = 1) -> Term:
        """A TERM; ``depth`` counts the ``latest_of``/``earliest_of`` levels around it."""
        kind = self.term_kind(node, path)
        if kind != "from" and depth > MAX_TERM_DEPTH:
            self.fail(f"terms nested more than {MAX_TERM_DEPTH} deep", path, node=node)
        allowed = ("from", "for", "optional") if kind == "from" else (kind, "optional")
        self.check_keys(node, allowed, path, f"a '{kind}' term")
        optional = node.get("optional", False)
        if not isinstance(optional, bool):
            self.fail(
                f"'optional' must be true or false, not {quoted(optional)}",
                join_key(path, "optional"),
                node=node,
                line_key="optional",
            )
        if kind == "from":
            anchor = self.anchor(node["from"], join_key(path, "from"), fy_end, node)
            period = self.period(
                self.require(node, "for", path, "a 'from' term"), join_key(path, "for"), node
            )
            return Retain(anchor, period, optional)
        parts_node = node[kind]
        if not isinstance(parts_node, list) or not parts_node:
            self.fail(
                f"'{kind}' must be a non-empty list of terms",
                join_key(path, kind),
                node=node,
                line_key=kind,
            )
        parts = tuple(
            self.term(part, f"{join_key(path, kind)}[{i}]", fy_end, depth + 1)
            for i, part in enumerate(parts_node)
        )
        return LatestOf(parts, optional) if kind == "latest_of" else EarliestOf(parts, optional)

    def term_kind(self, node: Any, path: str) -> str:
        """The one kind of a term (``from``, ``latest_of`` or ``earliest_of``)."""
        if not isinstance(node, Mapping):
            self.fail(
                f"a term is a mapping with one of {', '.join(_TERM_KINDS)}, not {kind_of(node)}",
                path,
            )
        kinds = [k for k in _TERM_KINDS if k in node]
        if len(kinds) == 1:
            return kinds[0]
        for key in node:
            if key not in (*_TERM_KINDS, "for", "optional"):
                self.fail(
                    f"unknown key '{printable(key)}' in a term",
                    join_key(path, key),
                    node=node,
                    line_key=key,
                    suggestion=suggestion(key, (*_TERM_KINDS, "for", "optional")),
                )
        found = f"found {', '.join(kinds)}" if kinds else "found none"
        self.fail(
            f"a term needs exactly one of {', '.join(_TERM_KINDS)} ({found})", path, node=node
        )

    def anchor(self, node: Any, path: str, fy_end: MonthDay, parent: Any) -> Anchor:
        if isinstance(node, str):
            return FieldAnchor(self.field_name(parent, node, path, line_key="from"))
        if not isinstance(node, Mapping):
            self.fail(
                f"an anchor is a field name or {{end_of: ..., of: FIELD}}, not {kind_of(node)}",
                path,
                node=parent,
                line_key="from",
            )
        self.check_keys(node, _ANCHOR_KEYS, path, "an anchor")
        kind_value = self.require(node, "end_of", path, "an anchor")
        kinds = [k.value for k in EndOfKind]
        if kind_value not in kinds:
            self.fail(
                f"unknown anchor kind {quoted(kind_value)}; one of {', '.join(kinds)}",
                join_key(path, "end_of"),
                node=node,
                line_key="end_of",
                suggestion=suggestion(kind_value, kinds),
            )
        field = self.field_name(
            node, self.require(node, "of", path, "an anchor"), join_key(path, "of"), line_key="of"
        )
        kind = EndOfKind(kind_value)
        return EndOf(kind, field, fy_end if kind is EndOfKind.FINANCIAL_YEAR else None)

    def period(self, value: Any, path: str, node: Any) -> Period:
        """A PERIOD; a value too long to be one is quoted short, not in full."""
        if not isinstance(value, str):
            self.fail(
                f"a period is an ISO 8601 duration string such as 'P6Y', not {kind_of(value)}",
                path,
                node=node,
                line_key="for",
            )
        if len(value) > QUOTE_LIMIT:  # Period.parse would quote all of it
            self.fail(
                f"period {quoted(value)} is not an ISO 8601 duration such as 'P6Y'",
                path,
                node=node,
                line_key="for",
            )
        try:
            return Period.parse(value)
        except ValueError as error:
            self.fail(str(error), path, node=node, line_key="for")


# -- public entry points ---------------------------------------------------------------


def parse_pack(data: Any, *, file: str | None = None) -> RulePack:
    """A validated pack from already-parsed data (a mapping, as YAML or JSON gives it)."""
    return _PackParser(file).pack(data)


def load_pack(path: str | Path) -> RulePack:
    """Read and validate one YAML pack file."""
    return parse_pack(read_pack_file(path), file=str(path))


def pack_files(path: str | Path) -> list[Path]:
    """The pack files a path names: the file itself, or a folder's YAML files in order."""
    root = Path(path)
    try:
        if root.is_dir():
            files = sorted(p for p in root.iterdir() if p.suffix in PACK_SUFFIXES and p.is_file())
            if not files:
                raise RulePackError("folder holds no rule packs (*.yaml, *.yml)", file=str(root))
            return files
        if not root.exists():
            raise RulePackError("no such file or folder", file=str(root))
    except OSError as error:  # a name too long, a folder that cannot be listed
        raise RulePackError(f"cannot read: {error.strerror or error}", file=str(root)) from None
    return [root]


def load_rules(*paths: str | Path | Iterable[str | Path]) -> RuleSet:
    """Load every pack that the paths name (files or folders) as one :class:`RuleSet`.

    Pack ids must be unique across what is loaded together.
    """
    flat: list[str | Path] = []
    for item in paths:
        if isinstance(item, (str, Path)):
            flat.append(item)
        else:
            flat.extend(item)
    if not flat:
        raise RulePackError("no rule packs given")
    packs: list[RulePack] = []
    seen: dict[str, str | None] = {}
    files: dict[Path, Path] = {}
    for path in flat:
        for file in pack_files(path):
            files.setdefault(file.resolve(), file)  # a file named twice is loaded once
    for file in files.values():
        pack = load_pack(file)
        if pack.id in seen:
            raise RulePackError(
                f"pack id '{printable(pack.id)}' is loaded twice (also in {seen[pack.id]})",
                file=str(file),
                key="pack",
            )
        seen[pack.id] = pack.path
        packs.append(pack)
    return RuleSet(tuple(packs))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule pack, as shipped in the package."""
    from importlib import resources  # only here: importing it costs every command start-up

    text = resources.files("keepfor.engine").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
