"""Batches spilled to a temporary file: every key comes back exactly once, with its
batch's rule, action and selection, each kind's keys in key order where they order, in
rounds of a batch's size at most (the kinds of one selection merged in one key order)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepfor.abc import ActionBatch
from keepfor.actions import spill
from keepfor.actions.spill import SpilledBatches
from keepfor.engine import Action
from keepfor.engine.cutoffs import All

KEYS = st.one_of(
    st.integers(),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.binary(),
    st.dates(),
)


def _batch(rule: str, action: Action, keys: tuple[object, ...]) -> ActionBatch:
    return ActionBatch("shop", rule, "pack", action, keys, All(()))


def _typed(key: object) -> tuple[str, object]:
    return type(key).__name__, key


def _flat(spilled: SpilledBatches) -> list[ActionBatch]:
    """Every batch of every round, in order; each round checked: at most ``size`` keys,
    one selection, a batch of one kind each."""
    out = []
    for batches in spilled:
        assert 1 <= sum(len(b.keys) for b in batches) <= spilled.size
        assert len({b.recheck for b in batches}) == 1
        assert len({(b.rule, b.action) for b in batches}) == len(batches)
        out.extend(batches)
    return out


def _each_key(batches: list[ActionBatch]) -> Counter[tuple[str, Action, tuple[str, object]]]:
    return Counter((b.rule, b.action, _typed(k)) for b in batches for k in b.keys)


@pytest.mark.parametrize("run", [3, 100_000])
@given(
    items=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(list(Action)),
            st.one_of(
                st.lists(KEYS, min_size=1, max_size=20, unique=True),
                st.lists(st.integers(), min_size=1, max_size=20, unique=True),
                st.lists(st.text(), min_size=1, max_size=20, unique=True),
            ),
        ),
        max_size=12,
    ),
    size=st.integers(min_value=1, max_value=7),
)
def test_every_key_comes_back_once_with_its_batch_s_kind(
    run: int,
    items: list[tuple[str, Action, list[object]]],
    size: int,
) -> None:
    seen: dict[tuple[str, Action], set[object]] = {}
    batches = []
    for rule, action, keys in items:  # a record is in one batch of its kind, as in a sweep
        known = seen.setdefault((rule, action), set())
        fresh = [k for k in keys if k not in known]
        known.update(fresh)
        if fresh:
            batches.append(_batch(rule, action, tuple(fresh)))
    spilled = SpilledBatches(size, run=run, chunk=2)
    for batch in batches:
        spilled.add(batch)
    back = _flat(spilled)
    assert _each_key(back) == _each_key(batches)
    assert all(1 <= len(b.keys) <= size for b in back)
    for rule, action in {(b.rule, b.action) for b in back}:
        keys = [k for b in back if (b.rule, b.action) == (rule, action) for k in b.keys]
        if len({type(k) for k in keys}) == 1 and type(keys[0]) in (int, str, bytes):
            assert keys == sorted(keys)


def test_a_kind_s_keys_come_back_sorted_across_runs() -> None:
    spilled = SpilledBatches(4, run=7, chunk=3)
    for n in range(10):  # interleaved kinds, each batch's keys descending
        spilled.add(_batch("a", Action.PURGE, tuple(range(100 - n, 0, -10))))
        spilled.add(_batch("b", Action.FLAG, (f"k{n}", f"j{n}")))
    back = _flat(spilled)
    a = [k for b in back if b.rule == "a" for k in b.keys]
    b = [k for b in back if b.rule == "b" for k in b.keys]
    assert a == sorted(k for n in range(10) for k in range(100 - n, 0, -10))
    assert b == sorted(b)
    assert len(b) == 20
    assert [len(x.keys) for x in back] == [4] * 25 + [4] * 5  # 100 keys of a, 20 of b
    assert [x.rule for x in back] == ["a"] * 25 + ["b"] * 5


def test_a_large_due_set_is_written_to_disk_not_kept_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spill, "IN_MEMORY", 1 << 16)
    spilled = SpilledBatches(10_000)
    keys = tuple(range(10_000))
    for n in reversed(range(60)):  # 600,000 keys: megabytes past the in-memory size
        spilled.add(_batch("a", Action.PURGE, tuple(k + n * 10_000 for k in keys)))
    assert spilled.on_disk
    got = _flat(spilled)
    assert [b.keys for b in got] == [tuple(range(n * 10_000, (n + 1) * 10_000)) for n in range(60)]
    assert spilled._file.closed


def test_keys_of_every_type_a_database_gives_survive() -> None:
    keys = (1, "ORD-1", Decimal("1.10"), uuid.UUID(int=7), b"\x00\xff", date(2024, 2, 29))
    spilled = SpilledBatches(10)
    spilled.add(_batch("a", Action.FLAG, keys))
    ((back,),) = list(spilled)
    assert back.keys == keys  # not of one type: in the order read
    assert [type(k) for k in back.keys] == [type(k) for k in keys]


def test_the_kinds_of_one_selection_come_back_merged_in_rounds_of_one_key_order() -> None:
    spilled = SpilledBatches(5, run=6, chunk=2)
    spilled.add(_batch("odd", Action.PURGE, tuple(range(19, 0, -2))))
    spilled.add(_batch("even", Action.PURGE, tuple(range(0, 20, 2))))
    back = [[(b.rule, b.keys) for b in batches] for batches in spilled]
    assert back == [
        [("even", (0, 2, 4)), ("odd", (1, 3))],
        [("odd", (5, 7, 9)), ("even", (6, 8))],
        [("even", (10, 12, 14)), ("odd", (11, 13))],
        [("odd", (15, 17, 19)), ("even", (16, 18))],
    ]


def test_selections_come_back_one_after_the_other_in_the_order_first_added() -> None:
    first, second = All(()), All((All(()),))
    spilled = SpilledBatches(3)
    spilled.add(ActionBatch("shop", "flagged", "pack", Action.FLAG, (5, 1), first))
    spilled.add(ActionBatch("shop", "purged", "pack", Action.PURGE, (2, 0), second))
    spilled.add(ActionBatch("shop", "flagged", "pack", Action.FLAG, (3,), first))
    back = [[(b.rule, b.keys) for b in batches] for batches in spilled]
    assert back == [[("flagged", (1, 3, 5))], [("purged", (0, 2))]]


def test_many_kinds_come_back_a_stretch_of_keys_at_a_time() -> None:
    spilled = SpilledBatches(10)
    for n in range(12):  # key k is kind k % 12's
        spilled.add(_batch(f"r{n}", Action.PURGE, tuple(range(n, 600, 12))))
    rounds = [sorted(k for b in batches for k in b.keys) for batches in spilled]
    assert rounds == [list(range(i, i + 10)) for i in range(0, 600, 10)]
