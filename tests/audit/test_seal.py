"""The head's seal: an HMAC under the audit key of the head digest and the entry count,
written with the head, so that a trail whose newest entries were removed (or whose
entries were rewritten) with every unkeyed digest recomputed no longer verifies, on
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepfor.audit import append, ensure, verify
from keepfor.audit.chain import batch_digest, head_seal
from keepfor.audit.entry import hash_of
from keepfor.audit.table import GENESIS, audit, batches, has_seal, head, py_time
from keepfor.audit.verify import SEAL_CHECKED, SEAL_NOT_CHECKED, UNSEALED, VerifyResult
from keepfor.database import create_engine
from tests.actions.test_sweep import KEY, LINES, NO_CHILDREN, SETTINGS, _sweep, make_tables
from tests.audit.conftest import pending
from tests.cli.conftest import invoke

OTHER_KEY = b"another-audit-key-0123456789"


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPFOR_AUDIT_KEY", raising=False)


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPFOR_AUDIT_KEY", KEY.decode())


def _engine(url: str) -> sa.Engine:
    return create_engine(url)


def _head(url: str) -> tuple[int, str, str | None]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(head.c.last_sequence, head.c.digest, head.c.seal)).one()
    finally:
        engine.dispose()
    return int(row[0]), str(row[1]), row[2]


def _write(url: str, *steps: Callable[[sa.Connection], object]) -> None:
    """Each step in a transaction of its own, on ``url``'s database."""
    engine = _engine(url)
    try:
        for step in steps:
            with engine.begin() as conn:
                step(conn)
    finally:
        engine.dispose()


def _verify(url: str, key: bytes | None) -> VerifyResult:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return verify(conn, key=key)
    finally:
        engine.dispose()


@pytest.fixture(params=["python", "in-sql"])
def swept(request: pytest.FixtureRequest, db_url: str) -> str:
    """A database an applied sweep (batches of 7) audited; ``in-sql``: purges without
    child rows, which PostgreSQL audits in the statement that deletes."""
    url = make_tables(db_url)
    settings = SETTINGS
    if request.param == "in-sql":
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {LINES}"))
        engine.dispose()
        settings = NO_CHILDREN
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        result = _sweep(url, apply=True, batch_size=7, settings=settings)
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert result.failures == []
    in_sql = any("DELETE FROM" in s and "INSERT INTO keepfor_audit" in s for s in seen)
    assert in_sql == (request.param == "in-sql" and url.startswith("postgresql"))
    return url


def test_the_message_sealed_is_the_documented_one() -> None:
    digest = "ab" * 32
    message = b"keepfor-audit-seal-1\x1f" + digest.encode() + b"\x1f42"
    assert head_seal(KEY, digest, 42) == hmac.new(KEY, message, hashlib.sha256).hexdigest()
    assert head_seal(KEY, digest, 42) != head_seal(KEY, digest, 41)
    assert head_seal(KEY, digest, 42) != head_seal(OTHER_KEY, digest, 42)


def test_a_sweep_seals_the_head(swept: str) -> None:
    last, digest, seal = _head(swept)
    assert last > 7  # several batches
    assert seal == head_seal(KEY, digest, last)
    result = _verify(swept, KEY)
    assert (result.ok, result.entries, result.seal) == (True, last, SEAL_CHECKED)
    unchecked = _verify(swept, None)
    assert (unchecked.ok, unchecked.seal) == (True, SEAL_NOT_CHECKED)


