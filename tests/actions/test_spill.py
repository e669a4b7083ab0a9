"""Batches spilled to a temporary file come back exactly, in order, whatever their keys."""

from __future__ import annotations

import uuid
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


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(list(Action)),
            st.lists(KEYS, min_size=1, max_size=20, unique=True),
        ),
        max_size=12,
    )
)
def test_batches_come_back_exactly_and_in_order(
    items: list[tuple[str, Action, list[object]]],
) -> None:
    batches = [_batch(rule, action, tuple(keys)) for rule, action, keys in items]
    spilled = SpilledBatches()
    for batch in batches:
        spilled.add(batch)
    assert list(spilled) == batches


def test_a_large_due_set_is_written_to_disk_not_kept_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spill, "IN_MEMORY", 1 << 16)
    spilled = SpilledBatches()
    keys = tuple(range(10_000))
    for n in range(60):  # 600,000 keys: megabytes past the in-memory size
        spilled.add(_batch("a", Action.PURGE, tuple(k + n * 10_000 for k in keys)))
    assert spilled.on_disk
    got = list(spilled)
    assert [b.keys[0] for b in got] == [n * 10_000 for n in range(60)]
    assert spilled._file.closed


def test_keys_of_every_type_a_database_gives_survive() -> None:
    keys = (1, "ORD-1", Decimal("1.10"), uuid.UUID(int=7), b"\x00\xff", date(2024, 2, 29))
    spilled = SpilledBatches()
    spilled.add(_batch("a", Action.FLAG, keys))
    (back,) = list(spilled)
    assert back.keys == keys
    assert [type(k) for k in back.keys] == [type(k) for k in keys]
