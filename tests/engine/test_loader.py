"""The loader: every bad input gives one RulePackError naming the file, line, rule and key.

Each bad pack is a small edit of ``VALID``, whose lines are::

    1 pack  2 version  3 timezone  4 rules  5 - id  6 applies_to  7 retain  8 from  9 for  10 then
"""

from __future__ import annotations

import itertools
import tempfile
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepfor.engine import (
    Basis,
    Boundary,
    EndOf,
    EndOfKind,
    FieldAnchor,
    LatestOf,
    MonthDay,
    Period,
    Retain,
    evaluate,
    load_pack,
    load_rules,
    parse_pack,
)
from keepfor.engine.loader import pack_files
from keepfor.engine.rules import Action
from keepfor.engine.yaml_reader import MAX_PACK_BYTES
from keepfor.errors import RulePackError

PACKS = Path(__file__).parent / "packs"

VALID = """\
pack: shop
version: "2026.1"
timezone: Europe/London
rules:
  - id: orders
    applies_to: {category: order}
    retain:
      from: placed_at
      for: P6Y
    then: purge
"""

SECOND_RULE = """\
  - id: orders
    applies_to: {category: invoice}
    retain: {from: issued_at, for: P6Y}
    then: purge
"""


def edit(old: str, new: str, text: str = VALID) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} is not in the text exactly once"
    return text.replace(old, new)


def with_fy(value: str) -> str:
    """VALID with a pack-level ``financial_year_end`` on line 4."""
    return edit(
        "timezone: Europe/London\n", f"timezone: Europe/London\nfinancial_year_end: {value}\n"
    )


def with_retain(body: str) -> str:
    """VALID with the rule's ``retain`` (lines 7-9) replaced by ``body`` on line 7."""
    return edit("    retain:\n      from: placed_at\n      for: P6Y\n", f"    retain: {body}\n")


def with_description(value: str) -> str:
    """VALID with ``description: VALUE`` as the rule's last key, on line 11."""
    return edit("    then: purge\n", f"    then: purge\n    description: {value}\n")


def nested_terms(depth: int) -> str:
    """A flow term: ``depth`` levels of ``latest_of`` around one ``from`` term."""
    term = "{from: placed_at, for: P1Y}"
    for _ in range(depth):
        term = f"{{latest_of: [{term}]}}"
    return term


