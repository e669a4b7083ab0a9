"""Sweeps on SQLite, PostgreSQL and MariaDB: a dry run changes nothing; an applied sweep
does exactly what the engine decides, to exactly the due records, each audited once;
a re-run does nothing more; the safety valve refuses before anything is done."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from keepfor.abc import ActionBatch, ActionTarget, Outcome, RecordSource
from keepfor.actions.settings import ActionSettings, Child, Strategy
from keepfor.actions.sweep import MassDisposal, SweptSource, run_sweep
from keepfor.actions.trail import Trail
from keepfor.audit import Pseudonymiser, verify
from keepfor.clock import FixedClock
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.connectors.sqlwrite import SqlTableTarget
from keepfor.engine import Action, RuleSet, Status, evaluate, parse_pack
from keepfor.errors import SourceError
from keepfor.report.counts import bucket_predicates

AT = date(2026, 11, 22)
KEY = b"0123456789abcdef-test-key"
TABLE = "kf_sweep"
LINES = "kf_sweep_lines"

SHOP_PACK: dict[str, Any] = {
    "pack": "shop",
    "version": "7",
    "timezone": "Europe/London",
    "rules": [
        {
            "id": "orders",
            "applies_to": {"category": "order"},
            "retain": {"from": "placed_at", "for": "P6Y"},
            "then": "purge",
        },
        {
            "id": "enquiries",
            "applies_to": {"category": "enquiry"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "anonymise",
        },
        {
            "id": "quotes",
            "applies_to": {"category": "quote"},
            "retain": {"from": "placed_at", "for": "P1Y"},
            "then": "flag",
        },
        {
            "id": "cvs",
            "applies_to": {"category": "cv"},
            "retain": {"from": "placed_at", "for": "P6M"},
            "then": "review",
        },
    ],
}
RULES = RuleSet((parse_pack(SHOP_PACK),))
CATEGORIES = ("order", "enquiry", "quote", "cv", "other")


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(1, 61):
        placed = date(2016 + i % 11, 1 + i % 12, 1 + i % 28)
        rows.append(
            {
                "id": i,
                "category": CATEGORIES[i % 5],
                "placed_at": placed if i % 13 else None,
                "email": f"person{i}@example.com",
                "name": f"Person {i}",
                "flagged_at": None,
            }
        )
    return rows


ROWS = _rows()
AT_NOON = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
def url(db_url: str) -> str:
    return make_tables(db_url)


def make_tables(db_url: str) -> str:
    """The records table (and its child lines) of these tests, filled, in ``db_url``."""
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
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
        sa.Column("record_id", sa.Integer, sa.ForeignKey(f"{TABLE}.id")),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(records.insert(), ROWS)
        conn.execute(lines.insert(), [{"id": r["id"], "record_id": r["id"]} for r in ROWS])
    engine.dispose()
    return db_url


SETTINGS = ActionSettings(
    max_disposal_share=1.0,
    flag_column="flagged_at",
    anonymise={"email": Strategy.parse("hash"), "name": Strategy.parse("fixed:(removed)")},
    children=(Child(LINES, "record_id"),),
)


MakeTarget = Callable[[Any, ActionSettings, "Trail | None"], ActionTarget]


def sweep_with(
    source: Any,
    make: MakeTarget,
    *,
    apply: bool = True,
    settings: ActionSettings = SETTINGS,
    rules: RuleSet = RULES,
    **options: Any,
) -> Any:
    """``run_sweep`` of ``rules`` (the test pack) over one source, opened (keepfor's tables
    made) and closed here, its target made by ``make(source, settings, trail)`` (trail
    None: dry)."""
    trail = Trail(KEY, rules, FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)))
    try:
        source.open()
        with source.engine.begin() as conn:
            Trail.ensure(conn)

        def target(opened: RecordSource) -> ActionTarget:
            return make(opened, settings, trail if apply else None)

        swept = [SweptSource(source, settings, target)]
        return run_sweep(rules, swept, AT, apply=apply, **options)
    finally:
        source.close()


def _shop(url: str) -> SqlTableSource:
    return SqlTableSource(url, TableMapping(table=TABLE, source="shop"))


def _sweep(url: str, *, apply: bool, settings: ActionSettings = SETTINGS, **options: Any) -> Any:
    return sweep_with(_shop(url), SqlTableTarget, apply=apply, settings=settings, **options)


def expected_actions(
    records: list[dict[str, Any]], key: str, rules: RuleSet = RULES
) -> dict[Action, set[Any]]:
    """What the engine says each record gets under ``rules``, by its ``key`` field."""
    out: dict[Action, set[Any]] = {action: set() for action in Action}
    for record in records:
        decision = evaluate(rules, record, AT)
        if decision.status is Status.DUE:
            assert decision.action is not None
            out[decision.action].add(record[key])
    return out


def _expected() -> dict[Action, set[Any]]:
    return expected_actions(ROWS, "id")


def _table(url: str, name: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]
    finally:
        engine.dispose()


def test_a_dry_run_counts_what_would_be_done_and_changes_nothing(url: str) -> None:
    result = _sweep(url, apply=False)
    tally = result.sources["shop"]
    expected = _expected()
    assert (tally.purge, tally.anonymise, tally.flag, tally.review) == tuple(
        len(expected[a]) for a in (Action.PURGE, Action.ANONYMISE, Action.FLAG, Action.REVIEW)
    )
    # every action a table can take (all but archive) has records in this table
    assert all(keys for a, keys in expected.items() if a is not Action.ARCHIVE)
    assert tally.total == len(ROWS)
    assert sorted(r["id"] for r in _table(url, TABLE)) == [r["id"] for r in ROWS]
    assert _table(url, "keepfor_audit") == []


@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_an_applied_sweep_does_what_the_engine_decides_once_each(url: str, batch_size: int) -> None:
    result = _sweep(url, apply=True, batch_size=batch_size)
    _check_applied(url, result)


NO_CHILDREN = replace(SETTINGS, children=())


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_purge_without_child_rows_deletes_rechecks_and_audits_in_one_statement(
    url: str, batch_size: int
) -> None:
    """PostgreSQL: ``WITH d AS (DELETE ... RETURNING) INSERT INTO keepfor_audit ...``;
    SQLite and MariaDB: ``DELETE ... RETURNING``, then the entries."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {LINES}"))
    engine.dispose()
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        result = _sweep(url, apply=True, batch_size=batch_size, settings=NO_CHILDREN)
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    _check_applied(url, result, lines=False)
    deletes = [s for s in seen if f"DELETE FROM {TABLE}" in s]
    # the first tries the delete on no row (the user may delete: SqlTableTarget.prepare)
    no_row = ("false", "false = 1", "0 = 1")  # each dialect's constant false
    assert deletes[0] in [f"DELETE FROM {TABLE} WHERE {false}" for false in no_row]
    deletes = deletes[1:]
    assert deletes
    assert all("RETURNING" in s for s in deletes)
    if url.startswith("postgresql"):
        assert all("INSERT INTO keepfor_audit" in s for s in deletes)
        assert all("= ANY (" in s for s in deletes)


