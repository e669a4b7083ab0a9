"""``keepfor explain``: the public contract of the rule-pack spec, through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.cli.conftest import (
    AT,
    BASIS,
    LEDGER_PACK,
    ORDER,
    SHOP_PACK,
    SPEC_DECISION,
    SPEC_EXPLAINED,
    assert_bad_input,
    contract,
    invoke,
    run_keepfor,
)

Write = Callable[[str, str], Path]
WriteRecord = Callable[..., Path]


def explain_json(rules: Path | list[Path], record: Path, at: str = AT, *extra: str) -> dict:
    paths = rules if isinstance(rules, list) else [rules]
    args: list[object] = ["explain"]
    for path in paths:
        args += ["--rules", path]
    args += ["--record", record, "--at", at, "--json", *extra]
    run = invoke(*args)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    return run.json()


# -- the JSON contract -----------------------------------------------------------------


def test_json_is_the_spec_example(shop_pack: Path, order_record: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", order_record, "--at", AT, "--json")
    assert run.exit_code == 0
    assert run.stderr == ""
    assert run.stdout.count("\n") == 1  # one object, on one line
    assert run.stdout.endswith("}\n")
    decision = json.loads(run.stdout)
    assert contract(decision) == SPEC_DECISION  # the contract's keys keep their values
    assert decision == SPEC_EXPLAINED
    assert list(decision) == ["disposal_date", "rule", "action", "basis", "status", "matched"]
    assert list(decision["matched"][0]) == ["rule", "retain_until", "disposal_date", "basis"]


def test_json_is_exactly_one_object(shop_pack: Path, order_record: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", order_record, "--at", AT, "--json")
    decoder = json.JSONDecoder()
    value, end = decoder.raw_decode(run.stdout)
    assert isinstance(value, dict)
    assert run.stdout[end:].strip() == ""


def test_retained_before_the_disposal_date(shop_pack: Path, order_record: Path) -> None:
    decision = explain_json(shop_pack, order_record, "2026-03-31T12:00:00Z")
    assert decision == {**SPEC_EXPLAINED, "status": "retained"}


@pytest.mark.parametrize(
    "record", [{"category": "complaint"}, {"category": "complaint", "resolved_at": None}]
)
def test_waiting_when_the_event_has_not_happened(
    shop_pack: Path, write_record: WriteRecord, record: dict
) -> None:
    decision = explain_json(shop_pack, write_record(record))
    assert decision == {
        "disposal_date": None,
        "rule": None,
        "action": None,
        "basis": None,
        "status": "waiting",
        "matched": [
            {"rule": "complaints", "retain_until": None, "disposal_date": None, "basis": BASIS}
        ],
    }


def test_complaint_once_resolved(shop_pack: Path, write_record: WriteRecord) -> None:
    record = write_record({"category": "complaint", "resolved_at": "2023-11-22T23:30:00Z"})
    decision = explain_json(shop_pack, record)
    # 23:30Z on 22 November is still 22 November in London (GMT): + P3Y, then the day after
    assert decision == {
        "disposal_date": "2026-11-23",
        "rule": "complaints",
        "action": "anonymise",
        "basis": BASIS,
        "status": "retained",
        "matched": [
            {
                "rule": "complaints",
                "retain_until": "2026-11-22",
                "disposal_date": "2026-11-23",
                "basis": BASIS,
            }
        ],
    }


def test_unmatched(shop_pack: Path, write_record: WriteRecord) -> None:
    decision = explain_json(shop_pack, write_record({"category": "newsletter"}))
    assert decision == {
        "disposal_date": None,
        "rule": None,
        "action": None,
        "basis": None,
        "status": "unmatched",
        "matched": [],
    }


def test_datetime_field_is_converted_to_the_pack_zone(
    shop_pack: Path, write_record: WriteRecord
) -> None:
    # 2019-03-31T23:30:00Z is 2019-04-01 in Europe/London (BST): the next financial year
    record = write_record({"category": "order", "placed_at": "2019-03-31T23:30:00Z"})
    decision = explain_json(shop_pack, record)
    assert decision["matched"] == SPEC_EXPLAINED["matched"]


# -- --at ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "status"),
    [
        ("2026-03-31T22:59:59Z", "retained"),  # 23:59:59 BST on 31 March
        ("2026-03-31T23:00:00Z", "due"),  # local midnight of D = 2026-04-01 (BST, +01:00)
        ("2026-04-01T00:00:00+01:00", "due"),
        ("2026-03-31T23:59:59+00:00", "due"),
        ("2026-04-01T00:59:59+01:00", "due"),
        ("2026-03-31T23:59:59+01:00", "retained"),
        ("2026-04-01T08:00:00+09:00", "due"),  # = 2026-03-31T23:00:00Z, 00:00 BST
        ("2026-04-01T07:59:59+09:00", "retained"),
    ],
)
def test_due_from_local_midnight_of_the_disposal_date(
    shop_pack: Path, order_record: Path, at: str, status: str
) -> None:
    decision = explain_json(shop_pack, order_record, at)
    assert decision["status"] == status
    assert decision["disposal_date"] == "2026-04-01"


def test_one_second_before_local_midnight_is_retained(shop_pack: Path, order_record: Path) -> None:
    before = explain_json(shop_pack, order_record, "2026-03-31T22:59:59Z", "--detail")
    at = explain_json(shop_pack, order_record, "2026-03-31T23:00:00Z", "--detail")
    assert (before["status"], before["today"]) == ("retained", "2026-03-31")
    assert (at["status"], at["today"]) == ("due", "2026-04-01")


@pytest.mark.parametrize(
    ("at", "status"), [("2026-03-31", "retained"), ("2026-04-01", "due"), ("2030-01-01", "due")]
)
def test_at_as_a_plain_date(shop_pack: Path, order_record: Path, at: str, status: str) -> None:
    decision = explain_json(shop_pack, order_record, at, "--detail")
    assert decision["status"] == status
    assert decision["today"] == at


def test_at_in_another_offset_takes_the_pack_zone_date(shop_pack: Path, order_record: Path) -> None:
    # 2026-06-30T23:30:00Z is 1 July in London (BST)
    decision = explain_json(shop_pack, order_record, "2026-06-30T23:30:00Z", "--detail")
    assert decision["today"] == "2026-07-01"


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (datetime(2026, 3, 31, 22, 59, 59, tzinfo=UTC), "retained"),
        (datetime(2026, 3, 31, 23, 0, 0, tzinfo=UTC), "due"),
    ],
)
def test_default_at_is_now_from_the_system_clock(
    shop_pack: Path, order_record: Path, now: datetime, status: str
) -> None:
    with time_machine.travel(now, tick=False):
        run = invoke(
            "explain",
            "--rules",
            shop_pack,
            "--record",
            order_record,
            "--json",
            "--detail",
            clock=None,
        )
    assert run.exit_code == 0, run.stderr
    decision = run.json()
    assert decision["status"] == status
    assert decision["today"] == ("2026-03-31" if status == "retained" else "2026-04-01")


def test_default_at_in_readable_output(shop_pack: Path, order_record: Path) -> None:
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        run = invoke("explain", "--rules", shop_pack, "--record", order_record, clock=None)
    assert run.exit_code == 0, run.stderr
    assert "evaluated at now" in run.stdout
    assert "retained" in run.stdout
    assert "today 2026-03-01" in run.stdout


# -- several packs ---------------------------------------------------------------------

LEDGER_WINS = {
    "disposal_date": "2026-05-01",
    "rule": "orders-ledger",
    "action": "review",
    "basis": BASIS,
    "status": "due",
}
TAX = {**SPEC_EXPLAINED["matched"][0]}  # type: ignore[index]
LEDGER = {
    "rule": "orders-ledger",
    "retain_until": "2026-05-01",
    "disposal_date": "2026-05-01",
    "basis": BASIS,
}


def test_several_rules_paths_retention_wins(
    shop_pack: Path, ledger_pack: Path, order_record: Path
) -> None:
    decision = explain_json([shop_pack, ledger_pack], order_record)
    assert decision == {**LEDGER_WINS, "matched": [TAX, LEDGER]}
    decision = explain_json([ledger_pack, shop_pack], order_record)
    assert decision == {**LEDGER_WINS, "matched": [LEDGER, TAX]}


def test_rules_folder(write: Write, order_record: Path) -> None:
    write("packs/a-shop.yaml", SHOP_PACK)
    write("packs/b-ledger.yml", LEDGER_PACK)
    write("packs/notes.txt", "not a pack")
    folder = order_record.parent / "packs"
    decision = explain_json(folder, order_record)
    assert decision == {**LEDGER_WINS, "matched": [TAX, LEDGER]}
    # between its disposal dates: the tax rule is past, the ledger rule still holds
    decision = explain_json(folder, order_record, "2026-04-15")
    assert decision == {**LEDGER_WINS, "status": "retained", "matched": [TAX, LEDGER]}


def test_folder_and_file_in_it_load_the_pack_once(write: Write, order_record: Path) -> None:
    shop = write("packs/shop.yaml", SHOP_PACK)
    decision = explain_json([shop.parent, shop], order_record)
    assert decision == SPEC_EXPLAINED


def test_several_paths_are_evaluated_together(
    write: Write, shop_pack: Path, order_record: Path
) -> None:
    write("more/ledger.yaml", LEDGER_PACK)
    decision = explain_json([shop_pack, order_record.parent / "more"], order_record)
    assert decision["rule"] == "orders-ledger"
    assert [m["rule"] for m in decision["matched"]] == ["orders-tax", "orders-ledger"]


# -- --detail --------------------------------------------------------------------------


def test_json_detail_adds_the_working(shop_pack: Path, order_record: Path) -> None:
    decision = explain_json(shop_pack, order_record, AT, "--detail")
    for key, value in SPEC_DECISION.items():
        if key != "matched":
            assert decision[key] == value
    assert decision["pack"] == "shop"
    assert decision["today"] == "2026-11-22"
    assert isinstance(decision["reason"], str)
    assert "orders-tax" in decision["reason"]
    [matched] = decision["matched"]
    assert {k: matched[k] for k in SPEC_DECISION["matched"][0]} == SPEC_DECISION["matched"][0]
    assert matched["pack"] == "shop"
    assert matched["pack_version"] == "2026.1"
    assert matched["action"] == "purge"
    assert matched["boundary"] == "after"
    assert matched["basis"] == "legitimate_interest"  # not written: the default
    assert matched["waiting_on"] == []
    term = matched["term"]
    assert term["for"] == "P6Y"
    assert term["anchor_date"] == "2020-03-31"
    assert term["retain_until"] == "2026-03-31"
    assert "financial year" in term["from"]


def test_json_detail_when_waiting(shop_pack: Path, write_record: WriteRecord) -> None:
    decision = explain_json(shop_pack, write_record({"category": "complaint"}), AT, "--detail")
    assert decision["status"] == "waiting"
    assert decision["pack"] is None
    assert decision["matched"][0]["waiting_on"] == ["resolved_at"]
    assert "resolved_at" in decision["reason"]


def test_json_detail_when_unmatched(shop_pack: Path, write_record: WriteRecord) -> None:
    decision = explain_json(shop_pack, write_record({"category": "x"}), AT, "--detail")
    assert decision["status"] == "unmatched"
    assert decision["pack"] is None
    assert decision["today"] is None
    assert decision["matched"] == []
    assert "no rule applies" in decision["reason"]


# -- basis -------------------------------------------------------------------------------

TAX_BASIS_PACK = SHOP_PACK.replace(
    "    then: purge\n", "    then: purge\n    basis: legal_obligation\n", 1
)


def test_json_detail_gives_each_matched_rule_s_basis(
    write: Write, ledger_pack: Path, order_record: Path
) -> None:
    shop = write("shop.yaml", TAX_BASIS_PACK)
    decision = explain_json([shop, ledger_pack], order_record, AT, "--detail")
    bases = {m["rule"]: m["basis"] for m in decision["matched"]}
    assert bases == {"orders-tax": "legal_obligation", "orders-ledger": "legitimate_interest"}


def test_plain_json_gives_the_winning_and_each_matched_rule_s_basis(
    write: Write, ledger_pack: Path, order_record: Path
) -> None:
    """Without ``--detail`` too: the contract's keys keep their values, and ``basis``
    is added beside them."""
    decision = explain_json(write("shop.yaml", TAX_BASIS_PACK), order_record)
    assert contract(decision) == SPEC_DECISION
    assert decision["basis"] == "legal_obligation"
    assert [m["basis"] for m in decision["matched"]] == ["legal_obligation"]
    shop = order_record.parent / "shop.yaml"
    decision = explain_json([shop, ledger_pack], order_record)
    assert (decision["rule"], decision["basis"]) == ("orders-ledger", BASIS)
    bases = {m["rule"]: m["basis"] for m in decision["matched"]}
    assert bases == {"orders-tax": "legal_obligation", "orders-ledger": BASIS}


def test_readable_output_gives_the_winning_rule_s_basis(write: Write, order_record: Path) -> None:
    run = invoke("explain", "--rules", write("shop.yaml", TAX_BASIS_PACK), "--record",
                 order_record, "--at", AT)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    [status] = [line for line in run.stdout.splitlines() if line.startswith("Status: ")]
    assert "rule orders-tax, basis legal_obligation, pack shop 2026.1" in status


def test_readable_output_shows_each_matched_rule_s_basis(
    write: Write, ledger_pack: Path, order_record: Path
) -> None:
    shop = write("shop.yaml", TAX_BASIS_PACK)
    run = invoke(
        "explain", "--rules", shop, "--rules", ledger_pack, "--record", order_record, "--at", AT
    )
    assert run.exit_code == 0, run.stderr
    titles = [line for line in run.stdout.splitlines() if "then " in line and "[" in line]
    assert len(titles) == 2
    assert "orders-tax" in titles[0]
    assert "then purge  basis legal_obligation" in titles[0]
    assert "orders-ledger" in titles[1]
    assert "then review  basis legitimate_interest" in titles[1]


def test_seed_order_is_kept_under_a_legal_obligation() -> None:
    record = Path(__file__).resolve().parents[2] / "examples" / "records" / "order.json"
    rules = Path(__file__).resolve().parents[2] / "rules"
    decision = explain_json(rules, record, AT, "--detail")
    assert [(m["rule"], m["basis"]) for m in decision["matched"]] == [
        ("orders-tax", "legal_obligation")
    ]


# -- readable output -------------------------------------------------------------------


def test_readable_output_explains_the_decision(shop_pack: Path, order_record: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", order_record, "--at", AT)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    out = run.stdout
    assert "\x1b[" not in out  # no colour codes when not on a terminal
    assert "Status: due" in out
    assert "orders-tax" in out  # the matched rule
    assert "2020-03-31" in out  # the anchor date
    assert "placed_at is 2019-05-01" in out  # the field it came from
    assert "P6Y" in out  # the period
    assert "retain until 2026-03-31" in out
    assert "disposal date 2026-04-01" in out
    assert "then purge" in out
    why = [line for line in out.splitlines() if line.startswith("Why:")]
    assert why == ["Why: 'orders-tax' is the only rule that applies"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_readable_output_names_every_matched_rule(
    shop_pack: Path, ledger_pack: Path, order_record: Path
) -> None:
    run = invoke(
        "explain",
        "--rules",
        shop_pack,
        "--rules",
        ledger_pack,
        "--record",
        order_record,
        "--at",
        AT,
    )
    assert run.exit_code == 0, run.stderr
    out = run.stdout
    assert "Matched rules (2):" in out
    assert "* orders-ledger" in out  # the winner
    assert "- orders-tax" in out
    assert "disposal date 2026-04-01" in out
    assert "disposal date 2026-05-01" in out
    assert "boundary on" in out
    [why] = [line for line in out.splitlines() if line.startswith("Why:")]
    assert "orders-ledger" in why
    assert "retention wins" in why


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"category": "complaint"}, ["waiting", "complaints", "resolved_at", "no date yet"]),
        ({"category": "newsletter"}, ["unmatched", "no rule applies", "newsletter"]),
    ],
)
def test_readable_output_without_a_date(
    shop_pack: Path, write_record: WriteRecord, record: dict, words: list[str]
) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", write_record(record), "--at", AT)
    assert run.exit_code == 0, run.stderr
    for word in words:
        assert word in run.stdout
    assert any(line.startswith("Why:") for line in run.stdout.splitlines())


# -- standard input --------------------------------------------------------------------


def test_record_from_stdin(shop_pack: Path) -> None:
    run = invoke(
        "explain",
        "--rules",
        shop_pack,
        "--record",
        "-",
        "--at",
        AT,
        "--json",
        input=json.dumps(ORDER),
    )
    assert run.exit_code == 0, run.stderr
    assert run.json() == SPEC_EXPLAINED


def test_record_from_stdin_that_is_not_json(shop_pack: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", "-", "--at", AT, input="{nope")
    assert_bad_input(run, "<stdin>", "not valid JSON")


def test_record_from_stdin_with_a_bad_date(shop_pack: Path) -> None:
    record = json.dumps({"category": "order", "placed_at": "yesterday"})
    run = invoke("explain", "--rules", shop_pack, "--record", "-", "--at", AT, input=record)
    assert_bad_input(run, "<stdin>", "rule 'orders-tax'", "field 'placed_at'", "'yesterday'")


# -- bad input: packs ------------------------------------------------------------------


def _rule_pack(rule_lines: str, header: str = "") -> str:
    return (
        'pack: shop\nversion: "1"\ntimezone: Europe/London\n'
        + header
        + "rules:\n  - id: orders-tax\n    applies_to: {category: order}\n"
        + rule_lines
    )


_GOOD_RULE = (
    "    retain:\n      from: {end_of: financial_year, of: placed_at}\n"
    "      for: P6Y\n    then: purge\n"
)

BAD_PACKS = {
    "bad-yaml": ("pack: shop\nrules: [\n  - {id: x\n", ["not valid YAML"]),
    "not-a-mapping": ("- just\n- a list\n", ["a rule pack is a mapping"]),
    "empty-file": ("", ["a rule pack is a mapping"]),
    "unknown-rule-key": (
        _rule_pack(_GOOD_RULE + "    aplies_to: {category: order}\n"),
        ["rule 'orders-tax'", "key 'aplies_to'", "did you mean 'applies_to'?"],
    ),
    "unknown-pack-key": (
        _rule_pack(_GOOD_RULE, header="timezon: Europe/London\n"),
        ["key 'timezon'", "did you mean 'timezone'?"],
    ),
    "bad-period": (
        _rule_pack("    retain:\n      from: placed_at\n      for: 6 years\n    then: purge\n"),
        ["rule 'orders-tax'", "key 'retain.for'", "6 years"],
    ),
    "negative-period": (
        _rule_pack("    retain:\n      from: placed_at\n      for: -P6Y\n    then: purge\n"),
        ["rule 'orders-tax'", "key 'retain.for'"],
    ),
    "unknown-anchor-kind": (
        _rule_pack(
            "    retain:\n      from: {end_of: finacial_year, of: placed_at}\n"
            "      for: P6Y\n    then: purge\n"
        ),
        ["rule 'orders-tax'", "key 'retain.from.end_of'", "did you mean 'financial_year'?"],
    ),
    "bad-time-zone": (
        _rule_pack(_GOOD_RULE).replace("Europe/London", "Europe/Londn"),
        ["key 'timezone'", "Europe/Londn", "did you mean 'Europe/London'?"],
    ),
    "bad-month-day": (
        _rule_pack(_GOOD_RULE, header='financial_year_end: "13-31"\n'),
        ["key 'financial_year_end'", "13"],
    ),
    "day-not-in-month": (
        _rule_pack(_GOOD_RULE, header='financial_year_end: "02-30"\n'),
        ["key 'financial_year_end'"],
    ),
    "month-day-not-quoted": (
        _rule_pack(_GOOD_RULE, header="financial_year_end: 331\n"),
        ["key 'financial_year_end'", "quote it"],
    ),
    "bad-action": (
        _rule_pack(_GOOD_RULE.replace("then: purge", "then: purgee")),
        ["rule 'orders-tax'", "key 'then'", "did you mean 'purge'?"],
    ),
    "newline-in-key": (
        _rule_pack(_GOOD_RULE + '    "bad\\nkey": 1\n'),
        ["rule 'orders-tax'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_PACKS))
def test_pack_that_does_not_load(write: Write, order_record: Path, case: str) -> None:
    text, fragments = BAD_PACKS[case]
    pack = write("bad.yaml", text)
    run = invoke("explain", "--rules", pack, "--record", order_record, "--at", AT, "--json")
    assert_bad_input(run, str(pack), *fragments)


def test_pack_error_names_the_line(write: Write, order_record: Path) -> None:
    text = _rule_pack(_GOOD_RULE + "    aplies_to: {category: order}\n")
    line = text.splitlines().index("    aplies_to: {category: order}") + 1
    pack = write("bad.yaml", text)
    run = invoke("explain", "--rules", pack, "--record", order_record, "--at", AT)
    assert_bad_input(run, f"{pack}:{line}")


def test_one_bad_pack_among_good_ones(write: Write, shop_pack: Path, order_record: Path) -> None:
    bad = write("packs/bad.yaml", "pack: [")
    write("packs/ledger.yaml", LEDGER_PACK)
    run = invoke(
        "explain",
        "--rules",
        shop_pack,
        "--rules",
        bad.parent,
        "--record",
        order_record,
        "--at",
        AT,
    )
    assert_bad_input(run, str(bad))


def test_duplicate_pack_ids(write: Write, shop_pack: Path, order_record: Path) -> None:
    other = write("other/shop.yaml", SHOP_PACK)
    run = invoke(
        "explain", "--rules", shop_pack, "--rules", other, "--record", order_record, "--at", AT
    )
    assert_bad_input(run, str(other), "'shop'")


def test_missing_pack_file(tmp_path: Path, order_record: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = invoke("explain", "--rules", missing, "--record", order_record, "--at", AT)
    assert_bad_input(run, str(missing), "no such file")


def test_empty_folder(tmp_path: Path, order_record: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    run = invoke("explain", "--rules", folder, "--record", order_record, "--at", AT)
    assert_bad_input(run, str(folder), "no rule packs")


# -- bad input: records ----------------------------------------------------------------


def test_missing_record_file(shop_pack: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    run = invoke("explain", "--rules", shop_pack, "--record", missing, "--at", AT, "--json")
    assert_bad_input(run, str(missing), "no such file")


def test_record_that_is_a_folder(shop_pack: Path, tmp_path: Path) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", tmp_path, "--at", AT)
    assert_bad_input(run, str(tmp_path))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ("category: order", "not valid JSON"),
        ('[{"category": "order"}]', "not a JSON array"),
        ('"order"', "not a JSON string"),
        ("42", "not a JSON number"),
        ("true", "not a JSON true/false"),
        ("null", "not a JSON null"),
        ('{"category": "order", "category": "quote"}', "key 'category' appears twice"),
    ],
)
def test_record_that_is_not_a_json_object(
    shop_pack: Path, write: Write, text: str, fragment: str
) -> None:
    record = write("record.json", text)
    run = invoke("explain", "--rules", shop_pack, "--record", record, "--at", AT, "--json")
    assert_bad_input(run, str(record), fragment)


def test_record_that_is_not_utf8(shop_pack: Path, tmp_path: Path) -> None:
    record = tmp_path / "latin1.json"
    record.write_bytes('{"category": "caf\xe9"}'.encode("latin-1"))
    run = invoke("explain", "--rules", shop_pack, "--record", record, "--at", AT)
    assert_bad_input(run, str(record))


@pytest.mark.parametrize(
    "value", ["yesterday", "2019-13-01", "01/05/2019", 20190501, True, ["2019-05-01"]]
)
def test_record_field_that_is_not_a_date(
    shop_pack: Path, write_record: WriteRecord, value: object
) -> None:
    record = write_record({"category": "order", "placed_at": value})
    run = invoke("explain", "--rules", shop_pack, "--record", record, "--at", AT, "--json")
    assert_bad_input(run, str(record), "rule 'orders-tax'", "field 'placed_at'")


@pytest.mark.parametrize("placed_at", ["9995-01-01", "9999-12-31T23:59:59-05:00", "9999-12-31"])
def test_a_record_kept_past_the_end_of_the_calendar_is_retained_to_its_end(
    shop_pack: Path, write_record: WriteRecord, placed_at: str
) -> None:
    """9995-03-31 + P6Y is past 9999-12-31: kept to the calendar's last day, never due."""
    record = write_record({"category": "order", "placed_at": placed_at})
    decision = explain_json(shop_pack, record)
    assert (decision["status"], decision["disposal_date"]) == ("retained", "9999-12-31")