def alias_bomb(levels: int) -> str:
    """A "billion laughs": a flow list of ``levels`` lists of aliases, 9**levels items if
    expanded, in a few hundred bytes."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lists = ["&a [x, x, x, x, x, x, x, x, x]"]
    lists += [f"&{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in itertools.pairwise(names)]
    return f"[{', '.join(lists)}]"


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Bad:
    """A pack text and the error the loader must give for it."""

    text: str
    message: str
    key: str | None = None
    rule: str | None = None
    line: int | None = None
    suggestion: str | None = None


def bad(id_: str, text: str, message: str, **fields: object) -> object:
    return pytest.param(Bad(text, message, **fields), id=id_)  # type: ignore[arg-type]


BAD = [
    # -- the file as a whole
    bad("not-yaml", "pack: [shop\n", "not valid YAML", line=2),
    bad("tab-indent", "pack: shop\n\tversion: 1\n", "not valid YAML", line=2),
    bad(
        "empty-file", "", "a rule pack is a mapping with 'pack', 'version' and 'rules', not nothing"
    ),
    bad("a-list", "- pack: shop\n", "a rule pack is a mapping", line=None),
    bad("a-scalar", "just text\n", "not 'just text'"),
    bad("non-text-key", edit("pack: shop\n", "pack: shop\n1: x\n"), "key 1 is not text", line=2),
    bad(
        "duplicate-yaml-key",
        VALID + "    then: flag\n",
        "key 'then' appears twice in one mapping",
        key="then",
        rule="orders",
        line=11,
    ),
    # -- pack header
    bad(
        "unknown-pack-key",
        edit("rules:", "rule:"),
        "unknown key 'rule' in a pack; allowed: pack, version",
        key="rule",
        line=4,
        suggestion="rules",
    ),
    bad("missing-pack", edit("pack: shop\n", ""), "a pack needs 'pack'", key="pack", line=1),
    bad("null-pack", edit("pack: shop\n", "pack:\n"), "a pack needs 'pack'", key="pack", line=1),
    bad(
        "missing-version",
        edit('version: "2026.1"\n', ""),
        "a pack needs 'version'",
        key="version",
        line=1,
    ),
    bad(
        "missing-timezone",
        edit("timezone: Europe/London\n", ""),
        "a pack needs 'timezone'",
        key="timezone",
        line=1,
    ),
    bad(
        "timezone-empty-text",
        edit("timezone: Europe/London", 'timezone: ""'),
        "a pack needs 'timezone'",
        key="timezone",
        line=3,
    ),
    bad(
        "timezone-no-value",
        edit("timezone: Europe/London", "timezone:"),
        "a pack needs 'timezone'",
        key="timezone",
        line=3,
    ),
    bad(
        "missing-rules",
        "pack: shop\nversion: '1'\ntimezone: UTC\n",
        "a pack needs 'rules'",
        key="rules",
        line=1,
    ),
    bad(
        "version-unquoted-number",
        edit('version: "2026.1"', "version: 2026.1"),
        "'version' must be text, not 2026.1 (quote it",
        key="version",
        line=2,
    ),
    bad(
        "version-blank",
        edit('version: "2026.1"', 'version: "  "'),
        "'version' must be text",
        key="version",
        line=2,
    ),
    bad(
        "pack-id-capitals",
        edit("pack: shop", "pack: Shop_1"),
        "'Shop_1' is not an identifier: lower-case letters, digits and hyphens",
        key="pack",
        line=1,
    ),
    bad(
        "pack-id-empty",
        edit("pack: shop", 'pack: ""'),
        "a pack needs 'pack'",
        key="pack",
        line=1,
    ),
    bad(
        "timezone-misspelt",
        edit("Europe/London", "Europe/Londn"),
        "unknown IANA time zone 'Europe/Londn'",
        key="timezone",
        line=3,
        suggestion="Europe/London",
    ),
    bad(
        "timezone-abbreviation",
        edit("Europe/London", "BST"),
        "unknown IANA time zone 'BST': give a zone name such as 'Europe/London', "
        "not an abbreviation",
        key="timezone",
        line=3,
    ),
    bad(
        "fy-one-digit-month",
        with_fy('"3-31"'),
        "'3-31' is not MM-DD",
        key="financial_year_end",
        line=4,
    ),
    bad(
        "fy-feb-29",
        with_fy('"02-29"'),
        "02-29 is not a day every year has",
        key="financial_year_end",
        line=4,
    ),
    bad(
        "fy-month-13",
        with_fy('"13-01"'),
        "month 13 is not between 01 and 12",
        key="financial_year_end",
        line=4,
    ),
    bad(
        "fy-april-31",
        with_fy('"04-31"'),
        "day 31 does not exist in month 04",
        key="financial_year_end",
        line=4,
    ),
    bad(
        "fy-unquoted-number",
        with_fy("0331"),
        "YAML read the unquoted value as a number: quote it",
        key="financial_year_end",
        line=4,
    ),
    bad(
        "fy-unquoted-date",
        with_fy("2024-03-31"),
        '2024-03-31 is not MM-DD; YAML read the unquoted value as a date: quote it, e.g. "03-31"',
        key="financial_year_end",
        line=4,
    ),
    # -- the rules list
    bad(
        "rules-empty",
        "pack: shop\nversion: '1'\ntimezone: UTC\nrules: []\n",
        "'rules' must be a non-empty list of rules",
        key="rules",
        line=4,
    ),
    bad(
        "rules-a-mapping",
        "pack: shop\nversion: '1'\ntimezone: UTC\nrules: {id: orders}\n",
        "'rules' must be a non-empty list of rules",
        key="rules",
        line=4,
    ),
    bad(
        "rule-not-a-mapping",
        "pack: shop\nversion: '1'\ntimezone: UTC\nrules:\n  - orders\n",
        "rule #1 must be a mapping, not 'orders'",
        key="rules[0]",
    ),
    bad(
        "second-rule-not-a-mapping",
        VALID + "  - [orders]\n",
        "rule #2 must be a mapping, not a list",
        key="rules[1]",
    ),
    bad(
        "missing-id",
        edit("  - id: orders\n    applies_to", "  - applies_to"),
        "rule #1 needs 'id'",
        key="id",
        line=5,
    ),
    bad(
        "rule-id-empty",
        edit("id: orders", 'id: ""'),
        "rule #1 needs 'id'",
        key="id",
        rule=None,
        line=5,
    ),
    bad(
        "rule-id-underscore",
        edit("id: orders", "id: orders_tax"),
        "'orders_tax' is not an identifier",
        key="id",
        rule="orders_tax",
        line=5,
    ),
    bad(
        "rule-id-number", edit("id: orders", "id: 7"), "'id' must be text, not 7", key="id", line=5
    ),
    bad(
        "duplicate-rule-ids",
        VALID + SECOND_RULE,
        "duplicate rule id (rule #1 has it too)",
        key="id",
        rule="orders",
        line=11,
    ),
    # -- rule keys and conditions
    bad(
        "unknown-rule-key",
        edit("applies_to:", "applies-to:"),
        "unknown key 'applies-to' in a rule",
        key="applies-to",
        rule="orders",
        line=6,
        suggestion="applies_to",
    ),
    bad(
        "missing-applies-to",
        edit("    applies_to: {category: order}\n", ""),
        "a rule needs 'applies_to', e.g. {category: order}",
        key="applies_to",
        rule="orders",
        line=5,
    ),
    bad(
        "empty-applies-to",
        edit("{category: order}", "{}"),
        "'applies_to' must be a non-empty mapping of field: value",
        key="applies_to",
        rule="orders",
        line=6,
    ),
    bad(
        "applies-to-a-list",
        edit("{category: order}", "[order]"),
        "'applies_to' must be a non-empty mapping",
        key="applies_to",
        rule="orders",
        line=6,
    ),
    bad(
        "condition-a-list",
        edit("{category: order}", "{category: [order, quote]}"),
        "equality conditions take text, a number, true/false or null, not a list",
        key="applies_to.category",
        rule="orders",
        line=6,
    ),
    bad(
        "condition-a-mapping",
        edit("{category: order}", "{category: {in: order}}"),
        "not a mapping",
        key="applies_to.category",
        rule="orders",
        line=6,
    ),
    bad(
        "condition-unquoted-date",
        edit("{category: order}", "{category: order, created: 2024-01-01}"),
        'not a date (2024-01-01) (quote a date: "2024-01-01")',
        key="applies_to.created",
        rule="orders",
        line=6,
    ),
    bad(
        "condition-bad-field-name",
        edit("{category: order}", "{1category: order}"),
        "'1category' is not a field name (letters, digits and '_', not starting with a digit)",
        key="applies_to.1category",
        rule="orders",
        line=6,
    ),
    bad(
        "where-a-list-value",
        edit("    then: purge\n", "    where: {accepted: [true]}\n    then: purge\n"),
        "equality conditions take",
        key="where.accepted",
        rule="orders",
        line=10,
    ),
    bad(
        "where-not-a-mapping",
        edit("    then: purge\n", "    where: accepted\n    then: purge\n"),
        "'where' must be a non-empty mapping",
        key="where",
        rule="orders",
        line=10,
    ),
    bad(
        "description-not-text",
        edit("    then: purge\n", "    then: purge\n    description: 5\n"),
        "'description' must be text, not 5",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "source-blank",
        edit("    then: purge\n", '    then: purge\n    source: " "\n'),
        "'source' must be text",
        key="source",
        rule="orders",
        line=11,
    ),
    # -- terms
    bad(
        "missing-retain",
        edit("    retain:\n      from: placed_at\n      for: P6Y\n", ""),
        "a rule needs 'retain'",
        key="retain",
        rule="orders",
        line=5,
    ),
    bad(
        "retain-a-period",
        with_retain("P6Y"),
        "a term is a mapping with one of from, latest_of, earliest_of, not 'P6Y'",
        key="retain",
        rule="orders",
    ),
    bad(
        "term-with-no-kind",
        with_retain("{for: P6Y}"),
        "a term needs exactly one of from, latest_of, earliest_of (found none)",
        key="retain",
        rule="orders",
        line=7,
    ),
    bad(
        "term-with-two-kinds",
        with_retain("{from: placed_at, for: P6Y, latest_of: [{from: paid_at, for: P1Y}]}"),
        "a term needs exactly one of from, latest_of, earliest_of (found from, latest_of)",
        key="retain",
        rule="orders",
        line=7,
    ),
    bad(
        "term-key-misspelt-no-kind",
        with_retain("{form: placed_at, for: P6Y}"),
        "unknown key 'form' in a term",
        key="retain.form",
        rule="orders",
        line=7,
        suggestion="for",  # difflib: "for" is the closer of the allowed keys,
    ),
    bad(
        "term-key-misspelt",
        edit("      for: P6Y\n", "      for: P6Y\n      optinal: true\n"),
        "unknown key 'optinal' in a 'from' term; allowed: from, for, optional",
        key="retain.optinal",
        rule="orders",
        line=10,
        suggestion="optional",
    ),
    bad(
        "for-in-a-latest-of",
        with_retain("{latest_of: [{from: placed_at, for: P1Y}], for: P6Y}"),
        "unknown key 'for' in a 'latest_of' term; allowed: latest_of, optional",
        key="retain.for",
        rule="orders",
        line=7,
    ),
    bad(
        "for-missing",
        edit("      for: P6Y\n", ""),
        "a 'from' term needs 'for'",
        key="retain.for",
        rule="orders",
        line=8,
    ),
    bad(
        "latest-of-empty",
        with_retain("{latest_of: []}"),
        "'latest_of' must be a non-empty list of terms",
        key="retain.latest_of",
        rule="orders",
        line=7,
    ),
    bad(
        "earliest-of-not-a-list",
        with_retain("{earliest_of: {from: placed_at, for: P1Y}}"),
        "'earliest_of' must be a non-empty list of terms",
        key="retain.earliest_of",
        rule="orders",
        line=7,
    ),
    bad(
        "optional-not-bool",
        edit("      for: P6Y\n", '      for: P6Y\n      optional: "true"\n'),
        "'optional' must be true or false, not 'true'",
        key="retain.optional",
        rule="orders",
        line=10,
    ),
    bad(
        "nested-bad-period",
        with_retain("{latest_of: [{from: placed_at, for: P1Y}, {from: paid_at, for: 1Y}]}"),
        "period '1Y' is not an ISO 8601 duration",
        key="retain.latest_of[1].for",
        rule="orders",
        line=7,
    ),
    # -- periods
    bad(
        "period-negative",
        edit("for: P6Y", "for: -P6Y"),
        "period '-P6Y' is negative; retention periods run forwards",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-words",
        edit("for: P6Y", "for: 6 years"),
        "period '6 years' is not an ISO 8601 duration such as 'P6Y'",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-bare-p",
        edit("for: P6Y", "for: P"),
        "period 'P' is not an ISO 8601 duration",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-lower-case",
        edit("for: P6Y", "for: p6y"),
        "period 'p6y' is not an ISO 8601 duration",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-out-of-order",
        edit("for: P6Y", "for: P6M1Y"),
        "is not an ISO 8601 duration",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-time-part",
        edit("for: P6Y", "for: PT12H"),
        "period 'PT12H' has a time part; retention periods are whole days or longer",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    bad(
        "period-a-number",
        edit("for: P6Y", "for: 6"),
        "a period is an ISO 8601 duration string such as 'P6Y', not 6",
        key="retain.for",
        rule="orders",
        line=9,
    ),
    # -- anchors
    bad(
        "anchor-kind-misspelt",
        edit("from: placed_at", "from: {end_of: finacial_year, of: placed_at}"),
        "unknown anchor kind 'finacial_year'; one of financial_year, calendar_year, month",
        key="retain.from.end_of",
        rule="orders",
        line=8,
        suggestion="financial_year",
    ),
    bad(
        "anchor-unknown-key",
        edit("from: placed_at", "from: {end_of: month, off: placed_at}"),
        "unknown key 'off' in an anchor; allowed: end_of, of",
        key="retain.from.off",
        rule="orders",
        line=8,
        suggestion="of",
    ),
    bad(
        "anchor-missing-of",
        edit("from: placed_at", "from: {end_of: month}"),
        "an anchor needs 'of'",
        key="retain.from.of",
        rule="orders",
        line=8,
    ),
    bad(
        "anchor-missing-end-of",
        edit("from: placed_at", "from: {of: placed_at}"),
        "an anchor needs 'end_of'",
        key="retain.from.end_of",
        rule="orders",
        line=8,
    ),
    bad(
        "anchor-bad-field-name",
        edit("from: placed_at", "from: placed-at"),
        "'placed-at' is not a field name",
        key="retain.from",
        rule="orders",
        line=8,
    ),
    bad(
        "anchor-of-bad-field-name",
        edit("from: placed_at", "from: {end_of: month, of: 2placed}"),
        "'2placed' is not a field name",
        key="retain.from.of",
        rule="orders",
        line=8,
    ),
    bad(
        "anchor-a-list",
        edit("from: placed_at", "from: [placed_at]"),
        "an anchor is a field name or {end_of: ..., of: FIELD}, not a list",
        key="retain.from",
        rule="orders",
        line=8,
    ),
    bad(
        "anchor-null",
        edit("from: placed_at", "from:"),
        "an anchor is a field name or {end_of: ..., of: FIELD}, not nothing",
        key="retain.from",
        rule="orders",
        line=8,
    ),
    # -- boundary and then
    bad(
        "boundary-misspelt",
        edit("    then: purge\n", "    boundary: aftre\n    then: purge\n"),
        "'aftre' is not one of after, on",
        key="boundary",
        rule="orders",
        line=10,
        suggestion="after",
    ),
    bad(
        "boundary-off",
        edit("    then: purge\n", "    boundary: off\n    then: purge\n"),
        "'off' is not one of after, on",
        key="boundary",
        rule="orders",
        line=10,
    ),
    bad(
        "boundary-true",
        edit("    then: purge\n", "    boundary: true\n    then: purge\n"),
        "'true' is not one of after, on",
        key="boundary",
        rule="orders",
        line=10,
    ),
    bad(
        "missing-then",
        edit("    then: purge\n", ""),
        "a rule needs 'then': one of flag, review, anonymise, archive, purge",
        key="then",
        rule="orders",
        line=5,
    ),
    bad(
        "then-american-spelling",
        edit("then: purge", "then: anonymize"),
        "'anonymize' is not one of flag, review, anonymise, archive, purge",
        key="then",
        rule="orders",
        line=10,
        suggestion="anonymise",
    ),
    bad(
        "then-delete",
        edit("then: purge", "then: delete"),
        "'delete' is not one of flag, review, anonymise, archive, purge",
        key="then",
        rule="orders",
        line=10,
    ),
    # -- basis
    bad(
        "basis-misspelt",
        edit("    then: purge\n", "    then: purge\n    basis: legal_obligaton\n"),
        "'legal_obligaton' is not one of legal_obligation, contract, consent, "
        "legitimate_interest, vital_interests, public_task",
        key="basis",
        rule="orders",
        line=11,
        suggestion="legal_obligation",
    ),
    bad(
        "basis-american-spelling",
        edit("    then: purge\n", "    basis: legitimate_interests\n    then: purge\n"),
        "'legitimate_interests' is not one of legal_obligation",
        key="basis",
        rule="orders",
        line=10,
        suggestion="legitimate_interest",
    ),
    bad(
        "basis-a-list",
        edit("    then: purge\n", "    then: purge\n    basis: [consent]\n"),
        "['consent'] is not one of legal_obligation",
        key="basis",
        rule="orders",
        line=11,
    ),
    bad(
        "basis-true",
        edit("    then: purge\n", "    then: purge\n    basis: yes\n"),
        "'yes' is not one of legal_obligation",
        key="basis",
        rule="orders",
        line=11,
    ),
    # -- rule-level financial_year_end
    bad(
        "rule-fy-without-fy-anchor",
        edit("    then: purge\n", '    then: purge\n    financial_year_end: "04-05"\n'),
        "financial_year_end is set but no anchor uses 'end_of: financial_year'",
        key="financial_year_end",
        rule="orders",
        line=11,
    ),
    bad(
        "rule-fy-malformed",
        edit("    then: purge\n", '    then: purge\n    financial_year_end: "4-5"\n'),
        "'4-5' is not MM-DD",
        key="financial_year_end",
        rule="orders",
        line=11,
    ),
    # -- messages stay on one line whatever the input
    bad(
        "newline-in-key",
        edit("    then: purge\n", '    then: purge\n    "a\\nb": 1\n'),
        "unknown key 'a\\nb' in a rule",
        key="a\\nb",
        rule="orders",
        line=11,
    ),
    bad(
        "newline-in-rule-id",
        edit("id: orders", 'id: "a\\nb"'),
        "is not an identifier",
        key="id",
        rule="a\\nb",
        line=5,
    ),
    # -- hostile YAML (a security probe): refused with a line, never constructed
    bad(
        "alias-bomb",
        with_description(alias_bomb(5)),
        "YAML anchors and aliases (&a) are not allowed in a rule pack",
        line=11,
    ),
    bad(
        "an-anchor",
        edit("{category: order}", "&shared {category: order}"),
        "YAML anchors and aliases (&shared) are not allowed",
        line=6,
    ),
    bad(
        "an-alias",
        edit("then: purge", "then: *action"),
        "YAML anchors and aliases (*action) are not allowed",
        line=10,
    ),
    bad("tag-int", with_description("!!int x"), "YAML tags (!!int) are not allowed", line=11),
    bad(
        "tag-timestamp",
        with_description("!!timestamp x"),
        "YAML tags (!!timestamp) are not allowed",
        line=11,
    ),
    bad(
        "tag-python-object",
        with_description("!!python/object:os.system echo"),
        "YAML tags (!!python/object:os.system) are not allowed",
        line=11,
    ),
    bad(
        "tag-python-name-as-key",
        edit("pack: shop", "!!python/name:os.system x: 1\npack: shop"),
        "YAML tags (!!python/name:os.system) are not allowed",
        line=1,
    ),
    bad("tag-str", with_description("!!str text"), "YAML tags (!!str) are not allowed", line=11),
    bad(
        "tag-local", with_description("!shout text"), "YAML tags (!shout) are not allowed", line=11
    ),
    bad("tag-bare", with_description("! text"), "YAML tags (!) are not allowed", line=11),
    bad(
        "impossible-date",
        with_description("2024-02-30"),
        "'2024-02-30' is not a real date or time; YAML reads an unquoted date as a date: "
        "quote it if it is text",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "impossible-date-in-a-condition",
        edit("{category: order}", "{category: order, created: 2023-02-29}"),
        "'2023-02-29' is not a real date",
        key="applies_to.created",
        rule="orders",
        line=6,
    ),
    bad(
        "impossible-date-in-the-header",
        edit('version: "2026.1"', "version: 2026-13-01"),
        "'2026-13-01' is not a real date",
        key="version",
        line=2,
    ),
    bad(
        "impossible-date-in-a-list",
        with_retain("{latest_of: [{from: placed_at, for: 2024-04-31}]}"),
        "'2024-04-31' is not a real date",
        key="retain.latest_of[0].for",
        rule="orders",
        line=7,
    ),
    bad(
        "impossible-date-in-a-rule-without-id",
        edit("  - id: orders\n    applies_to", "  - description: 2024-02-30\n    applies_to"),
        "'2024-02-30' is not a real date",
        key="rules[0].description",
        line=5,
    ),
    bad(
        "impossible-utc-offset",
        with_description("2024-01-01 10:00:00 +99:00"),
        "'2024-01-01 10:00:00 +99:00' is not a real date or time",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "5000-digit-integer",
        with_description("9" * 5000),
        "a number of 5000 characters is too long for a rule pack",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "5000-digit-hex-integer",
        with_description("0x" + "f" * 5000),
        "a number of 5002 characters is too long",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "long-sexagesimal-integer",
        with_description(":".join(["59"] * 2000)),
        "a number of 5999 characters is too long",
        key="description",
        rule="orders",
        line=11,
    ),
    bad(
        "latest-of-200-deep",
        with_retain(nested_terms(200)),
        "nested more than 64 levels deep",
        line=7,
    ),
    bad(
        "terms-21-deep",
        with_retain(nested_terms(21)),
        "terms nested more than 20 deep",
        key="retain" + ".latest_of[0]" * 20,
        rule="orders",
        line=7,
    ),
    bad(
        "lone-surrogate",
        edit('version: "2026.1"', 'version: "2026\\ud800"'),
        "text holds \\ud800, a lone surrogate",
        key="version",
        line=2,
    ),
    bad(
        "merge-key-is-a-plain-key",
        edit("{category: order}", "{<<: {category: order}}"),
        "'<<' is not a field name",
        key="applies_to.<<",
        rule="orders",
        line=6,
    ),
    bad(
        "value-key-is-plain-text",
        edit("then: purge", "then: ="),
        "'=' is not one of flag, review, anonymise, archive, purge",
        key="then",
        rule="orders",
        line=10,
    ),
    bad(
        "two-documents",
        VALID + "---\n" + VALID,
        "not valid YAML: expected a single document",
        line=11,
    ),
    bad(
        "not-printable",
        edit("pack: shop", "pack: sh\x07op"),
        "not valid YAML: unacceptable character #x0007: special characters are not allowed",
        line=1,
    ),
]


@pytest.mark.parametrize("case", BAD)
def test_a_bad_pack_names_file_line_rule_key_and_suggestion(tmp_path: Path, case: Bad) -> None:
    path = write(tmp_path, case.text)
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    error = info.value
    assert case.message in error.detail
    assert (error.file, error.line, error.rule, error.key, error.suggestion) == (
        str(path),
        case.line,
        case.rule,
        case.key,
        case.suggestion,
    )
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    assert text.startswith(str(path))
    assert case.message in text


def test_the_message_format(tmp_path: Path) -> None:
    path = write(tmp_path, edit("from: placed_at", "from: {end_of: finacial_year, of: placed_at}"))
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert str(info.value) == (
        f"{path}:8, rule 'orders', key 'retain.from.end_of': unknown anchor kind "
        "'finacial_year'; one of financial_year, calendar_year, month "
        "(did you mean 'financial_year'?)"
    )


def test_a_header_error_names_no_rule(tmp_path: Path) -> None:
    path = write(tmp_path, edit("Europe/London", "Europe/Londn"))
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert str(info.value) == (
        f"{path}:3, key 'timezone': unknown IANA time zone 'Europe/Londn' "
        "(did you mean 'Europe/London'?)"
    )


# -- files and folders -------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert (info.value.file, info.value.detail) == (str(path), "no such file")


def test_missing_path_given_to_load_rules(tmp_path: Path) -> None:
    path = tmp_path / "nope"
    with pytest.raises(RulePackError) as info:
        load_rules(path)
    assert (info.value.file, info.value.detail) == (str(path), "no such file or folder")


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a pack")
    with pytest.raises(RulePackError) as info:
        load_rules(tmp_path)
    assert info.value.file == str(tmp_path)
    assert info.value.detail == "folder holds no rule packs (*.yaml, *.yml)"


def test_no_paths() -> None:
    with pytest.raises(RulePackError, match="no rule packs given"):
        load_rules()


def test_duplicate_pack_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    second = write(tmp_path, VALID, "b.yaml")
    with pytest.raises(RulePackError) as info:
        load_rules(tmp_path)
    error = info.value
    assert (error.file, error.key, error.rule) == (str(second), "pack", None)
    assert error.detail == f"pack id 'shop' is loaded twice (also in {first})"
    assert "\n" not in str(error)


def test_duplicate_pack_ids_across_paths(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    other = tmp_path / "other"
    other.mkdir()
    second = write(other, VALID, "shop.yml")
    with pytest.raises(RulePackError) as info:
        load_rules(first, [other])
    assert info.value.file == str(second)
    assert "loaded twice" in info.value.detail


def test_a_bad_pack_in_a_folder_names_its_file(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    broken = write(tmp_path, edit("then: purge", "then: delete"), "b.yaml")
    with pytest.raises(RulePackError) as info:
        load_rules(tmp_path)
    assert info.value.file == str(broken)


def test_a_folder_loads_in_file_name_order(tmp_path: Path) -> None:
    for name, pack_id in [("2-b.yaml", "alpha"), ("1-a.yml", "zulu"), ("3-c.yaml", "mike")]:
        write(tmp_path, edit("pack: shop", f"pack: {pack_id}"), name)
    write(tmp_path, "not: a pack", "notes.txt")
    (tmp_path / "sub.yaml").mkdir()  # a folder named like a pack is not read
    rules = load_rules(tmp_path)
    assert [pack.id for pack in rules.packs] == ["zulu", "alpha", "mike"]
    assert [Path(p).name for p in pack_files(tmp_path)] == ["1-a.yml", "2-b.yaml", "3-c.yaml"]
    assert len(rules) == 3


def test_paths_load_in_the_order_given(tmp_path: Path) -> None:
    b = write(tmp_path, edit("pack: shop", "pack: bravo"), "b.yaml")
    a = write(tmp_path, edit("pack: shop", "pack: alpha"), "a.yaml")
    assert [pack.id for pack in load_rules(b, a).packs] == ["bravo", "alpha"]
    assert [pack.id for pack in load_rules([str(b), str(a)]).packs] == ["bravo", "alpha"]


# -- what a good pack gives ----------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, VALID))
    assert pack.path == str(tmp_path / "pack.yaml")
    assert pack.financial_year_end == MonthDay(3, 31)
    assert pack.description is None
    (rule,) = pack.rules
    assert rule.boundary is Boundary.AFTER
    assert rule.action is Action.PURGE
    assert rule.where == {}
    assert rule.financial_year_end is None
    assert (rule.description, rule.source) == (None, None)
    assert rule.retain == Retain(FieldAnchor("placed_at"), Period(years=6))
    assert rule.retain.optional is False


def test_financial_year_end_default_is_03_31(tmp_path: Path) -> None:
    pack = load_pack(
        write(tmp_path, edit("from: placed_at", "from: {end_of: financial_year, of: placed_at}"))
    )
    anchor = pack.rules[0].retain.anchor  # type: ignore[attr-defined]
    assert anchor == EndOf(EndOfKind.FINANCIAL_YEAR, "placed_at", MonthDay(3, 31))
    assert anchor.anchor_date(date(2019, 4, 2)) == date(2020, 3, 31)


def test_rule_financial_year_end_overrides_the_packs(tmp_path: Path) -> None:
    text = edit(
        "from: placed_at", "from: {end_of: financial_year, of: placed_at}", with_fy('"12-31"')
    )
    text += """\
  - id: payroll
    applies_to: {category: payroll}
    financial_year_end: "04-05"
    retain:
      latest_of:
        - {from: {end_of: financial_year, of: paid_at}, for: P3Y}
        - {from: {end_of: month, of: paid_at}, for: P1Y, optional: true}
    then: purge
