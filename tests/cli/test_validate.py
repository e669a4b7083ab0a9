"""``keepfor validate PATH...``: one line per pack, exit 2 if any does not load."""

from __future__ import annotations

import itertools
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import (
    KEEPFOR,
    LEDGER_PACK,
    SHOP_PACK,
    assert_bad_input,
    invoke,
    run_keepfor,
)

Write = Callable[[str, str], Path]

REPO = Path(__file__).resolve().parents[2]
BAD_PERIOD = SHOP_PACK.replace("for: P6Y", "for: six years")
BAD_ZONE = LEDGER_PACK.replace("Europe/London", "Europe/Londn")


def ok_line(path: Path, pack: str, version: str, rules: int) -> str:
    return f"ok {path}: pack {pack} {version}, {rules} {'rule' if rules == 1 else 'rules'}"


def test_valid_file(shop_pack: Path) -> None:
    run = invoke("validate", shop_pack)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout.splitlines() == [ok_line(shop_pack, "shop", "2026.1", 2)]


def test_valid_folder(write: Write) -> None:
    shop = write("packs/shop.yaml", SHOP_PACK)
    ledger = write("packs/ledger.yml", LEDGER_PACK)
    write("packs/README.md", "not a pack")
    run = invoke("validate", shop.parent)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout.splitlines() == [
        ok_line(ledger, "ledger", "1", 1),
        ok_line(shop, "shop", "2026.1", 2),
    ]


def test_several_paths(write: Write, shop_pack: Path) -> None:
    ledger = write("more/ledger.yaml", LEDGER_PACK)
    run = invoke("validate", shop_pack, ledger.parent)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [
        ok_line(shop_pack, "shop", "2026.1", 2),
        ok_line(ledger, "ledger", "1", 1),
    ]


def test_packs_given_with_rules_as_every_other_command_takes_them(
    write: Write, shop_pack: Path
) -> None:
    ledger = write("more/ledger.yaml", LEDGER_PACK)
    run = invoke("validate", "--rules", shop_pack, "--rules", ledger.parent)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [
        ok_line(shop_pack, "shop", "2026.1", 2),
        ok_line(ledger, "ledger", "1", 1),
    ]


def test_bad_packs_are_each_reported_and_good_ones_still_ok(
    write: Write, shop_pack: Path, tmp_path: Path
) -> None:
    bad_period = write("packs/a-bad-period.yaml", BAD_PERIOD)
    ledger = write("packs/b-ledger.yaml", LEDGER_PACK)
    bad_yaml = write("packs/c-bad-yaml.yaml", "pack: [\n")
    bad_zone = write("zone.yaml", BAD_ZONE)
    missing = tmp_path / "missing.yaml"
    run = invoke("validate", shop_pack, bad_period.parent, bad_zone, missing)
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == [
        ok_line(shop_pack, "shop", "2026.1", 2),
        ok_line(ledger, "ledger", "1", 1),
    ]
    errors = run.stderr.splitlines()
    assert len(errors) == 4, run.stderr
    assert all(line.startswith("keepfor: error: ") for line in errors)
    period, yaml, zone, nothing = errors
    assert str(bad_period) in period
    assert "rule 'orders-tax'" in period
    assert "retain.for" in period
    assert str(bad_yaml) in yaml
    assert "not valid YAML" in yaml
    assert str(bad_zone) in zone
    assert "did you mean 'Europe/London'?" in zone
    assert str(missing) in nothing


@pytest.mark.parametrize(
    ("pack", "rule"),
    [("fz-", "a--b"), ("-fz", "a-"), ("fz--x", "-a")],
)
def test_ids_of_any_hyphens_are_valid(write: Write, pack: str, rule: str) -> None:
    """The contract's ``[a-z0-9-]+``: leading, trailing and double hyphens load."""
    text = SHOP_PACK.replace("pack: shop", f"pack: {pack}")
    path = write("hyphens.yaml", text.replace("id: orders-tax", f'id: "{rule}"'))
    run = invoke("validate", path)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [ok_line(path, pack, "2026.1", 2)]


def test_an_id_that_is_not_one_names_the_rule_grammar(write: Write) -> None:
    path = write("bad.yaml", SHOP_PACK.replace("id: orders-tax", "id: orders_tax"))
    run = invoke("validate", path)
    assert_bad_input(
        run, "'orders_tax' is not an identifier: lower-case letters, digits and hyphens"
    )


