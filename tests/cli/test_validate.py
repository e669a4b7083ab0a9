"""``keepfor validate PATH...``: one line per pack, exit 2 if any does not load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import LEDGER_PACK, SHOP_PACK, assert_bad_input, invoke, run_keepfor

Write = Callable[[str, str], Path]

REPO = Path(__file__).resolve().parents[2]
BAD_PERIOD = SHOP_PACK.replace("for: P6Y", "for: six years")
BAD_ZONE = LEDGER_PACK.replace("Europe/London", "Europe/Londn")


def ok_line(path: Path, pack: str, version: str, rules: int) -> str:
    return f"ok {path}: pack {pack} {version}, {rules} rules"


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