"""
    pack = load_pack(write(tmp_path, text))
    orders, payroll = pack.rules
    assert pack.financial_year_end == MonthDay(12, 31)
    assert orders.retain.anchor.financial_year_end == MonthDay(12, 31)  # type: ignore[attr-defined]
    assert payroll.financial_year_end == MonthDay(4, 5)
    assert isinstance(payroll.retain, LatestOf)
    fy_leaf, month_leaf = payroll.retain.retains()
    assert fy_leaf.anchor == EndOf(EndOfKind.FINANCIAL_YEAR, "paid_at", MonthDay(4, 5))
    assert month_leaf.anchor == EndOf(EndOfKind.MONTH, "paid_at")
    assert month_leaf.optional is True
    at = datetime(2020, 1, 1, tzinfo=UTC)
    decision = evaluate(pack, {"category": "payroll", "paid_at": "2022-04-06"}, at)
    assert decision.matched[0].retain_until == date(2026, 4, 5)


def test_basis_defaults_to_legitimate_interest(tmp_path: Path) -> None:
    (rule,) = load_pack(write(tmp_path, VALID)).rules
    assert rule.basis is Basis.LEGITIMATE_INTEREST
    empty = edit("    then: purge\n", "    then: purge\n    basis:\n")
    assert load_pack(write(tmp_path, empty)).rules[0].basis is Basis.LEGITIMATE_INTEREST


@pytest.mark.parametrize("basis", list(Basis), ids=str)
def test_every_basis_loads_and_round_trips(tmp_path: Path, basis: Basis) -> None:
    text = edit("    then: purge\n", f"    then: purge\n    basis: {basis.value}\n")
    pack = load_pack(write(tmp_path, text))
    assert pack.rules[0].basis is basis
    assert pack.rules[0].to_dict()["basis"] == basis.value
    assert parse_pack(pack.to_dict()) == pack


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_loads_and_round_trips(tmp_path: Path, action: Action) -> None:
    pack = load_pack(write(tmp_path, edit("then: purge", f"then: {action.value}")))
    assert pack.rules[0].action is action
    assert pack.rules[0].to_dict()["then"] == action.value
    assert parse_pack(pack.to_dict()) == pack


def test_archive_is_a_rule_action_of_its_own(tmp_path: Path) -> None:
    (rule,) = load_pack(write(tmp_path, edit("then: purge", "then: archive"))).rules
    assert rule.action is Action.ARCHIVE
    with pytest.raises(RulePackError, match=r"'archived' is not one of .*archive, purge"):
        load_pack(write(tmp_path, edit("then: purge", "then: archived")))


def test_basis_values_are_the_spec_s() -> None:
    assert [b.value for b in Basis] == [
        "legal_obligation",
        "contract",
        "consent",
        "legitimate_interest",
        "vital_interests",
        "public_task",
    ]


def test_an_unknown_basis_message(tmp_path: Path) -> None:
    path = write(tmp_path, edit("    then: purge\n", "    then: purge\n    basis: concent\n"))
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert str(info.value) == (
        f"{path}:11, rule 'orders', key 'basis': 'concent' is not one of legal_obligation, "
        "contract, consent, legitimate_interest, vital_interests, public_task "
        "(did you mean 'consent'?)"
    )


def test_boundary_on_needs_no_quotes(tmp_path: Path) -> None:
    """YAML 1.1 reads a bare ``on`` as true; ``boundary: on`` still means "on"."""
    for value in ("on", '"on"', "'on'"):
        text = edit("    then: purge\n", f"    boundary: {value}\n    then: purge\n")
        assert load_pack(write(tmp_path, text)).rules[0].boundary is Boundary.ON


def test_empty_values_count_as_not_given(tmp_path: Path) -> None:
    text = edit(
        "    then: purge\n",
        "    then: purge\n    description:\n    source:\n    where:\n"
        "    boundary:\n    financial_year_end:\n",
        edit(
            "timezone: Europe/London\n",
            "timezone: Europe/London\ndescription:\nfinancial_year_end:\n",
        ),
    )
    pack = load_pack(write(tmp_path, text))
    assert pack.financial_year_end == MonthDay(3, 31)
    rule = pack.rules[0]
    assert (rule.description, rule.source, rule.where, rule.boundary) == (
        None,
        None,
        {},
        Boundary.AFTER,
    )


HYPHENATED_IDS = ["fz-", "-fz", "fz--x", "-", "a--b", "a-", "-a", "---", "0", "-2024-"]


@pytest.mark.parametrize("name", HYPHENATED_IDS)
def test_any_lower_case_letters_digits_and_hyphens_are_an_id(tmp_path: Path, name: str) -> None:
    """The contract's ``[a-z0-9-]+``: leading, trailing and repeated hyphens included."""
    text = edit("id: orders", f'id: "{name}"', edit("pack: shop", f'pack: "{name}"'))
    pack = load_pack(write(tmp_path, text))
    assert (pack.id, pack.rules[0].id) == (name, name)