def test_an_empty_timezone_is_a_missing_timezone(write: Write) -> None:
    path = write("tz.yaml", SHOP_PACK.replace("timezone: Europe/London", 'timezone: ""'))
    run = invoke("validate", path)
    line = assert_bad_input(run, f"{path}:3, key 'timezone': a pack needs 'timezone'")
    assert "must be text" not in line


def test_error_names_the_line(write: Write) -> None:
    bad = write("bad.yaml", BAD_PERIOD)
    line = BAD_PERIOD.splitlines().index("      for: six years") + 1
    run = invoke("validate", bad)
    assert_bad_input(run, f"{bad}:{line}", "rule 'orders-tax'", "key 'retain.for'")


def test_an_error_is_one_line_even_when_the_pack_has_a_newline_in_a_key(write: Write) -> None:
    bad = write("bad.yaml", SHOP_PACK + '    "bad\\nkey": 1\n')
    assert_bad_input(invoke("validate", bad), str(bad), "rule 'complaints'")


def test_duplicate_pack_ids_across_files(write: Write, shop_pack: Path) -> None:
    again = write("again/shop.yaml", SHOP_PACK)
    run = invoke("validate", shop_pack, again)
    assert run.exit_code == 2
    assert run.stdout.splitlines() == [
        ok_line(shop_pack, "shop", "2026.1", 2),
        ok_line(again, "shop", "2026.1", 2),
    ]
    [error] = run.stderr.splitlines()
    assert error.startswith("keepfor: error: ")
    assert str(again) in error
    assert "pack id 'shop' is loaded twice" in error


def test_the_same_file_named_twice_is_not_a_duplicate(shop_pack: Path) -> None:
    run = invoke("validate", shop_pack, shop_pack.parent)
    assert run.exit_code == 0, run.stderr


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert_bad_input(invoke("validate", missing), str(missing), "no such file or folder")


def test_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert_bad_input(invoke("validate", folder), str(folder), "no rule packs")


def test_no_paths() -> None:
    assert_bad_input(invoke("validate"), "PATHS")


def test_script_validate_end_to_end(write: Write, shop_pack: Path) -> None:
    bad = write("bad.yaml", BAD_PERIOD)
    run = run_keepfor("validate", shop_pack, bad)
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == [ok_line(shop_pack, "shop", "2026.1", 2)]
    [error] = run.stderr.splitlines()
    assert error.startswith(f"keepfor: error: {bad}:")


def test_repository_rules_folder_validates() -> None:
    rules = REPO / "rules"
    packs = sorted([*rules.glob("*.yaml"), *rules.glob("*.yml")]) if rules.is_dir() else []
    if not packs:
        pytest.skip("the repository's rules/ folder holds no packs yet")
    run = run_keepfor("validate", "rules/", cwd=REPO)
    assert "Traceback" not in run.stderr
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert len(lines) == len(packs)
    assert all(line.startswith("ok rules/") for line in lines), lines


def test_one_rule_is_one_rule_not_one_rules(ledger_pack: Path) -> None:
    run = invoke("validate", ledger_pack)
    assert run.stdout == f"ok {ledger_pack}: pack ledger 1, 1 rule\n"


def test_a_version_is_shown_on_one_line(write: Write) -> None:
    pack = write("v.yaml", LEDGER_PACK.replace('version: "1"', 'version: "1\\n2"'))
    assert invoke("validate", pack).stdout == f"ok {pack}: pack ledger 1\\n2, 1 rule\n"


# -- hostile packs from a security probe: one line, exit 2, never an internal error ----------

RULE_LINE = LEDGER_PACK.splitlines().index("    then: review") + 1
"""The line of the ledger rule's last key; a key added after it is on the next line."""


def ledger_with(extra: str) -> str:
    """LEDGER_PACK with ``extra`` (one line) added as the rule's last key."""
    return LEDGER_PACK.replace("    then: review\n", f"    then: review\n    {extra}\n")


def billion_laughs(levels: int) -> str:
    """Nested aliases, 9**levels items if expanded."""
    names = "abcdefghi"[:levels]
    lists = ['&a ["x","x","x","x","x","x","x","x","x"]']
    lists += [f"&{n} [{','.join([f'*{p}'] * 9)}]" for p, n in itertools.pairwise(names)]
    return f"[{','.join(lists)}]"


