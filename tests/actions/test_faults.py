"""Fault tests of ``keepfor sweep --apply`` (issue 8, item 7): the installed script
killed with SIGKILL at random instants and at exact points (:mod:`.crashing`), on SQLite,
PostgreSQL and MariaDB, and a PostgreSQL server that dies mid-sweep (through
:mod:`tests.proxy`). After each fault, data and audit trail must agree exactly
(:func:`_agree`), the trail must verify (and ``keepfor audit verify`` exit 0), and a
re-run must finish to exactly the due set.

The table: :data:`SIZE` records (orders purged with two child lines each, enquiries
anonymised, quotes flagged in a column, and others never due), swept in batches of
:data:`BATCH` (about 40 batches). The instants come from a calibrated whole sweep
(:class:`Timing`, per backend) and a random number seeded by the run's index
(:class:`Kill`): every fourth run dies in its start (reading, planning, creating
keepfor's tables), the others a random time after their first batch is committed, in
the batches or just after them. Timing from the first batch, not from the start, keeps
the kills in the batches on a loaded machine; a failing run reproduces with its index.

These tests take seconds each (each under a minute) and run in CI with the whole suite;
``-m "not slow"`` leaves them out of a quick local run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from keepfor.audit import pseudonym, verify
from keepfor.engine import Action, RuleSet, Status, evaluate, load_rules
from tests.actions.crashing import CRASHED
from tests.proxy import Proxy

pytestmark = pytest.mark.slow

KEEPFOR = Path(sys.executable).with_name("keepfor")
"""The console script installed next to the interpreter running the tests."""

AUDIT_KEY = "0123456789abcdef-faults"
KEY_BYTES = AUDIT_KEY.encode()
SOURCE = "shop"
TABLE = "kf_fault"
LINES = "kf_fault_lines"
AT = "2026-11-22"
SIZE = 3_000
BATCH = 50
SQLITE_KILLS = 20
POSTGRES_KILLS = 5
MARIADB_KILLS = 5
REMOVED = "(removed)"

PACK = """\
pack: faults
version: "3"
timezone: Europe/London
rules:
  - id: orders
    applies_to: {category: order}
    retain: {from: placed_at, for: P6Y}
    then: purge
  - id: enquiries
    applies_to: {category: enquiry}
    retain: {from: placed_at, for: P1Y}
    then: anonymise
  - id: quotes
    applies_to: {category: quote}
    retain: {from: placed_at, for: P1Y}
    then: flag
"""

CATEGORIES = ("order",) * 6 + ("enquiry",) * 2 + ("quote", "other")
"""By ``id % 10``: most records are orders, which most often are due for purge."""


# -- the shop ----------------------------------------------------------------------------


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(1, SIZE + 1):
        rows.append(
            {
                "id": i,
                "category": CATEGORIES[i % 10],
                "placed_at": None if i % 17 == 0 else date(2012 + i % 14, 1 + i % 12, 1 + i % 28),
                "email": f"person{i}@example.com",
                "name": f"Person {i}",
                "flagged_at": None,
            }
        )
    return rows


ROWS = _rows()
ORIGINAL = {row["id"]: row for row in ROWS}
CHILD_LINES = {2 * i + j: i for i in ORIGINAL for j in (0, 1)}
"""Line id -> the id of the record it belongs to: two lines per record."""
NAMES = {pseudonym(KEY_BYTES, SOURCE, str(i)): i for i in ORIGINAL}
"""Audit ``record`` -> the record's id."""


def _tables(meta: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    records = sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(20)),
        sa.Column("placed_at", sa.Date),
        sa.Column("email", sa.String(100)),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("flagged_at", sa.DateTime),
    )
    lines = sa.Table(
        LINES,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.Integer, sa.ForeignKey(f"{TABLE}.id"), nullable=False),
    )
    return records, lines