@pytest.mark.parametrize("name", ["Fz", "fz_x", "fz x", "fz.x", "f\u00e9", "fz/x", "fz\\n"])
def test_anything_else_is_not_an_id(tmp_path: Path, name: str) -> None:
    with pytest.raises(RulePackError) as info:
        load_pack(write(tmp_path, edit("pack: shop", f'pack: "{name}"')))
    assert info.value.detail.endswith(
        "is not an identifier: lower-case letters, digits and hyphens"
    )


def test_conditions_keep_their_types(tmp_path: Path) -> None:
    text = edit(
        "{category: order}",
        '{category: order, accepted: true, count: 1, ratio: 0.5, gone: null, code: "0123"}',
    )
    rule = load_pack(write(tmp_path, text)).rules[0]
    assert rule.applies_to == {
        "category": "order",
        "accepted": True,
        "count": 1,
        "ratio": 0.5,
        "gone": None,
        "code": "0123",
    }
    assert type(rule.applies_to["accepted"]) is bool
    assert not rule.matches(
        {"category": "order", "accepted": 1, "count": 1, "ratio": 0.5, "gone": None, "code": "0123"}
    )
    assert rule.matches(
        {
            "category": "order",
            "accepted": True,
            "count": 1,
            "ratio": 0.5,
            "gone": None,
            "code": "0123",
        }
    )