def nested_latest_of(depth: int) -> str:
    term = "{from: placed_at, for: P1Y}"
    for _ in range(depth):
        term = f"{{latest_of: [{term}]}}"
    return term


HOSTILE = [
    pytest.param(
        ledger_with(f"source: {billion_laughs(6)}"),
        [f":{RULE_LINE + 1}:", "YAML anchors and aliases (&a) are not allowed"],
        id="billion-laughs-as-source",
    ),
    pytest.param(
        ledger_with(f"extra: {billion_laughs(6)}"),
        [f":{RULE_LINE + 1}:", "YAML anchors and aliases (&a) are not allowed"],
        id="billion-laughs-as-unknown-key",
    ),
    pytest.param(
        ledger_with("source: 2024-02-30"),
        [f":{RULE_LINE + 1},", "rule 'orders-ledger'", "key 'source'", "'2024-02-30'"],
        id="impossible-date",
    ),
    pytest.param(
        ledger_with("source: !!int x"),
        [f":{RULE_LINE + 1}:", "YAML tags (!!int) are not allowed"],
        id="tag-int",
    ),
    pytest.param(
        ledger_with("source: !!timestamp x"),
        [f":{RULE_LINE + 1}:", "YAML tags (!!timestamp)"],
        id="tag-timestamp",
    ),
    pytest.param(
        ledger_with("source: !!python/object/apply:os.system [echo hi]"),
        [f":{RULE_LINE + 1}:", "YAML tags (!!python/object/apply:os.system)"],
        id="tag-python-object",
    ),
    pytest.param(
        ledger_with("source: " + "9" * 5000),
        ["rule 'orders-ledger'", "key 'source'", "a number of 5000 characters is too long"],
        id="5000-digit-integer",
    ),
    pytest.param(
        LEDGER_PACK.replace(
            "    retain:\n      from: placed_at\n      for: P7Y\n",
            f"    retain: {nested_latest_of(200)}\n",
        ),
        [":8:", "nested more than 64 levels deep"],
        id="latest-of-200-deep",
    ),
    pytest.param(
        "- pack: ledger\n- rules: []\n", ["a rule pack is a mapping", "not a list"], id="list"
    ),
    pytest.param("ledger\n", ["a rule pack is a mapping", "not 'ledger'"], id="scalar"),
    pytest.param("x" * 100_000 + "\n", ["'xxxx", "... (100000 characters)"], id="long-scalar"),
    pytest.param(
        LEDGER_PACK.replace('version: "1"', 'version: "\\ud800"'),
        [":2,", "key 'version'", "lone surrogate"],
        id="lone-surrogate",
    ),
    pytest.param(LEDGER_PACK + "---\n" + LEDGER_PACK, ["expected a single document"], id="2-docs"),
    pytest.param(
        LEDGER_PACK.replace("pack: ledger", "pack: led\x01ger"),
        [":1:", "unacceptable character #x0001"],
        id="control-character",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), HOSTILE)
def test_a_hostile_pack_is_one_short_line(write: Write, text: str, fragments: list[str]) -> None:
    pack = write("hostile.yaml", text)
    line = assert_bad_input(invoke("validate", pack), f"keepfor: error: {pack}", *fragments)
    assert len(line) < 400, line[:400]


def test_a_pack_that_is_not_utf8(tmp_path: Path) -> None:
    pack = tmp_path / "latin1.yaml"
    pack.write_bytes(LEDGER_PACK.replace("The ledger", "Le r\xe9gistre").encode("latin-1"))
    assert_bad_input(invoke("validate", pack), f"{pack}:6: not UTF-8 text (byte 0xe9")


def test_a_path_too_long(tmp_path: Path) -> None:
    assert_bad_input(invoke("validate", tmp_path / ("a" * 5000)), "File name too long")


def test_the_billion_laughs_stays_small_end_to_end(write: Write) -> None:
    """The probe's pack: 9 levels of aliases (387 million items) in under 400 bytes. Before
    the fix `keepfor validate` used ~1-4 GB and printed a line of 58-250 MB; the child
    runs here with 1 GB of address space, so a regression fails fast instead of swapping."""
    pack = write("laughs.yaml", ledger_with(f"source: {billion_laughs(9)}"))
    done = subprocess.run(
        [str(KEEPFOR), "validate", str(pack)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)),
    )
    assert done.returncode == 2, done.stderr[:500]
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "YAML anchors and aliases (&a) are not allowed" in line
    assert len(line) < 300