def test_unmatched_record_with_a_bad_date_is_not_an_error(
    shop_pack: Path, write_record: WriteRecord
) -> None:
    record = write_record({"category": "newsletter", "placed_at": "yesterday"})
    decision = explain_json(shop_pack, record)
    assert decision["status"] == "unmatched"


# -- bad input: the command line -------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ("yesterday", "not an ISO 8601"),
        ("2026-13-01", "'2026-13-01' is not a calendar date"),
        ("2026-02-29", "'2026-02-29' is not a calendar date"),
        ("2026-11-22T25:00:00Z", "not an ISO 8601"),
        ("", "not an ISO 8601"),
        ("2026-11-22T09:00:00", "no UTC offset"),
        ("2026-11-22 09:00", "no UTC offset"),
        ("9999-12-31T23:59:59-05:00", "--at"),
        ("0001-01-01T00:00:00+05:00", "--at"),
    ],
)
def test_bad_at(shop_pack: Path, order_record: Path, at: str, fragment: str) -> None:
    run = invoke("explain", "--rules", shop_pack, "--record", order_record, "--at", at, "--json")
    assert_bad_input(run, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--record", "r.json"], "--rules"),
        (["--rules", "shop.yaml"], "--record"),
        ([], "Missing option"),
        (["--rules", "shop.yaml", "--record", "r.json", "--jsno"], "--jsno"),
        (["--rules"], "--rules"),
    ],
)
def test_usage_errors(args: list[str], fragment: str) -> None:
    assert_bad_input(invoke("explain", *args), fragment)