def test_every_key_fixture_loads() -> None:
    pack = load_pack(PACKS / "every-key.yaml")
    assert [rule.id for rule in pack.rules] == [
        "orders-tax",
        "payroll-tax-year",
        "quotes-accepted",
        "nulls-mean-absent",
    ]
    assert pack.rules[2].boundary is Boundary.ON
    assert [rule.basis for rule in pack.rules] == [
        Basis.LEGAL_OBLIGATION,
        Basis.LEGITIMATE_INTEREST,
        Basis.CONTRACT,
        Basis.LEGITIMATE_INTEREST,
    ]


def test_a_pack_round_trips_through_to_dict(tmp_path: Path) -> None:
    pack = load_pack(PACKS / "every-key.yaml")
    again = parse_pack(pack.to_dict())
    assert again == pack


def test_parse_pack_takes_plain_data() -> None:
    with pytest.raises(RulePackError) as info:
        parse_pack({"pack": "shop", "version": "1", "timezone": "UTC", "rules": [{"id": "x"}]})
    error = info.value
    assert (error.file, error.line, error.rule, error.key) == (None, None, "x", "applies_to")
    assert (
        str(error)
        == "rule 'x', key 'applies_to': a rule needs 'applies_to', e.g. {category: order}"
    )


def test_yaml_boolean_words_as_keys_are_names(tmp_path: Path) -> None:
    """YAML 1.1 reads a bare ``on:`` key as true; a pack's keys are always names."""
    text = edit("{category: order}", "{category: order, on: yes}")
    assert load_pack(write(tmp_path, text)).rules[0].applies_to == {"category": "order", "on": True}
    with pytest.raises(RulePackError) as info:
        load_pack(write(tmp_path, edit("then: purge", "then: purge\n    no: 1")))
    assert (info.value.key, info.value.line) == ("no", 11)


