"""``keepfor report``, ``explain --id`` and ``sweep`` on export files (``kind = "csv"`` and
``"jsonl"``) named by a config: every format, the buckets adding up, the unreadable
records listed, bad files as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import AT, invoke, run_keepfor

PACK = """\
pack: crm
version: "1"
timezone: Europe/London
rules:
  - id: contacts
    applies_to: {category: contact}
    where: {tier: 5}
    retain: {from: last_activity_at, for: P2Y}
    then: purge
  - id: leads
    applies_to: {category: lead}
    retain: {from: last_activity_at, for: P1Y}
    then: anonymise
"""

ROWS = [
    {"id": "1", "type": "contact", "tier": "5", "seen": "01/02/2020", "email": "a@x.com"},
    {"id": "2", "type": "contact", "tier": "5", "seen": "n/a", "email": "b@x.com"},
    {"id": "3", "type": "lead", "tier": "1", "seen": "2026-01-01", "email": "c@x.com"},
    {"id": "4", "type": "lead", "tier": "1", "seen": "2020-01-01", "email": "d@x.com"},
    {"id": "5", "type": "contact", "tier": "4", "seen": "2020-01-01", "email": "e@x.com"},
    {"id": "6", "type": "other", "tier": "", "seen": "", "email": "f@x.com"},
]


def setup(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """The pack and a config whose one source is the rows as a ``kind`` file."""
    if kind == "csv":
        header = list(ROWS[0])
        lines = [",".join(header), *(",".join(row[c] for c in header) for row in ROWS)]
        (tmp_path / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        rows = [{**row, "tier": int(row["tier"]) if row["tier"] else None} for row in ROWS]
        text = "".join(json.dumps(row) + "\n" for row in rows)
        (tmp_path / "export.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / "crm.yaml").write_text(PACK, encoding="utf-8")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f"""\
[sources.export]
kind = "{kind}"
path = "export.{kind}"
key = "id"
category_column = "type"
date_formats = ["%d/%m/%Y"]
max_disposal_share = 1.0
[sources.export.fields]
last_activity_at = "seen"
[sources.export.anonymise]
email = "fixed:(removed)"
""",
        encoding="utf-8",
    )
    return tmp_path / "crm.yaml", config


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_report_on_a_file_counts_every_record_once(tmp_path: Path, kind: str) -> None:
    pack, config = setup(tmp_path, kind)
    run = invoke("report", "--rules", pack, "--config", config, "--at", AT, "--format", "json")
    assert run.exit_code == 0, run.stderr
    report = run.json()
    counts = report["sources"][0]["counts"]
    assert counts == {
        "total": 6, "due": 2, "retained": 1, "waiting": 0, "held": 0, "unmatched": 2,
        "unreadable": 1,
    }  # fmt: skip
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    assert sorted((d["key"], d["action"]) for d in report["due"]) == [
        ("1", "purge"),
        ("4", "anonymise"),
    ]
    (unreadable,) = report["unreadable"]
    assert (unreadable["key"], unreadable["field"], unreadable["value"]) == (
        "2",
        "last_activity_at",
        "n/a",
    )


@pytest.mark.parametrize("fmt", ["table", "csv", "html"])
def test_every_report_format_works_on_a_file(tmp_path: Path, fmt: str) -> None:
    pack, config = setup(tmp_path, "csv")
    run = invoke("report", "--rules", pack, "--config", config, "--at", AT, "--format", fmt)
    assert run.exit_code == 0, run.stderr
    assert "n/a" in run.stdout or fmt == "csv"
    assert "anonymise" in run.stdout


def test_explain_reads_one_record_of_a_file(tmp_path: Path) -> None:
    pack, config = setup(tmp_path, "jsonl")
    run = invoke("explain", "--rules", pack, "--config", config, "--id", "4", "--at", AT, "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["status"] == "due"
    missing = invoke("explain", "--rules", pack, "--config", config, "--id", "9", "--at", AT)
    assert missing.exit_code == 2
    assert "no record with key '9'" in missing.stderr


def test_sweep_apply_writes_beside_the_file_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-files")
    pack, config = setup(tmp_path, "csv")
    before = (tmp_path / "export.csv").read_bytes()
    args = ("sweep", "--rules", pack, "--config", config, "--at", AT, "--format", "json")
    run = invoke(*args, "--apply")
    assert run.exit_code == 0, run.stderr
    swept = run.json()["sources"]["export"]
    assert (swept["purge"], swept["anonymise"], swept["unreadable"]) == (1, 1, 1)
    assert (tmp_path / "export.csv").read_bytes() == before
    (kept,) = tmp_path.glob("export.kept-*.csv")
    assert [line.split(",")[0] for line in kept.read_text().splitlines()] == [
        "id", "2", "3", "4", "5", "6",
    ]  # fmt: skip
    assert kept.read_text().splitlines()[3] == "4,lead,1,2020-01-01,(removed)"
    (disposed,) = tmp_path.glob("export.disposed-*.csv")
    assert len(disposed.read_text().splitlines()) == 3
    again = invoke(*args, "--apply")
    assert again.json()["sources"]["export"]["purge"] == 0
    verify = invoke("audit", "verify", "--config", config)
    assert verify.exit_code == 0, verify.stderr
    assert "2 entries" in verify.stdout


def test_a_bad_line_is_one_line_and_exit_2_without_a_traceback(tmp_path: Path) -> None:
    pack, config = setup(tmp_path, "jsonl")
    with (tmp_path / "export.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"id": "7", "type": \n')
    run = run_keepfor("report", "--rules", pack, "--config", config, "--at", AT)
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"source 'export': {tmp_path / 'export.jsonl'}: line 7: not valid JSON" in lines[0]
    (tmp_path / "export.jsonl").unlink()
    gone = run_keepfor("report", "--rules", pack, "--config", config, "--at", AT)
    assert gone.exit_code == 2
    assert gone.stderr.strip().endswith("export.jsonl: no such file")


def test_a_hold_on_a_file_source_is_kept_in_its_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-files")
    pack, config = setup(tmp_path, "csv")
    where = ("--config", config, "--source", "export")
    added = invoke("hold", "add", *where, "--id", "4", "--reason", "dispute")
    assert added.exit_code == 0, added.stderr
    listed = invoke("hold", "list", *where, "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [h["record"] for h in listed.json()] == ["4"]
    run = invoke("report", "--rules", pack, "--config", config, "--at", AT, "--format", "json")
    counts = run.json()["sources"][0]["counts"]
    assert (counts["held"], counts["due"]) == (1, 1)
    swept = invoke("sweep", "--rules", pack, "--config", config, "--at", AT, "--apply",
                   "--format", "json")  # fmt: skip
    assert swept.json()["sources"]["export"]["anonymise"] == 0, "a held record is left as it is"
    assert (tmp_path / "keepfor.db").exists()


def test_a_report_on_a_file_writes_nothing(tmp_path: Path) -> None:
    pack, config = setup(tmp_path, "csv")
    before = sorted(p.name for p in tmp_path.iterdir())
    run = invoke("report", "--rules", pack, "--config", config, "--at", AT, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_dry_run_sweep_on_a_file_writes_nothing_and_apply_makes_the_state_db(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No state database yet: a dry run makes none (not even an empty file); --apply
    does, for its audit trail and marks."""
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-files")
    pack, config = setup(tmp_path, kind)
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt in ("json", "table"):
        dry = invoke("sweep", "--rules", pack, "--config", config, "--at", AT, "--format", fmt)
        assert dry.exit_code == 0, dry.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    swept = invoke("sweep", "--rules", pack, "--config", config, "--at", AT, "--apply",
                   "--format", "json")  # fmt: skip
    assert swept.exit_code == 0, swept.stderr
    assert swept.json()["sources"]["export"]["purge"] == 1
    assert (tmp_path / "keepfor.db").stat().st_size > 0


