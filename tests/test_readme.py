"""The README's two set-up commands stay true, and every example script runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return [b.strip() for b in blocks if b.strip().startswith("python3 -m venv")]


def test_readme_has_exactly_two_setup_commands() -> None:
    assert len(readme_commands()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = readme_commands()
    last = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert last == tests


def test_main_job_runs_on_the_embedded_example() -> None:
    main, _ = readme_commands()
    job = main.split("&& ")[-1]
    assert job.startswith(".venv/bin/keepfor report")
    args = job.split()[1:]
    run = subprocess.run(
        [str(BIN / "keepfor"), *args, "--at", "2026-11-22"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "16 due" in run.stdout
    assert "orders-tax" in run.stdout


def test_example_store_matches_its_csv(tmp_path: Path) -> None:
    """examples/shop.db is what examples/make_shop_db.py makes from the CSV."""
    fresh = tmp_path / "shop.db"
    subprocess.run([sys.executable, "examples/make_shop_db.py", str(fresh)], cwd=ROOT, check=True)
    reports = [
        subprocess.run(
            [
                str(BIN / "keepfor"),
                "report",
                "--rules",
                "rules/",
                "--db",
                f"sqlite:///{db}",
                "--at",
                "2026-11-22",
                "--format",
                "json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for db in (ROOT / "examples" / "shop.db", fresh)
    ]
    assert reports[0] == reports[1]


WITH_SERVERS = {"crm_sync_job.py": "tests/test_crm_sync_job.py"}
"""Examples that need a server to talk to, and the tests that run them against one."""


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "examples").glob("*.py")), ids=str
)
def test_every_example_script_runs(script: str, tmp_path: Path) -> None:
    if script in WITH_SERVERS:
        assert (ROOT / WITH_SERVERS[script]).exists()
        return  # run there, against the servers it needs
    args = [str(tmp_path / "out.db")] if script == "make_shop_db.py" else []
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()


def test_example_config_reports_the_same_as_the_store_url() -> None:
    def csv_of(*args: str) -> str:
        return subprocess.run(
            [
                str(BIN / "keepfor"),
                "report",
                "--rules",
                "rules/",
                *args,
                "--at",
                "2026-11-22",
                "--format",
                "csv",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    by_config = csv_of("--config", "examples/keepfor.toml")
    by_url = csv_of("--db", "sqlite:///examples/shop.db")  # the source is named "store"
    assert by_config == by_url.replace(",store,", ",shop,")
    assert by_config.count("\n") == 17  # the header and 16 due records