# -- hostile input: short messages, bounded work, nothing but RulePackError ---------------

LONG = "x" * 10_000

LONG_VALUES = [
    pytest.param(with_description(f"[{', '.join(['1'] * 5000)}]"), id="description-a-long-list"),
    pytest.param(with_description(LONG), id="description-no-its-fine"),
    pytest.param(edit("rules:", f"? {LONG}\n: 1\nrules:"), id="unknown-pack-key"),
    pytest.param(edit("then: purge", f"then: purge\n    ? {LONG}\n    : 1"), id="unknown-rule-key"),
    pytest.param(edit("pack: shop", f"pack: {LONG}X"), id="pack-id"),
    pytest.param(edit("id: orders", f"id: {LONG}X"), id="rule-id"),
    pytest.param(edit('version: "2026.1"', f"version: [{LONG}]"), id="version-a-list"),
    pytest.param(edit("Europe/London", f"Europe/{LONG}"), id="timezone"),
    pytest.param(with_fy(f'"{LONG}"'), id="financial-year-end"),
    pytest.param(edit("for: P6Y", f"for: P{LONG}"), id="period"),
    pytest.param(edit("for: P6Y", f"for: [{LONG}]"), id="period-a-list"),
    pytest.param(edit("then: purge", f"then: {LONG}"), id="then"),
    pytest.param(edit("then: purge", f"then: purge\n    boundary: {{a: {LONG}}}"), id="boundary"),
    pytest.param(edit("from: placed_at", f"from: {LONG}-"), id="field-name"),
    pytest.param(edit("from: placed_at", f"from: {{end_of: {LONG}, of: x}}"), id="anchor-kind"),
    pytest.param(edit("for: P6Y", f"for: P6Y\n      optional: {LONG}"), id="optional"),
    pytest.param(edit("{category: order}", f"{{category: [{LONG}]}}"), id="condition"),
    pytest.param(
        edit("{category: order}", f"\n      category: order\n      ? {LONG}-\n      : 1"),
        id="condition-field",
    ),
    pytest.param(edit("pack: shop", f"? [{LONG}]\n: 1\npack: shop"), id="key-not-text"),
    pytest.param(f"{LONG}\n", id="pack-a-scalar"),
]