def test_the_daemon_sweeps_a_file_source_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-files")
    pack, config = setup(tmp_path, "csv")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("max_disposal_share = 1.0\n", "max_disposal_share = 1.0\napply = true\n"),
        encoding="utf-8",
    )
    run = run_keepfor("daemon", "--rules", pack, "--config", config, "--once", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    (kept,) = tmp_path.glob("export.kept-*.csv")
    keys = [line.split(",")[0] for line in kept.read_text().splitlines()[1:]]
    assert keys == ["2", "3", "4", "5", "6"], "record 1 was purged"
    status = run_keepfor("status", "--config", config, "--format", "json", cwd=tmp_path)
    assert status.exit_code == 0, status.stderr
    verify = run_keepfor("audit", "verify", "--config", config, cwd=tmp_path)
    assert verify.exit_code == 0, verify.stderr
    assert "2 entries" in verify.stdout


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_file_refuses_archive_rules_in_one_line_and_writes_nothing(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", "0123456789abcdef-files")
    pack, config = setup(tmp_path, kind)
    pack.write_text(PACK.replace("then: anonymise", "then: archive"), encoding="utf-8")
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT, "--apply")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.count("\n") == 1, run.stderr
    assert "source 'export': rule 'leads' says 'then: archive'" in run.stderr
    assert sorted(p.name for p in tmp_path.glob("export.*")) == [f"export.{kind}"]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_file_of_one_category_is_not_stopped_by_another_categorys_archive_rule(
    tmp_path: Path, kind: str
) -> None:
    """With ``category = "contact"`` for every record, the leads' archive rule can cover
    none of them: the sweep goes on."""
    pack, config = setup(tmp_path, kind)
    pack.write_text(PACK.replace("then: anonymise", "then: archive"), encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('category_column = "type"', 'category = "contact"'))
    run = invoke("sweep", "--rules", pack, "--config", config, "--at", AT, "--format", "json")
    assert (run.exit_code, run.stderr) == (0, ""), run.stderr
    assert json.loads(run.stdout)["sources"]["export"]["archive"] == 0