def _remove_newest(url: str) -> int:
    """What an attacker who can write to the database but has no key does: delete the
    newest entry, recompute its batch's digest and the head; the seal is left as it was
    (it cannot be recomputed). Returns the number of entries left."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            last = int(conn.execute(sa.select(sa.func.max(audit.c.sequence))).scalar_one())
            conn.execute(audit.delete().where(audit.c.sequence == last))
            batch = conn.execute(sa.select(batches).where(batches.c.last_sequence == last)).one()
            first = int(batch.first_sequence)
            if first == last:
                conn.execute(batches.delete().where(batches.c.first_sequence == first))
                digest = str(batch.previous)
            else:
                hashes = conn.execute(
                    sa.select(audit.c.hash)
                    .where(audit.c.sequence.between(first, last - 1))
                    .order_by(audit.c.sequence)
                ).scalars()
                digest = batch_digest(batch.previous, first, last - 1, hashes)
                conn.execute(
                    batches.update()
                    .where(batches.c.first_sequence == first)
                    .values(last_sequence=last - 1, digest=digest)
                )
            conn.execute(head.update().values(last_sequence=last - 1, digest=digest))
    finally:
        engine.dispose()
    return last - 1


def _rewrite_first(url: str) -> None:
    """Rewrite entry 1 (its outcome) and recompute its hash, every batch digest after it
    and the head: every unkeyed check passes."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.select(audit).where(audit.c.sequence == 1)).one()
            texts = [row._mapping[n] for n in ("sweep_id", "batch_id", "source", "record")]
            rest = [row._mapping[n] for n in ("rule_id", "pack_id", "pack_version", "action")]
            value = hash_of(1, py_time(row.time), [*texts, *rest, "skipped"])
            conn.execute(
                audit.update().where(audit.c.sequence == 1).values(outcome="skipped", hash=value)
            )
            previous = GENESIS
            for batch in conn.execute(sa.select(batches).order_by(batches.c.first_sequence)).all():
                first, last = int(batch.first_sequence), int(batch.last_sequence)
                hashes = conn.execute(
                    sa.select(audit.c.hash)
                    .where(audit.c.sequence.between(first, last))
                    .order_by(audit.c.sequence)
                ).scalars()
                digest = batch_digest(previous, first, last, hashes)
                conn.execute(
                    batches.update()
                    .where(batches.c.first_sequence == first)
                    .values(previous=previous, digest=digest)
                )
                previous = digest
            conn.execute(head.update().values(digest=previous))
    finally:
        engine.dispose()


@pytest.mark.usefixtures("with_key")
def test_verify_with_the_key_passes_a_sealed_trail(swept: str) -> None:
    last, digest, _ = _head(swept)
    run = invoke("audit", "verify", "--db", swept)
    assert (run.exit_code, run.stderr) == (0, ""), run
    assert run.stdout == f"{last} entries, intact (head {digest}), seal checked\n"


@pytest.mark.usefixtures("with_key")
def test_the_newest_entry_removed_and_the_head_recomputed_fails_with_the_key(swept: str) -> None:
    left = _remove_newest(swept)
    assert _verify(swept, None).ok  # what the audit found
    result = _verify(swept, KEY)
    assert not result.ok
    assert result.first_bad == left + 1
    run = invoke("audit", "verify", "--db", swept)
    assert run.exit_code == 1, run
    assert run.stdout == (
        "NOT INTACT: the head's seal does not match the audit key: entries may have been "
        f"removed after entry {left}, or entries up to it rewritten (or this is not the key "
        "the trail was sealed with)\n"
    )


@pytest.mark.usefixtures("with_key")
def test_an_entry_rewritten_with_every_digest_recomputed_fails_with_the_key(swept: str) -> None:
    _rewrite_first(swept)
    assert _verify(swept, None).ok
    run = invoke("audit", "verify", "--db", swept)
    assert run.exit_code == 1, run
    assert "the head's seal does not match the audit key" in run.stdout