def _check_applied(url: str, result: Any, *, lines: bool = True) -> None:
    """The sweep did what the engine decides, to exactly the due records, audited once
    each, and the trail verifies."""
    expected = _expected()
    assert result.failures == []
    tally = result.sources["shop"]
    assert tally.purge == len(expected[Action.PURGE])
    assert tally.skipped == 0
    rows = {r["id"]: r for r in _table(url, TABLE)}
    # purged: gone, with their child rows; everything else is still there
    assert set(rows) == {r["id"] for r in ROWS} - expected[Action.PURGE]
    if lines:
        assert {r["record_id"] for r in _table(url, LINES)} == set(rows)
    for row in ROWS:
        if row["id"] not in rows:
            continue
        now = rows[row["id"]]
        if row["id"] in expected[Action.ANONYMISE]:
            assert now["name"] == "(removed)"
            assert len(now["email"]) == 64
            assert now["email"] != row["email"]
        else:
            assert (now["name"], now["email"]) == (row["name"], row["email"])
        assert (now["flagged_at"] is not None) == (row["id"] in expected[Action.FLAG])
    # one audit entry per record acted on, by pseudonym, with its rule's action
    audit = _table(url, "keepfor_audit")
    name = Pseudonymiser(KEY, "shop")
    entries = {(e["record"], e["action"]) for e in audit}
    assert len(entries) == len(audit)
    assert entries == {
        (name(str(key)), action.value) for action, keys in expected.items() for key in keys
    }
    assert {(e["pack_id"], e["pack_version"]) for e in audit} == {("shop", "7")}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert verify(conn).ok
    engine.dispose()