@pytest.mark.parametrize("text", LONG_VALUES)
def test_a_long_value_is_quoted_short(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        load_pack(path)
    except RulePackError as error:
        message = str(error)
    else:
        assert "description" in text  # a long description is fine
        return
    assert len(message) < 600 + len(str(path)), message[:300]
    assert "\n" not in message


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """Nine levels: 387 million items if expanded; refused while reading its first anchor."""
    path = write(tmp_path, with_description(alias_bomb(9)))
    assert path.stat().st_size < 600
    tracemalloc.start()
    try:
        with pytest.raises(RulePackError, match="anchors and aliases") as info:
            load_pack(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak
    assert len(str(info.value)) < 300


def test_a_pack_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        edit("    then: purge\n", "    then: purge\n    description: Caf\xe9\n").encode("latin-1")
    )
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert (info.value.file, info.value.line) == (str(path), 11)
    assert info.value.detail.startswith("not UTF-8 text (byte 0xe9 at offset")


def test_a_path_whose_name_is_too_long(tmp_path: Path) -> None:
    path = tmp_path / ("a" * 5000)
    with pytest.raises(RulePackError, match="cannot read: File name too long"):
        load_rules(path)
    with pytest.raises(RulePackError, match="cannot read the file: File name too long"):
        load_pack(path)


def test_terms_nested_20_deep_load() -> None:
    """The limit is 20 levels of latest_of/earliest_of, as documented."""
    term: dict[str, object] = {"from": "placed_at", "for": "P1Y"}
    for _ in range(20):
        term = {"latest_of": [term]}
    data = {"pack": "shop", "version": "1", "timezone": "UTC"}
    rule = {"id": "orders", "applies_to": {"category": "order"}, "retain": term, "then": "purge"}
    assert parse_pack({**data, "rules": [rule]}).rules[0].id == "orders"


def test_plain_data_nested_deep_is_a_pack_error_not_a_recursion_error() -> None:
    term: dict[str, object] = {"from": "placed_at", "for": "P1Y"}
    for _ in range(5000):
        term = {"latest_of": [term]}
    data = {"pack": "shop", "version": "1", "timezone": "UTC"}
    rule = {"id": "orders", "applies_to": {"category": "order"}, "retain": term, "then": "purge"}
    with pytest.raises(RulePackError, match="terms nested more than 20 deep") as info:
        parse_pack({**data, "rules": [rule]})
    assert len(str(info.value)) < 600


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({1: "x"}, "unknown key '1' in a pack"),
        ({("a", "b"): "x"}, "unknown key '('a', 'b')' in a pack"),
        ({"pack": 10**5000}, "not <a number of about 5001 digits>"),
    ],
)
def test_plain_data_of_any_shape_is_a_pack_error(data: object, message: str) -> None:
    with pytest.raises(RulePackError) as info:
        parse_pack(data)
    assert message in str(info.value)