@dataclass(frozen=True)
class Shop:
    """A fresh shop table in a database, and the files to sweep it with."""

    url: str
    folder: Path
    rules: RuleSet

    def config(self, url: str | None = None) -> Path:
        """A keepfor.toml for the shop, reaching its database at ``url`` (a proxy)."""
        path = self.folder / "keepfor.toml"
        path.write_text(
            f"[sources.{SOURCE}]\n"
            f'url = "{url or self.url}"\n'
            f'table = "{TABLE}"\n'
            "max_disposal_share = 1.0\n"
            f"[sources.{SOURCE}.flag]\n"
            'column = "flagged_at"\n'
            f"[sources.{SOURCE}.anonymise]\n"
            'email = "hash"\n'
            f'name = "fixed:{REMOVED}"\n'
            f"[sources.{SOURCE}.purge]\n"
            f'children = ["{LINES}.record_id"]\n',
            encoding="utf-8",
        )
        return path

    @cached_property
    def expected(self) -> dict[Action, frozenset[int]]:
        """What the engine says each record gets."""
        out: dict[Action, set[int]] = {action: set() for action in Action}
        for row in ROWS:
            decision = evaluate(self.rules, row, date.fromisoformat(AT))
            if decision.status is Status.DUE:
                assert decision.action is not None
                out[decision.action].add(row["id"])
        return {action: frozenset(ids) for action, ids in out.items()}


def _build(url: str) -> None:
    """The shop's tables, filled, and no keepfor tables (a fresh start)."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        ours = [t for t in meta.sorted_tables if t.name in (TABLE, LINES)]
        ours += [t for t in meta.sorted_tables if t.name.startswith("keepfor_")]
        meta.drop_all(engine, tables=ours)  # from a calibration run, or a run before
        fresh = sa.MetaData()
        records, lines = _tables(fresh)
        fresh.create_all(engine)
        with engine.begin() as conn:
            conn.execute(records.insert(), ROWS)
            conn.execute(
                lines.insert(), [{"id": n, "record_id": i} for n, i in CHILD_LINES.items()]
            )
    finally:
        engine.dispose()


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> Shop:
    """A fresh shop in the test's database (``db_url``: drops every table after)."""
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    _build(db_url)
    return Shop(db_url, tmp_path, load_rules(tmp_path / "pack.yaml"))


# -- running the script ------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "KEEPFOR_AUDIT_KEY": AUDIT_KEY}


def _sweep_command(shop: Shop, config: Path) -> list[str]:
    return [
        str(KEEPFOR), "sweep", "--rules", str(shop.folder / "pack.yaml"),
        "--config", str(config), "--at", AT, "--apply",
        "--batch-size", str(BATCH), "--format", "json",
    ]  # fmt: skip


@dataclass(frozen=True)
class Ran:
    """A finished run of the script."""

    code: int
    stdout: str
    stderr: str
    seconds: float


