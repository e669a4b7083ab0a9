"""The shipped JSON Schema says what the loader says.

Packs are read for the schema the way an editor's YAML language server reads them:
YAML 1.2, where only ``true``/``false`` are booleans and ``2024-01-01`` is text.
The loader reads YAML 1.1 (PyYAML) and is the judge. Where both can judge they agree;
the loader alone rejects (see ``LOADER_ONLY``):

* time zones that do not exist (the schema checks only the shape of the name);
* duplicate rule ids in a pack, and duplicate keys in one YAML mapping (the editor's
  YAML parser reports those itself);
* values that YAML 1.1 reads as another type: unquoted dates in conditions, ``yes``
  or ``no`` where text is needed.

Two edges are not asserted: the loader accepts non-ASCII digits in periods and MM-DD
dates (Python's ``isdigit``/``\\d``), and Python's ``re`` lets ``$`` match before a
final newline, so jsonschema in Python accepts ``"shop\\n"`` as an id where an
editor (ECMA-262 patterns) would not.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from keepfor.engine import json_schema, load_pack
from keepfor.engine.anchors import MonthDay
from keepfor.engine.periods import Period
from keepfor.errors import RulePackError

ROOT = Path(__file__).resolve().parents[2]
PACKS = Path(__file__).parent / "packs"
DOCS = ROOT / "docs" / "rules.md"


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core booleans and no implicit timestamps."""


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def editor_view(text: str) -> Any:
    return yaml.load(text, Loader=Yaml12Loader)  # a SafeLoader subclass


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


def schema_accepts(validator: jsonschema.Draft202012Validator, text: str) -> bool:
    return validator.is_valid(editor_view(text))


def loader_accepts(tmp_path: Path, text: str) -> bool:
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_pack(path)
    except RulePackError:
        return False
    return True


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "pack",
        "version",
        "description",
        "timezone",
        "financial_year_end",
        "rules",
    }
    rule = schema["$defs"]["rule"]
    assert rule["additionalProperties"] is False
    assert set(rule["properties"]) == {
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
    }


def _titled(node: Any, path: str = "") -> list[str]:
    """Paths of properties that carry no help text for an editor."""
    missing = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and not (sub.get("description") or sub.get("$ref")):
                missing.append(f"{path}.{name}")
        for key, sub in node.items():
            missing += _titled(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing += _titled(sub, f"{path}[{i}]")
    return missing


def test_every_property_has_help_text() -> None:
    schema = json_schema()
    # `uses_financial_year` and the rule's `if` only test values; they are not help.
    missing = [m for m in _titled(schema) if "uses_financial_year" not in m and "/if" not in m]
    assert missing == []
    for name in ("pack", "version", "timezone", "rules"):
        assert schema["properties"][name]["description"]


# -- packs that load also validate ----------------------------------------------------


def _pack_files() -> list[Path]:
    found = sorted((ROOT / "rules").glob("**/*.y*ml")) + sorted(PACKS.glob("*.y*ml"))
    return [p for p in found if p.suffix in (".yaml", ".yml")]


def _doc_packs() -> list[str]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.S | re.M)
    return [block for block in blocks if block.startswith("pack:")]