def test_a_rerun_acts_on_nothing_twice(url: str) -> None:
    _sweep(url, apply=True, batch_size=7)
    before = _table(url, "keepfor_audit")
    rows = _table(url, TABLE)
    dry = _sweep(url, apply=False).sources["shop"]  # the database leaves out what was done
    assert (dry.purge, dry.anonymise, dry.flag, dry.review) == (0, 0, 0, 0)
    again = _sweep(url, apply=True, batch_size=7).sources["shop"]
    assert (again.purge, again.anonymise, again.flag, again.review) == (0, 0, 0, 0)
    assert again.skipped == 0
    assert _table(url, "keepfor_audit") == before
    assert _table(url, TABLE) == rows


def test_limit_acts_on_at_most_that_many_records(url: str) -> None:
    result = _sweep(url, apply=True, limit=5, batch_size=2).sources["shop"]
    assert result.purge + result.anonymise + result.flag + result.review == 5
    assert len(_table(url, "keepfor_audit")) == 5


def test_the_safety_valve_counts_only_what_is_still_to_do(url: str) -> None:
    """After a partial run, records already anonymised do not count again: a sweep takes
    the actions that leave records in place first, gentlest first, then purges."""
    expected = _expected()
    staying = sum(len(expected[a]) for a in (Action.FLAG, Action.REVIEW, Action.ANONYMISE))
    first = _sweep(url, apply=True, limit=staying, batch_size=3).sources["shop"]
    assert (first.anonymise, first.purge) == (len(expected[Action.ANONYMISE]), 0)
    share = (len(expected[Action.PURGE]) + 0.5) / len(ROWS)  # the purges, not the rest
    settings = ActionSettings(
        max_disposal_share=share,
        anonymise=SETTINGS.anonymise,
        children=SETTINGS.children,
        flag_column="flagged_at",
    )
    rest = _sweep(url, apply=True, settings=settings).sources["shop"]
    assert (rest.purge, rest.anonymise) == (len(expected[Action.PURGE]), 0)


def test_the_safety_valve_refuses_before_anything_is_done(url: str) -> None:
    strict = ActionSettings(
        max_disposal_share=0.05, anonymise=SETTINGS.anonymise, children=SETTINGS.children
    )
    with pytest.raises(MassDisposal, match=r"source 'shop'.*max_disposal_share 5%"):
        _sweep(url, apply=True, settings=strict)
    assert len(_table(url, TABLE)) == len(ROWS)
    assert _table(url, "keepfor_audit") == []
    lifted = _sweep(url, apply=True, settings=strict, allow_mass_disposal=True)
    assert lifted.sources["shop"].purge == len(_expected()[Action.PURGE])


@pytest.mark.parametrize(
    ("settings", "fragments"),
    [
        (ActionSettings(anonymise={"nope": Strategy.parse("null")}), ["no column 'nope'"]),
        (ActionSettings(anonymise={"name": Strategy.parse("null")}), ["'name' is NOT NULL"]),
        (ActionSettings(anonymise={"placed_at": Strategy.parse("hash")}), ["not text"]),
        (ActionSettings(anonymise={"id": Strategy.parse("fixed:x")}), ["key column"]),
        (
            ActionSettings(anonymise={"name": Strategy.parse("fixed:" + "x" * 51)}),
            ["51 characters", "holds 50"],
        ),
        (ActionSettings(children=(Child(LINES, "nope"),)), ["has no column 'nope'"]),
        (ActionSettings(children=(Child("kf_nope", "x"),)), ["no such table 'kf_nope'"]),
        (ActionSettings(flag_column="nope"), ["no column 'nope'"]),
    ],
)
def test_settings_that_cannot_work_are_refused_before_anything_is_done(
    url: str, settings: ActionSettings, fragments: list[str]
) -> None:
    with pytest.raises(SourceError) as caught:
        _sweep(url, apply=True, settings=settings)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert len(_table(url, TABLE)) == len(ROWS)