def _run(shop: Shop, config: Path, timeout: float = 60) -> Ran:
    """One sweep, to its end."""
    start = time.monotonic()
    done = subprocess.run(
        _sweep_command(shop, config), cwd=shop.folder, env=_env(),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def _spawn(shop: Shop, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _sweep_command(shop, config), cwd=shop.folder, env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


class Progress:
    """How many audit entries the database holds, read as often as asked (one engine)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def entries(self) -> int:
        """Committed audit entries (0 while the trail's table is missing)."""
        try:
            with self.engine.connect() as conn:
                count = conn.execute(sa.text("SELECT count(*) FROM keepfor_audit")).scalar_one()
        except sa.exc.DBAPIError:
            return 0
        return int(count)

    def wait_for_batches(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        """Until the first batch is committed (or the process ends)."""
        while process.poll() is None and self.entries() == 0:
            assert time.monotonic() < deadline, "the sweep did no batch in time"
            time.sleep(POLL)

    def close(self) -> None:
        self.engine.dispose()


POLL = 0.005
"""Seconds between two looks at the audit trail while a sweep runs."""


@dataclass(frozen=True)
class Timing:
    """A whole sweep of a fresh shop, here: seconds until its first batch is committed,
    then seconds of batches (and exit)."""

    start: float
    batches: float


_TIMINGS: dict[str, Timing] = {}


def _timing(shop: Shop, backend: str) -> Timing:
    """Measured once per backend, on a fresh shop; the shop is fresh again after."""
    if backend not in _TIMINGS:
        progress = Progress(shop.url)
        try:
            began = time.monotonic()
            process = _spawn(shop, shop.config())
            progress.wait_for_batches(process, began + 60)
            first = time.monotonic() - began
            assert process.wait(timeout=60) == 0
            _TIMINGS[backend] = Timing(first, time.monotonic() - began - first)
        finally:
            progress.close()
        _build(shop.url)
    return _TIMINGS[backend]


@dataclass(frozen=True)
class Kill:
    """When run ``run`` sends SIGKILL: ``delay`` seconds after it starts, or after its
    first batch is committed (``in_batches``)."""

    in_batches: bool
    delay: float

    @classmethod
    def of(cls, run: int, timing: Timing) -> Kill:
        """Seeded by the run's index: every fourth run dies at a random instant of its
        start (reading, planning, creating keepfor's tables), the others at a random
        instant of its batches or a little after them."""
        chance = random.Random(f"keepfor-faults-{run}")
        if run % 4 == 0:
            return cls(False, chance.uniform(0, timing.start))
        return cls(True, chance.uniform(0, 1.15 * timing.batches))


def _killed(shop: Shop, config: Path, kill: Kill) -> bool:
    """A sweep, sent SIGKILL as ``kill`` says; False if it had finished by then."""
    progress = Progress(shop.url)
    process = _spawn(shop, config)
    try:
        if kill.in_batches:
            progress.wait_for_batches(process, time.monotonic() + 60)
        process.wait(timeout=kill.delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if process.returncode == 0:
            return False  # it finished between the timeout and the signal
        assert process.returncode == -signal.SIGKILL
        return True
    finally:
        progress.close()
        if process.poll() is None:  # a failed assertion above: never leave it running
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == 0
    return False


# -- what the database holds -------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The shop's tables and keepfor's, as read after a fault."""

    rows: dict[int, dict[str, Any]]
    lines: dict[int, int]
    audit: list[tuple[str, str, str]]
    """(source, record, action) per entry."""
    marks: list[tuple[str, str, str]]
    """(source, record_key, action) per row of keepfor_acted."""
    trail: bool
    """Whether the audit trail's tables are there at all."""


def _read(url: str) -> Found:
    """Everything, in one snapshot: a killed client's COMMIT may still land on the
    server while this reads (PostgreSQL, MariaDB), and must not land between two
    statements."""
    base = sa.create_engine(url)
    engine = base
    if base.dialect.name != "sqlite":
        engine = base.execution_options(isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            records, lines_table = _tables(sa.MetaData())  # typed: SQLite's dates as dates
            rows = {r["id"]: dict(r) for r in conn.execute(sa.select(records)).mappings()}
            lines = {int(r[0]): int(r[1]) for r in conn.execute(sa.select(lines_table))}
            audit: list[tuple[str, str, str]] = []
            if "keepfor_audit" in names:
                audit = [
                    (r[0], r[1], r[2])
                    for r in conn.execute(
                        sa.text("SELECT source, record, action FROM keepfor_audit")
                    )
                ]
            marks: list[tuple[str, str, str]] = []
            if "keepfor_acted" in names:
                marks = [
                    (r[0], r[1], r[2])
                    for r in conn.execute(
                        sa.text("SELECT source, record_key, action FROM keepfor_acted")
                    )
                ]
            trail = "keepfor_audit" in names
            if trail:
                result = verify(conn)
                assert result.ok, f"audit verify after the fault: {result}"
            return Found(rows, lines, audit, marks, trail)
    finally:
        base.dispose()


def _agree(shop: Shop, found: Found) -> dict[str, int]:
    """Data and audit agree exactly; returns how many records each action was taken on."""
    expected = shop.expected
    present = set(found.rows)
    gone = set(ORIGINAL) - present
    assert {source for source, _, _ in found.audit} <= {SOURCE}
    unknown = [record for _, record, _ in found.audit if record not in NAMES]
    assert not unknown, f"audit entries for records the shop never had: {unknown[:3]}"
    entries: dict[str, Counter[int]] = {action.value: Counter() for action in Action}
    for _, record, action in found.audit:
        entries[action][NAMES[record]] += 1
    twice = {a: [i for i, n in c.items() if n > 1] for a, c in entries.items()}
    assert not any(twice.values()), f"records with more than one entry: {twice}"

    # purge: every record gone has one entry, no entry for a record still there
    assert gone <= expected[Action.PURGE], (
        f"gone but not due: {sorted(gone - expected[Action.PURGE])[:5]}"
    )
    assert set(entries["purge"]) == gone, (
        f"gone without an entry: {sorted(gone - set(entries['purge']))[:5]}; "
        f"an entry but still there: {sorted(set(entries['purge']) - gone)[:5]}"
    )
    # child rows: those of purged records gone, every other kept
    assert found.lines == {n: i for n, i in CHILD_LINES.items() if i in present}

    # anonymise: both fields rewritten (never one), exactly where there is an entry
    anonymised = set()
    for i, row in found.rows.items():
        before = ORIGINAL[i]
        if row["name"] == REMOVED:
            anonymised.add(i)
            assert row["email"] != before["email"], row
            assert len(row["email"]) == 64, row
        else:
            assert (row["name"], row["email"]) == (before["name"], before["email"]), row
        assert (row["category"], row["placed_at"]) == (before["category"], before["placed_at"])
    assert anonymised <= expected[Action.ANONYMISE]
    assert set(entries["anonymise"]) == anonymised

    # flag: the column set exactly where there is an entry
    flagged = {i for i, row in found.rows.items() if row["flagged_at"] is not None}
    assert flagged <= expected[Action.FLAG]
    assert set(entries["flag"]) == flagged
    assert not entries["review"]

    # keepfor's own marks (what stops a second anonymisation) agree with the trail
    marks = {(int(key), action) for _, key, action in found.marks}
    assert {source for source, _, _ in found.marks} <= {SOURCE}
    assert marks == {(i, a) for a in ("anonymise", "flag") for i in entries[a]}
    if not found.trail:
        assert (gone, anonymised, flagged, marks) == (set(), set(), set(), set())
    return {action: len(counts) for action, counts in entries.items() if counts}


def _finished(shop: Shop, found: Found) -> None:
    """After a complete re-run: exactly the due set acted on, once each."""
    _agree(shop, found)
    expected = shop.expected
    assert set(found.rows) == set(ORIGINAL) - expected[Action.PURGE]
    assert {i for i, r in found.rows.items() if r["name"] == REMOVED} == expected[Action.ANONYMISE]
    assert {i for i, r in found.rows.items() if r["flagged_at"] is not None} == expected[
        Action.FLAG
    ]
    assert len(found.audit) == sum(len(ids) for ids in expected.values())


def _cli_verify(shop: Shop, config: Path) -> None:
    """``keepfor audit verify`` (the installed script) exits 0."""
    done = subprocess.run(
        [str(KEEPFOR), "audit", "verify", "--config", str(config)],
        cwd=shop.folder, env=_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _rerun_finishes(shop: Shop, config: Path) -> None:
    ran = _run(shop, config)
    assert ran.code == 0, ran.stderr
    _finished(shop, _read(shop.url))


def test_the_shop_has_every_action_and_many_purges(tmp_path: Path) -> None:
    """The fixture is what the fault tests need: many purges, some of each other."""
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    shop = Shop("sqlite://", tmp_path, load_rules(tmp_path / "pack.yaml"))
    expected = shop.expected
    assert len(expected[Action.PURGE]) > 20 * BATCH
    assert len(expected[Action.ANONYMISE]) > 5 * BATCH
    assert len(expected[Action.FLAG]) > 2 * BATCH
    assert len(set(ORIGINAL) - set().union(*expected.values())) > SIZE // 10


# -- SIGKILL -----------------------------------------------------------------------------


def _kill_and_check(shop: Shop, backend: str, run: int) -> None:
    timing = _timing(shop, backend)
    kill = Kill.of(run, timing)
    config = shop.config()
    killed = _killed(shop, config, kill)
    found = _read(shop.url)
    done = _agree(shop, found)
    total = sum(len(ids) for ids in shop.expected.values())
    acted = sum(done.values())
    phase = "before" if acted == 0 else "after" if acted == total else "during"
    when = "of the batches" if kill.in_batches else "from the start"
    print(
        f"{backend} run {run}: kill at {kill.delay:.2f}s {when} ({timing}): "
        f"{'killed' if killed else 'had finished'}, {phase} the batches: {done}"
    )
    if found.trail:
        _cli_verify(shop, config)
    _rerun_finishes(shop, config)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("run", range(SQLITE_KILLS))
def test_a_sweep_killed_at_any_instant_on_sqlite_leaves_data_and_audit_agreeing(
    shop: Shop, run: int
) -> None:
    _kill_and_check(shop, "sqlite", run)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("run", range(POSTGRES_KILLS))
def test_a_sweep_killed_at_any_instant_on_postgresql_leaves_data_and_audit_agreeing(
    shop: Shop, run: int
) -> None:
    _kill_and_check(shop, "postgresql", run)


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
@pytest.mark.parametrize("run", range(MARIADB_KILLS))
def test_a_sweep_killed_at_any_instant_on_mariadb_leaves_data_and_audit_agreeing(
    shop: Shop, run: int
) -> None:
    _kill_and_check(shop, "mariadb", run)


# -- a crash at an exact point -----------------------------------------------------------

CRASHING = Path(__file__).with_name("crashing.py")


def _crash_and_check(shop: Shop, what: str, n: int) -> None:
    config = shop.config()
    done = subprocess.run(
        [sys.executable, str(CRASHING), what, str(n), *_sweep_command(shop, config)[1:]],
        cwd=shop.folder, env=_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == CRASHED, (done.returncode, done.stderr)
    found = _read(shop.url)
    _agree(shop, found)
    if found.trail:
        _cli_verify(shop, config)
    _rerun_finishes(shop, config)
    _indexes_complete(shop.url)


def _indexes_complete(url: str) -> None:
    """Every index of keepfor's tables is there after the re-run, also where the crash
    came between a table and its index (MariaDB commits each CREATE on its own)."""
    from keepfor.actions.review import review
    from keepfor.audit.table import audit

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in (audit, review):
                found = {index["name"] for index in inspector.get_indexes(table.name)}
                assert {str(index.name) for index in table.indexes} <= found, table.name
    finally:
        engine.dispose()


POINTS = [
    *(("CREATE", n) for n in range(1, 8)),  # each of keepfor's tables and indexes made
    ("DELETE", 1),  # the first batch's child rows deleted, its records not yet
    ("DELETE", 2),  # its records deleted, not yet audited
    ("UPDATE", 1),  # the first anonymisation written, not yet audited
    ("INSERT", 2),  # ... and its audit entries written, not yet committed
    ("COMMIT", 3),  # a batch complete, just before its commit
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("what", "n"), POINTS)
def test_a_sweep_that_dies_at_an_exact_point_on_sqlite_leaves_data_and_audit_agreeing(
    shop: Shop, what: str, n: int
) -> None:
    """A kill at a random instant rarely hits a narrow window: these die at each
    statement that makes keepfor's tables and inside a batch. (It found that a sweep
    killed while creating the trail's tables on SQLite left some of them without the
    others, which ``audit verify`` reported as a broken trail.)"""
    _crash_and_check(shop, what, n)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("what", "n"), [("CREATE", 2), ("DELETE", 2), ("COMMIT", 3)])
def test_a_sweep_that_dies_at_an_exact_point_on_postgresql_leaves_data_and_audit_agreeing(
    shop: Shop, what: str, n: int
) -> None:
    _crash_and_check(shop, what, n)


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
@pytest.mark.parametrize(("what", "n"), POINTS)
def test_a_sweep_that_dies_at_an_exact_point_on_mariadb_leaves_data_and_audit_agreeing(
    shop: Shop, what: str, n: int
) -> None:
    """Every point, as on SQLite: MariaDB commits on each ``CREATE TABLE``, so keepfor's
    tables cannot be made all or none there, and a death between two of them must still
    leave a trail that verifies."""
    _crash_and_check(shop, what, n)


# -- a database that dies ------------------------------------------------------------------


def _proxied(url: str, proxy: Proxy) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def _target(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("after", [1, 8])
def test_a_database_that_dies_after_some_batches_gives_exit_4_and_agrees(
    shop: Shop, after: int
) -> None:
    """The server goes away (every connection dropped, none accepted) once ``after``
    batches are committed: exit 4, partly done, what was done audited; a re-run on a
    live connection finishes."""
    with Proxy(_target(shop.url)) as proxy:
        config = shop.config(_proxied(shop.url, proxy))
        stop = threading.Event()

        def watch() -> None:
            progress = Progress(shop.url)
            try:
                while not stop.is_set():
                    if progress.entries() >= after * BATCH:
                        proxy.stop()
                        return
                    time.sleep(POLL)
            finally:
                progress.close()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            ran = _run(shop, config)
        finally:
            stop.set()
            watcher.join(timeout=10)
    assert ran.code == 4, (ran.code, ran.stderr)
    assert "partly done" in ran.stderr
    done = _agree(shop, _read(shop.url))
    assert sum(done.values()) >= after * BATCH
    _rerun_finishes(shop, shop.config())


_RECEIVED: dict[str, tuple[int, int]] = {}


def _received(shop: Shop) -> tuple[int, int]:
    """Bytes the server sends a whole sweep of a fresh shop, and how many of them had
    come when the first batch was committed (measured once; the shop is fresh again
    after): the cut points are placed by them, whatever the sweep reads before acting."""
    if shop.url not in _RECEIVED:
        first: list[int] = []
        stop = threading.Event()
        with Proxy(_target(shop.url)) as proxy:

            def watch() -> None:
                progress = Progress(shop.url)
                try:
                    while not stop.is_set() and not first:
                        if progress.entries() > 0:
                            first.append(proxy.received)
                        time.sleep(POLL)
                finally:
                    progress.close()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            try:
                ran = _run(shop, shop.config(_proxied(shop.url, proxy)))
            finally:
                stop.set()
                watcher.join(timeout=10)
            total = proxy.received
        assert ran.code == 0, ran.stderr
        assert first, "no batch was seen committed"
        _RECEIVED[shop.url] = (total, first[0])
        _build(shop.url)
    return _RECEIVED[shop.url]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("share", "code"),
    [
        (-0.999, 2),  # while the sweep reads the table and plans: nothing done, exit 2
        (0.3, 4),  # mid-batches (a share of the bytes after the first batch): exit 4
        (0.7, 4),
    ],
)
def test_a_connection_cut_mid_stream_gives_exit_2_or_4_and_agrees(
    shop: Shop, share: float, code: int
) -> None:
    """The proxy cuts every connection mid-message, ``share`` of the way through the bytes
    a whole sweep gets after its first batch (negative: that share of the way back
    towards the start): before any batch, nothing is done (exit 2); after some, the rest
    fails (exit 4); either way data and audit agree and a re-run finishes."""
    total, first_batch = _received(shop)
    span = total - first_batch if share >= 0 else first_batch
    cut_after = max(1, first_batch + int(span * share))
    with Proxy(_target(shop.url), cut_after=cut_after) as proxy:
        ran = _run(shop, shop.config(_proxied(shop.url, proxy)))
    assert ran.code == code, (ran.code, ran.stderr)
    done = _agree(shop, _read(shop.url))
    if code == 2:
        assert done == {}
    else:
        assert "partly done" in ran.stderr
        assert done
    _rerun_finishes(shop, shop.config())