@pytest.mark.parametrize("path", _pack_files(), ids=lambda p: p.name)
def test_every_shipped_pack_loads_and_validates(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    load_pack(path)
    text = path.read_text(encoding="utf-8")
    errors = [e.message for e in validator.iter_errors(editor_view(text))]
    assert errors == []


def test_there_are_packs_to_check() -> None:
    assert any(p.parent == PACKS for p in _pack_files())


def test_the_docs_have_an_example_pack() -> None:
    assert _doc_packs()


@pytest.mark.parametrize("text", _doc_packs())
def test_the_docs_example_packs_load_and_validate(
    text: str, tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    assert loader_accepts(tmp_path, text)
    errors = [e.message for e in validator.iter_errors(editor_view(text))]
    assert errors == []


# -- bad packs: rejected by both --------------------------------------------------------

VALID = """\
pack: shop
version: "2026.1"
timezone: Europe/London
rules:
  - id: orders
    applies_to: {category: order}
    retain:
      from: {end_of: financial_year, of: placed_at}
      for: P6Y
    then: purge
"""


def edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def add_to_rule(line: str) -> str:
    return edit("    then: purge\n", f"    then: purge\n    {line}\n")


def retain(body: str) -> str:
    return edit(
        "    retain:\n      from: {end_of: financial_year, of: placed_at}\n      for: P6Y\n",
        f"    retain: {body}\n",
    )


BOTH_REJECT = {
    "not-a-mapping": "- pack: shop\n",
    "empty": "",
    "unknown-pack-key": edit("rules:", "rule:"),
    "missing-pack": edit("pack: shop\n", ""),
    "missing-version": edit('version: "2026.1"\n', ""),
    "missing-timezone": edit("timezone: Europe/London\n", ""),
    "missing-rules": "pack: shop\nversion: '1'\ntimezone: UTC\n",
    "version-a-number": edit('version: "2026.1"', "version: 2026.1"),
    "version-blank": edit('version: "2026.1"', 'version: " "'),
    "pack-id-capitals": edit("pack: shop", "pack: Shop"),
    "pack-id-empty": edit("pack: shop", 'pack: ""'),
    "timezone-empty": edit("Europe/London", '""'),
    "timezone-a-number": edit("Europe/London", "0"),
    "timezone-with-space": edit("Europe/London", "Europe/New York"),
    "description-a-number": edit("rules:", "description: 5\nrules:"),
    "fy-one-digit": edit("rules:", 'financial_year_end: "3-31"\nrules:'),
    "fy-feb-29": edit("rules:", 'financial_year_end: "02-29"\nrules:'),
    "fy-month-13": edit("rules:", 'financial_year_end: "13-01"\nrules:'),
    "fy-april-31": edit("rules:", 'financial_year_end: "04-31"\nrules:'),
    "fy-a-number": edit("rules:", "financial_year_end: 331\nrules:"),
    "rules-empty": "pack: shop\nversion: '1'\ntimezone: UTC\nrules: []\n",
    "rules-a-mapping": "pack: shop\nversion: '1'\ntimezone: UTC\nrules: {id: x}\n",
    "rule-not-a-mapping": "pack: shop\nversion: '1'\ntimezone: UTC\nrules: [orders]\n",
    "missing-id": edit("  - id: orders\n    applies_to", "  - applies_to"),
    "bad-rule-id": edit("id: orders", "id: orders_tax"),
    "unknown-rule-key": edit("applies_to:", "applies-to:"),
    "missing-applies-to": edit("    applies_to: {category: order}\n", ""),
    "empty-applies-to": edit("{category: order}", "{}"),
    "applies-to-a-list": edit("{category: order}", "[order]"),
    "condition-a-list": edit("{category: order}", "{category: [order]}"),
    "condition-a-mapping": edit("{category: order}", "{category: {in: order}}"),
    "bad-field-name": edit("{category: order}", "{1category: order}"),
    "where-a-list": add_to_rule("where: [accepted]"),
    "where-a-list-value": add_to_rule("where: {accepted: [true]}"),
    "source-blank": add_to_rule('source: ""'),
    "missing-retain": edit(
        "    retain:\n      from: {end_of: financial_year, of: placed_at}\n      for: P6Y\n", ""
    ),
    "retain-a-period": retain("P6Y"),
    "term-no-kind": retain("{for: P6Y}"),
    "term-two-kinds": retain("{from: a, for: P1Y, earliest_of: [{from: b, for: P1Y}]}"),
    "term-unknown-key": retain("{from: a, for: P1Y, optinal: true}"),
    "term-for-missing": retain("{from: a}"),
    "latest-of-with-for": retain("{latest_of: [{from: a, for: P1Y}], for: P1Y}"),
    "latest-of-empty": retain("{latest_of: []}"),
    "earliest-of-a-term": retain("{earliest_of: {from: a, for: P1Y}}"),
    "optional-a-string": retain('{from: a, for: P1Y, optional: "true"}'),
    "optional-null": retain("{from: a, for: P1Y, optional: null}"),
    "nested-bad-period": retain(
        "{latest_of: [{from: a, for: P1Y}, {earliest_of: [{from: b, for: 1Y}]}]}"
    ),
    "period-negative": edit("for: P6Y", "for: -P6Y"),
    "period-words": edit("for: P6Y", "for: 6 years"),
    "period-bare-p": edit("for: P6Y", "for: P"),
    "period-lower-case": edit("for: P6Y", "for: p6y"),
    "period-time": edit("for: P6Y", "for: PT6H"),
    "period-out-of-order": edit("for: P6Y", "for: P6M1Y"),
    "period-a-number": edit("for: P6Y", "for: 6"),
    "anchor-kind-misspelt": edit("end_of: financial_year", "end_of: finacial_year"),
    "anchor-unknown-key": edit("of: placed_at", "of: placed_at, at: x"),
    "anchor-missing-of": edit(", of: placed_at", ""),
    "anchor-missing-end-of": edit("end_of: financial_year, ", ""),
    "anchor-bad-field": edit("{end_of: financial_year, of: placed_at}", "placed-at"),
    "anchor-of-bad-field": edit("of: placed_at", "of: 2placed"),
    "anchor-a-list": edit("{end_of: financial_year, of: placed_at}", "[placed_at]"),
    "anchor-null": edit(" {end_of: financial_year, of: placed_at}", ""),
    "boundary-misspelt": add_to_rule("boundary: aftre"),
    "boundary-off": add_to_rule("boundary: off"),
    "boundary-true": add_to_rule("boundary: true"),
    "missing-then": edit("    then: purge\n", ""),
    "then-anonymize": edit("then: purge", "then: anonymize"),
    "then-delete": edit("then: purge", "then: delete"),
    "then-null": edit("then: purge", "then:"),
    "basis-misspelt": add_to_rule("basis: legal_obligaton"),
    "basis-plural": add_to_rule("basis: legitimate_interests"),
    "basis-a-list": add_to_rule("basis: [consent]"),
    "basis-true": add_to_rule("basis: true"),
    "rule-fy-malformed": add_to_rule('financial_year_end: "4-5"'),
    "rule-fy-without-fy-anchor": (
        edit("{end_of: financial_year, of: placed_at}", "{end_of: month, of: placed_at}")
        + '    financial_year_end: "04-05"\n'
    ),
    "rule-fy-with-fy-anchor-in-a-field-anchor": (
        retain("{latest_of: [{from: financial_year, for: P1Y}]}")
        + '    financial_year_end: "04-05"\n'
    ),
}


@pytest.mark.parametrize("name", sorted(BOTH_REJECT))
def test_a_pack_the_loader_rejects_the_schema_rejects(
    name: str, tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    text = BOTH_REJECT[name]
    assert not loader_accepts(tmp_path, text)
    assert not schema_accepts(validator, text)


# -- good packs: accepted by both --------------------------------------------------------

BOTH_ACCEPT = {
    "valid": VALID,
    "boundary-on-bare": add_to_rule("boundary: on"),
    "boundary-after": add_to_rule("boundary: after"),
    "basis-legal-obligation": add_to_rule("basis: legal_obligation"),
    "basis-public-task": add_to_rule("basis: public_task"),
    "basis-null": add_to_rule("basis:"),
    "empty-optional-keys": VALID.replace("rules:", "description:\nfinancial_year_end:\nrules:")
    + "    description:\n    source:\n    where:\n    boundary:\n    financial_year_end:\n",
    "where-empty": add_to_rule("where: {}"),
    "conditions-all-scalars": add_to_rule("where: {a: x, b: 1, c: 0.5, d: true, e: null}"),
    "fy-04-05": edit("rules:", 'financial_year_end: "04-05"\nrules:'),
    "fy-02-28": edit("rules:", 'financial_year_end: "02-28"\nrules:'),
    "rule-fy-nested-anchor": retain(
        "{earliest_of: [{from: a, for: P1Y}, "
        "{latest_of: [{from: {end_of: financial_year, of: b}, for: P0D, optional: true}]}]}"
    )
    + '    financial_year_end: "04-05"\n',
    "rule-fy-null-without-fy-anchor": edit(
        "{end_of: financial_year, of: placed_at}", "{end_of: month, of: placed_at}"
    )
    + "    financial_year_end:\n",
    "period-spaces": edit("for: P6Y", 'for: " P1Y6M2W3D "'),
    "period-zero": edit("for: P6Y", "for: P0D"),
    "calendar-year": edit("end_of: financial_year", "end_of: calendar_year"),
    "optional-at-the-top": retain("{from: a, for: P1Y, optional: false}"),
    "id-with-digits": edit("id: orders", "id: 2024-orders-v2"),
    "pack-id-trailing-hyphen": edit("pack: shop", "pack: shop-"),
    "pack-id-leading-hyphen": edit("pack: shop", "pack: -shop"),
    "pack-id-double-hyphen": edit("pack: shop", "pack: my--shop"),
    "rule-id-hyphens": edit("id: orders", 'id: "-a--b-"'),
    "timezone-etc": edit("Europe/London", "Etc/GMT+5"),
}


@pytest.mark.parametrize("name", sorted(BOTH_ACCEPT))
def test_a_pack_the_loader_accepts_the_schema_accepts(
    name: str, tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    text = BOTH_ACCEPT[name]
    assert loader_accepts(tmp_path, text)
    assert schema_accepts(validator, text)


# -- where only the loader can judge -------------------------------------------------------

LOADER_ONLY = {
    "timezone-misspelt": edit("Europe/London", "Europe/Londn"),
    "timezone-abbreviation": edit("Europe/London", "BST"),
    "duplicate-rule-ids": VALID + VALID[VALID.index("  - id:") :],
    "duplicate-yaml-key": add_to_rule("then: flag"),
    "condition-unquoted-date": edit("{category: order}", "{category: order, on: 2024-01-01}"),
    "version-yes": edit('version: "2026.1"', "version: yes"),
}


@pytest.mark.parametrize("name", sorted(LOADER_ONLY))
def test_what_only_the_loader_rejects(
    name: str, tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    text = LOADER_ONLY[name]
    assert not loader_accepts(tmp_path, text)
    assert schema_accepts(validator, text)


# -- the patterns agree value by value -----------------------------------------------------


def test_month_day_pattern_is_exactly_the_loaders(
    validator: jsonschema.Draft202012Validator,
) -> None:
    pattern = re.compile(json_schema()["$defs"]["month_day"]["pattern"])
    for month in range(0, 14):
        for day in range(0, 33):
            for text in (f"{month:02d}-{day:02d}", f"{month}-{day}"):
                try:
                    MonthDay.parse(text)
                    loads = True
                except ValueError:
                    loads = False
                assert bool(pattern.search(text)) is loads, text


PERIODS = [
    "P6Y", "P12M", "P1Y6M", "P2W", "P30D", "P0D", "P1Y2M3W4D", "P0Y", " P1Y ", "P001D",
    "P", "", "p6y", "P6y", "-P1Y", "+P1Y", "PT1H", "P1DT1H", "P1.5Y", "P1Y1Y", "P1D1Y",
    "P1W1M", "6Y", "P 1Y", "Y", "P-1Y", "1",
]  # fmt: skip


@pytest.mark.parametrize("text", PERIODS)
def test_period_pattern_agrees_with_the_loader(text: str) -> None:
    pattern = re.compile(json_schema()["$defs"]["period"]["pattern"])
    try:
        Period.parse(text)
        loads = True
    except ValueError:
        loads = False
    assert bool(pattern.search(text)) is loads


def test_schema_is_not_changed_by_validation() -> None:
    """json_schema() hands out a fresh copy each time: callers may not corrupt it."""
    first = json_schema()
    first["title"] = "changed"
    assert json_schema()["title"] != "changed"
    assert copy.deepcopy(json_schema()) == json_schema()