def test_a_foreign_key_that_would_block_a_purge_is_named_before_anything_is_done(
    url: str,
) -> None:
    no_children = ActionSettings(max_disposal_share=1.0, anonymise=SETTINGS.anonymise)
    with pytest.raises(SourceError) as caught:
        _sweep(url, apply=True, settings=no_children)
    message = str(caught.value)
    assert f"of table '{LINES}' (record_id)" in message
    assert "would block a purge" in message
    assert f'children = ["{LINES}.record_id"]' in message
    if not url.startswith("sqlite"):  # SQLite's foreign keys have no names
        assert "foreign key '" in message
    assert len(_table(url, TABLE)) == len(ROWS)
    assert _table(url, "keepfor_audit") == []
    # a dry run says what would be done; it is --apply that refuses
    assert _sweep(url, apply=False, settings=no_children).sources["shop"].purge == 5


def test_a_round_is_one_transaction_a_refused_batch_undoes_the_others(url: str) -> None:
    """A round's batches (several rules, one stretch of keys) commit together or not at
    all: the purge the foreign key refuses takes the flags before it back with it."""
    expected = _expected()
    flagged, purged = sorted(expected[Action.FLAG]), sorted(expected[Action.PURGE])
    source = _shop(url)
    trail = Trail(KEY, RULES, FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)))
    try:
        source.open()
        with source.engine.begin() as conn:
            Trail.ensure(conn)
        target = SqlTableTarget(source, NO_CHILDREN, trail)
        due = bucket_predicates(RULES, AT)["due"]
        round_ = (
            ActionBatch("shop", "quotes", "shop", Action.FLAG, tuple(flagged), due),
            ActionBatch("shop", "orders", "shop", Action.PURGE, tuple(purged), due),
        )
        with pytest.raises(SourceError, match="purge of rule 'orders' was refused"):
            target.apply_round(round_, AT)
    finally:
        source.close()
    assert flagged
    assert all(r["flagged_at"] is None for r in _table(url, TABLE))
    assert len(_table(url, TABLE)) == len(ROWS)
    assert _table(url, "keepfor_audit") == []


@pytest.mark.parametrize("children", [True, False])
def test_a_batch_leaves_alone_a_record_gone_or_no_longer_due_since_it_was_selected(
    url: str, children: bool
) -> None:
    """Between the select and the act: one record deleted by someone else, one changed so
    that it is no longer due. Both are skipped, neither is audited; the rest is done
    (with child rows, and without: one statement on PostgreSQL)."""
    due = sorted(_expected()[Action.PURGE])
    gone, changed, *rest = due
    source = _shop(url)
    trail = Trail(KEY, RULES, FixedClock(datetime(2026, 11, 22, 9, tzinfo=UTC)))
    try:
        source.open()
        source.check(RULES)
        with source.engine.begin() as conn:
            Trail.ensure(conn)
            if children:
                conn.execute(sa.text(f"DELETE FROM {LINES} WHERE record_id = {gone}"))
            else:
                conn.execute(sa.text(f"DROP TABLE {LINES}"))
            conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE id = {gone}"))
            changing = sa.text(f"UPDATE {TABLE} SET placed_at = :d WHERE id = {changed}")
            day = sa.bindparam("d", date(2026, 1, 1), type_=sa.Date)
            conn.execute(changing.bindparams(day))
        target = SqlTableTarget(source, SETTINGS if children else NO_CHILDREN, trail)
        due_predicate = bucket_predicates(RULES, AT)["due"]
        batch = ActionBatch("shop", "orders", "shop", Action.PURGE, tuple(due), due_predicate)
        result = target.apply(batch, AT)
    finally:
        source.close()
    assert result.count(Outcome.SKIPPED) == 2
    assert result.outcomes[gone] is result.outcomes[changed] is Outcome.SKIPPED
    assert all(result.outcomes[key] is Outcome.DONE for key in rest)
    left = {r["id"] for r in _table(url, TABLE)}
    assert changed in left
    assert not left & set(rest)
    name = Pseudonymiser(KEY, "shop")
    audited = {e["record"] for e in _table(url, "keepfor_audit")}
    assert audited == {name(str(key)) for key in rest}