HOSTILE_TOKENS = (
    "&a ", "*a", "!!int ", "!!python/object:os.system ", "! ", "{", "}", "[", "]", ": ", "- ",
    "? ", ",", "2024-02-30", "2024-01-01", "2024-01-01 10:00:00 +99:00", "9" * 5000,
    "0x" + "f" * 400,
    ":".join(["59"] * 60), ".nan", "~", "on", "<<", "=", "\n", "\n  ", "\t", '"\\ud800"', '"\\0"',
    "'", '"', "#", "---\n", "|\n  x", "\u2028", "\ufeff", "P99999999999999999999Y", "latest_of: [",
    "from: ", "end_of: financial_year", "optional: ", "boundary: ", "financial_year_end: ",
    "'02-29'", "x" * 300,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID)), st.sampled_from(HOSTILE_TOKENS)),
        min_size=1,
        max_size=6,
    )
)
def test_any_mangled_pack_is_one_short_line_or_a_pack(edits: list[tuple[int, str]]) -> None:
    """A small fuzz: hostile tokens inserted anywhere give a RulePackError, never a crash."""
    text = VALID
    for position, token in edits:
        text = text[:position] + token + text[position:]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), text)
        try:
            load_pack(path)
        except RulePackError as error:
            message = str(error)
        else:
            return
    assert "\n" not in message
    assert "\r" not in message
    assert len(message) < 800 + len(str(path)), message[:300]


def test_a_pack_file_too_large_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(MAX_PACK_BYTES + 1)  # sparse: no disk used
    with pytest.raises(
        RulePackError, match=r"huge\.yaml: larger than 10 MB; a rule pack is a few KB"
    ):
        load_pack(path)