def test_unknown_command() -> None:
    assert_bad_input(invoke("explian"), "explian", "explain")


def test_bad_input_acts_on_nothing_even_with_a_good_record(
    write: Write, order_record: Path
) -> None:
    pack = write("bad.yaml", SHOP_PACK.replace("P6Y", "P6X"))
    run = invoke("explain", "--rules", pack, "--record", order_record, "--at", AT, "--json")
    assert_bad_input(run, str(pack), "rule 'orders-tax'", "retain.for")


# -- end to end: the installed script --------------------------------------------------


def test_script_prints_the_spec_example(shop_pack: Path, order_record: Path) -> None:
    run = run_keepfor(
        "explain", "--rules", shop_pack, "--record", order_record, "--at", AT, "--json"
    )
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert run.json() == SPEC_EXPLAINED


def test_script_reads_stdin(shop_pack: Path) -> None:
    run = run_keepfor(
        "explain",
        "--rules",
        shop_pack,
        "--record",
        "-",
        "--at",
        AT,
        "--json",
        input=json.dumps(ORDER),
    )
    assert run.exit_code == 0, run.stderr
    assert run.json() == SPEC_EXPLAINED


def test_script_readable_output(shop_pack: Path, order_record: Path) -> None:
    run = run_keepfor("explain", "--rules", shop_pack, "--record", order_record, "--at", AT)
    assert run.exit_code == 0, run.stderr
    assert "Why:" in run.stdout
    assert "\x1b[" not in run.stdout