class _Watched:
    """A source's grouped reads and a target's batches, in the order they happened."""

    def __init__(self, source: SqlTableSource) -> None:
        self.events: list[str] = []
        self.fail = False
        """Fail the keys' read at its third group or later."""
        read = source.select_groups

        def select_groups(*args: Any, **kwargs: Any) -> Any:
            keyed = kwargs.get("bound", 0) > 0  # the keys' read, not the counting one
            for n, group in enumerate(read(*args, **kwargs), 1):
                self.events.append("group")
                yield group
                if keyed and self.fail and n >= 3:
                    raise SourceError("the database went away mid-read")
            self.events.append("read done")

        source.select_groups = select_groups  # type: ignore[method-assign]

    def target(self, source: SqlTableSource, settings: ActionSettings, trail: Trail | None) -> Any:
        events = self.events

        class Target(SqlTableTarget):
            def apply_round(self, batches: Sequence[ActionBatch], at: Any) -> Any:
                events.append("batch")
                return super().apply_round(batches, at)

        return Target(source, settings, trail)


def _watched_sweep(
    url: str, fail: bool = False, stop_after_a_batch: bool = False
) -> tuple[Any, list[str]]:
    source = _shop(url)
    watched = _Watched(source)
    watched.fail = fail
    options: dict[str, Any] = {"batch_size": 1}
    if stop_after_a_batch:
        options["stop"] = lambda: "batch" in watched.events
    return sweep_with(source, watched.target, **options), watched.events


def test_every_due_key_is_read_before_the_first_batch_and_batches_come_in_key_order(
    url: str,
) -> None:
    """On every database the due keys are read first (into a temporary file, not memory),
    then acted on in key order: each pass's batches, of whatever rule, move through the
    table together (one key a batch here, so every batch's key is above the last's)."""
    source = _shop(url)
    watched = _Watched(source)
    keys: list[tuple[Action, Any]] = []

    class Keys(SqlTableTarget):
        def apply_round(self, batches: Sequence[ActionBatch], at: Any) -> Any:
            watched.events.append("batch")
            keys.extend((batch.action, key) for batch in batches for key in batch.keys)
            return super().apply_round(batches, at)

    result = sweep_with(source, Keys, batch_size=1)
    _check_applied(url, result)
    first_batch = watched.events.index("batch")
    assert "group" not in watched.events[first_batch:]
    by_action: dict[Action, list[Any]] = {}
    for action, key in keys:
        by_action.setdefault(action, []).append(key)
    assert len(by_action) >= 3  # several actions, each a pass of its own
    for action, taken in by_action.items():
        assert taken == sorted(taken), action
    order = [action for action, _ in keys]
    passes = [a for i, a in enumerate(order) if i == 0 or order[i - 1] != a]
    assert len(passes) == len(set(passes))  # each action's batches together


def test_a_read_that_fails_mid_sweep_acts_on_nothing_and_is_named(url: str) -> None:
    """Every due key is read before the first batch: a read that fails stops the sweep
    before anything is done (exit 2), on every database."""
    with pytest.raises(SourceError, match="went away mid-read"):
        _watched_sweep(url, fail=True)
    assert _table(url, "keepfor_audit") == []
    assert len(_table(url, TABLE)) == len(ROWS)


@pytest.mark.parametrize(("asked", "most"), [(None, 2), (1, 1), (100, 3)])
def test_batches_take_the_targets_default_and_never_more_than_its_most(
    url: str, asked: int | None, most: int
) -> None:
    sizes: list[int] = []

    class Small(SqlTableTarget):
        @property
        def batch_size(self) -> tuple[int, int]:
            return 2, 3

        def apply_round(self, batches: Sequence[ActionBatch], at: Any) -> Any:
            sizes.append(sum(len(batch.keys) for batch in batches))
            return super().apply_round(batches, at)

    result = sweep_with(_shop(url), Small, batch_size=asked)
    _check_applied(url, result)
    assert max(sizes) == most