@pytest.mark.usefixtures("no_key")
def test_a_wrong_key_fails(swept: str, tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_text(OTHER_KEY.decode() + "\n")
    config = tmp_path / "keepfor.toml"
    config.write_text(
        f'[keepfor]\naudit_key_file = "audit.key"\n\n[sources.shop]\nurl = "{swept}"\n'
    )
    run = invoke("audit", "verify", "--config", config)
    assert run.exit_code == 1, run
    assert run.stdout.startswith("source 'shop': NOT INTACT: the head's seal does not match")
    key_file.write_text(KEY.decode() + "\n")  # the right key, from the config's key file
    run = invoke("audit", "verify", "--config", config)
    assert run.exit_code == 0, run
    assert run.stdout.endswith("intact (head " + _head(swept)[1] + "), seal checked\n")


@pytest.mark.usefixtures("no_key")
def test_without_a_key_the_line_is_as_before_and_the_seal_not_checked(swept: str) -> None:
    last, digest, _ = _head(swept)
    run = invoke("audit", "verify", "--db", swept)
    assert run.exit_code == 0, run
    assert run.stdout == f"{last} entries, intact (head {digest})\n"
    assert run.stderr.startswith("keepfor: note: the head's seal was not checked: no audit key")
    assert "KEEPFOR_AUDIT_KEY" in run.stderr
    _remove_newest(swept)  # without the key, what the seal guards is not seen
    assert invoke("audit", "verify", "--db", swept).exit_code == 0


def _old_trail(url: str) -> None:
    """A trail as an older keepfor left it: entries, and a head table without ``seal``."""

    def unsealable(conn: sa.Connection) -> None:
        assert not has_seal(conn)

    _write(
        url,
        ensure,
        lambda conn: append(conn, pending(3)),
        lambda conn: append(conn, pending(2, start=3, batch="b2")),
        lambda conn: conn.execute(sa.text(f"ALTER TABLE {head.name} DROP COLUMN seal")),
        unsealable,
    )


@pytest.mark.usefixtures("with_key")
def test_a_trail_written_before_seals_verifies_and_says_it_is_unsealed(db_url: str) -> None:
    _old_trail(db_url)
    result = _verify(db_url, KEY)
    assert (result.ok, result.entries, result.seal) == (True, 5, UNSEALED)
    run = invoke("audit", "verify", "--db", db_url)
    assert run.exit_code == 0, run
    assert run.stdout.startswith("5 entries, intact (head ")
    assert "unsealed" in run.stderr
    # the next keepfor to write adds the column; the next batch written with the key seals
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            ensure(conn)
        with engine.begin() as conn:
            ensure(conn)  # twice: nothing more to do
            assert has_seal(conn)
            assert conn.execute(sa.select(head.c.seal)).scalar() is None
        assert _verify(db_url, KEY).seal == UNSEALED
        with engine.begin() as conn:
            append(conn, pending(1, start=5, batch="b3"), key=KEY)
    finally:
        engine.dispose()
    result = _verify(db_url, KEY)
    assert (result.ok, result.entries, result.seal) == (True, 6, SEAL_CHECKED)


def test_a_batch_appended_without_the_key_leaves_the_head_unsealed(db_url: str) -> None:
    _write(
        db_url,
        ensure,
        lambda conn: append(conn, pending(2), key=KEY),
        lambda conn: append(conn, pending(1, start=2, batch="b2")),
    )
    result = _verify(db_url, KEY)
    assert (result.ok, result.seal) == (True, UNSEALED)
    assert _head(db_url)[2] is None


@pytest.mark.usefixtures("with_key")
def test_a_seal_that_is_not_hex_is_a_fault_not_a_crash(db_url: str) -> None:
    _write(
        db_url,
        ensure,
        lambda conn: append(conn, pending(2), key=KEY),
        lambda conn: conn.execute(head.update().values(seal="\u00e9" * 10)),
    )
    run = invoke("audit", "verify", "--db", db_url)
    assert run.exit_code == 1, run
    assert "the head's seal does not match the audit key" in run.stdout


def _strip_seal(url: str) -> None:
    """What an attacker who knows of the seal does after :func:`_remove_newest`: clear
    it, so that the head looks like one written before seals."""
    _write(url, lambda conn: conn.execute(head.update().values(seal=None)))


@pytest.mark.usefixtures("with_key")
def test_require_seal_fails_a_head_whose_seal_was_cleared(swept: str) -> None:
    left = _remove_newest(swept)
    _strip_seal(swept)
    # by default an unsealed head passes, with a note: it may be a trail from before seals
    run = invoke("audit", "verify", "--db", swept)
    assert run.exit_code == 0, run
    assert run.stdout.startswith(f"{left} entries, intact (head ")
    assert "unsealed" in run.stderr
    run = invoke("audit", "verify", "--db", swept, "--require-seal")
    assert (run.exit_code, run.stderr) == (1, ""), run
    assert run.stdout == (
        "NOT INTACT: the head is not sealed, and --require-seal asks for a sealed one: its "
        "seal may have been removed with entries after it, or entries rewritten\n"
    )


@pytest.mark.usefixtures("with_key")
def test_require_seal_passes_a_sealed_trail(swept: str) -> None:
    last, digest, _ = _head(swept)
    run = invoke("audit", "verify", "--db", swept, "--require-seal")
    assert (run.exit_code, run.stderr) == (0, ""), run
    assert run.stdout == f"{last} entries, intact (head {digest}), seal checked\n"


@pytest.mark.usefixtures("with_key")
def test_require_seal_passes_an_empty_trail(db_url: str) -> None:
    _write(db_url, ensure)  # the tables, no entry yet: nothing to seal
    run = invoke("audit", "verify", "--db", db_url, "--require-seal")
    assert (run.exit_code, run.stderr) == (0, ""), run
    assert run.stdout == f"0 entries, intact (head {GENESIS})\n"


@pytest.mark.usefixtures("no_key")
def test_require_seal_without_the_key_is_bad_input(swept: str) -> None:
    run = invoke("audit", "verify", "--db", swept, "--require-seal")
    assert run.exit_code == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith("keepfor: error: --require-seal needs the audit key: ")
    assert len(run.stderr.splitlines()) == 1