@pytest.mark.parametrize(
    "case",
    [
        "bad-pack",
        "missing-pack",
        "record-not-object",
        "record-bad-date",
        "bad-at",
        "at-out-of-range",
        "missing-rules",
        "stdin-not-json",
    ],
)
def test_script_never_shows_a_traceback(
    write: Write, shop_pack: Path, order_record: Path, tmp_path: Path, case: str
) -> None:
    rules: list[object] = ["--rules", shop_pack]
    record: list[object] = ["--record", order_record]
    at: list[object] = ["--at", AT]
    stdin = None
    fragments: list[str] = []
    if case == "bad-pack":
        bad = write("bad.yaml", BAD_PACKS["unknown-anchor-kind"][0])
        rules = ["--rules", bad]
        fragments = [str(bad), "rule 'orders-tax'", "retain.from.end_of"]
    elif case == "missing-pack":
        rules = ["--rules", tmp_path / "nope.yaml"]
        fragments = ["nope.yaml"]
    elif case == "record-not-object":
        record = ["--record", write("r.json", "[1, 2]")]
        fragments = ["r.json"]
    elif case == "record-bad-date":
        record = ["--record", write("r.json", '{"category": "order", "placed_at": "yesterday"}')]
        fragments = ["r.json", "rule 'orders-tax'", "field 'placed_at'"]
    elif case == "bad-at":
        at = ["--at", "2026-11-22T09:00"]
        fragments = ["--at"]
    elif case == "at-out-of-range":
        at = ["--at", "9999-12-31T23:59:59-05:00"]
        fragments = ["--at"]
    elif case == "missing-rules":
        rules = []
        fragments = ["--rules"]
    elif case == "stdin-not-json":
        record = ["--record", "-"]
        stdin = "not json"
        fragments = ["<stdin>"]
    run = run_keepfor("explain", *rules, *record, *at, "--json", input=stdin)
    assert_bad_input(run, *fragments)


# -- help and version ------------------------------------------------------------------


def test_no_command_prints_the_help_on_stderr() -> None:
    run = invoke()
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("Usage: keepfor")
    assert "explain" in run.stderr
    assert "validate" in run.stderr
    assert len(run.stderr.splitlines()) > 1  # the help as it is, not squashed into one line


def test_explain_help() -> None:
    run = invoke("explain", "--help")
    assert run.exit_code == 0
    assert run.stderr == ""
    for option in ("--rules", "--record", "--at", "--json", "--detail"):
        assert option in run.stdout


def test_version() -> None:
    import keepfor

    run = invoke("--version")
    assert run.exit_code == 0
    assert run.stdout == f"keepfor, version {keepfor.__version__}\n"