def test_postgresql_and_sqlite_take_larger_batches_than_mariadb(url: str) -> None:
    """Their keys are one operand (an array, a temporary table); MariaDB binds each."""
    source = _shop(url)
    try:
        source.open()
        sizes = SqlTableTarget(source, SETTINGS, None).batch_size
    finally:
        source.close()
    expected = {"postgresql": (50_000, 100_000), "sqlite": (10_000, 100_000)}
    assert sizes == expected.get(url.split(":")[0].split("+")[0], (10_000, 30_000))


def test_a_sweep_asked_to_stop_finishes_its_batch_and_reads_no_more(url: str) -> None:
    """``stop`` (a daemon's SIGTERM) is asked before each batch is read: the batch under
    way is done and audited, the rest is left, counted, and the next sweep does it."""
    result, events = _watched_sweep(url, stop_after_a_batch=True)
    assert events.count("batch") == 1
    done = result.sources["shop"]
    acted = done.purge + done.anonymise + done.flag + done.review
    assert acted == 1
    expected = _expected()
    due = sum(len(keys) for keys in expected.values())
    assert result.left["shop"] == due - 1
    assert len(_table(url, "keepfor_audit")) == 1
    _sweep(url, apply=True)  # the next sweep finishes the rest
    assert len(_table(url, "keepfor_audit")) == due


def test_a_stop_asked_once_the_last_batch_is_done_stops_nothing(url: str) -> None:
    """A stop that comes after the last planned batch (a daemon's SIGTERM at the end of a
    run) leaves nothing: the sweep is whole, not ``stopped``, and nothing is ``left``."""
    due = sum(len(keys) for keys in _expected().values())
    source = _shop(url)
    watched = _Watched(source)
    result = sweep_with(
        source, watched.target, batch_size=1, stop=lambda: watched.events.count("batch") == due
    )
    assert watched.events.count("batch") == due
    assert not result.stopped
    assert result.left == {}
    _check_applied(url, result)


@pytest.mark.parametrize("apply", [False, True], ids=["dry-run", "apply"])
def test_a_source_is_made_ready_to_act_on_only_once_its_config_is_checked(
    url: str, apply: bool
) -> None:
    """``ready`` (keepfor's tables made, the lock taken) is entered only to act, and only
    once every source's rules and settings are checked: a config refused makes nothing in
    the user's database. It is left when the sweep ends."""
    seen: list[str] = []

    @contextmanager
    def ready(source: RecordSource) -> Iterator[None]:
        seen.append(f"ready {source.name}")
        yield
        seen.append("released")

    def target(source: RecordSource) -> ActionTarget:
        seen.append(f"checked {source.name}")
        return SqlTableTarget(source, SETTINGS, Trail(KEY, RULES, FixedClock(AT_NOON)))

    sources = [_shop(url), SqlTableSource(url, TableMapping(table=LINES, source="lines"))]
    swept = [SweptSource(source, SETTINGS, target, ready) for source in sources]
    try:
        for source in sources:
            source.open()
        with pytest.raises(SourceError, match="'category'"):  # lines: no such column
            run_sweep(RULES, swept, AT, apply=apply)
        assert seen == ["checked shop"]
        seen.clear()
        run_sweep(RULES, swept[:1], AT, apply=apply)
    finally:
        for source in sources:
            source.close()
    assert seen == (["checked shop", "ready shop", "released"] if apply else ["checked shop"])


def test_a_sweep_asked_to_stop_while_planning_does_nothing_and_says_so(url: str) -> None:
    """Asked to stop while the due records are read (before the first batch): nothing is
    done, nothing audited, the sweep says it stopped."""
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # after the first groups are read

    result = _sweep(url, apply=True, stop=stop)
    assert result.stopped
    done = result.sources["shop"]
    assert (done.purge, done.anonymise, done.flag, done.review) == (0, 0, 0, 0)
    assert _table(url, "keepfor_audit") == []
    assert len(_table(url, TABLE)) == len(ROWS)
