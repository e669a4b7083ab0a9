"""A sweep's batches kept in a temporary file while the source is read to the end, then
given back as rounds in key order: memory is bounded by a run of keys, not by the due set.

Why every due key is read first: SQLite cannot commit a write while a read of it is
open; and on every table, a round (the next ``size`` due keys in key order, whatever
their rule) touches one stretch of it and is acted on in one transaction, so a page is
written once, where batches in the order read (by group, all over the table) write most
pages again each. The 4M-row purge's ``DELETE`` statements (bench/delete_order.py,
docs/benchmarks.md): on SQLite 10.5 s in the order read, 3.4 s each rule's keys sorted,
1.6 s in rounds, the bare ``DELETE`` 1.4 s; on PostgreSQL 3.0, 2.1, 1.5 and 0.9 s.

It is an external sort: the keys held in memory are sorted and written as a run per kind
of batch (rule, action and selection) once :data:`RUN` of them are held; reading merges
the runs of every kind of one selection into one key order and cuts it into rounds, each
kind's keys in a round a batch of its own. Keys are sorted only where they are all of one
type that orders totally (``int``, ``str``, ``bytes``); others come back in the order
read, kind after kind. Either way every key comes back exactly once, with its batch's
rule, action and selection, and the selections (a sweep's passes, gentlest action first)
one after the other.

Keys are written with :mod:`pickle`, which keeps every key type a database gives (int,
str, Decimal, UUID, bytes, dates) exactly; the file is read back once and deleted when
closed. Nothing but keepfor's own keys is ever unpickled from it.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from itertools import chain, islice, repeat
from typing import IO, Any

from keepfor.abc import ActionBatch

__all__ = ["Round", "SpilledBatches"]

IN_MEMORY = 4 << 20
"""Bytes of runs kept in memory before the file is written to disk."""

RUN = 100_000
"""Keys held in memory (of all kinds together) before they are written as runs."""

CHUNK = 2_000
"""Keys per pickled piece of a run: what merging holds of each run at a time."""

_ORDERED = (int, str, bytes)

Round = tuple[ActionBatch, ...]
"""Batches of one selection, of different rules, whose keys together are at most a
batch's size: acted on together (:meth:`keepfor.abc.ActionTarget.apply_round`)."""


@dataclass
class _Kind:
    """One kind of batch: its first batch (rule, action, selection), keys held, runs."""

    head: ActionBatch
    held: list[Any] = field(default_factory=list)
    runs: list[list[int]] = field(default_factory=list)  # each run: its pieces' offsets
    types: set[type] = field(default_factory=set)

    @property
    def sortable(self) -> bool:
        return len(self.types) == 1 and next(iter(self.types)) in _ORDERED


class SpilledBatches:
    """Add batches, then read them once, as rounds in key order of ``size`` keys at most."""

    def __init__(self, size: int, *, run: int = RUN, chunk: int = CHUNK) -> None:
        # closed by close(), which reading to the end or a failed read calls
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self._kinds: dict[tuple[object, ...], _Kind] = {}
        self._held = 0
        self.size, self._run_keys, self._chunk = size, run, chunk

    def add(self, batch: ActionBatch) -> None:
        which = (batch.source, batch.rule, batch.pack, batch.action, batch.recheck, batch.reviewed)
        kind = self._kinds.get(which)
        if kind is None:
            kind = self._kinds[which] = _Kind(replace(batch, keys=batch.keys[:1]))
        kind.held.extend(batch.keys)
        kind.types.update(map(type, batch.keys))
        self._held += len(batch.keys)
        if self._held >= self._run_keys:
            self._write_runs()

    def _write_runs(self) -> None:
        """Every kind's held keys become a run of its own, sorted where they can be."""
        self._file.seek(0, 2)
        for kind in self._kinds.values():
            if not kind.held:
                continue
            if kind.sortable:
                kind.held.sort()
            offsets = []
            for i in range(0, len(kind.held), self._chunk):
                offsets.append(self._file.tell())
                piece = kind.held[i : i + self._chunk]
                pickle.dump(piece, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            kind.runs.append(offsets)
            kind.held = []
        self._held = 0

    def _run(self, offsets: list[int]) -> Iterator[Any]:
        for offset in offsets:
            self._file.seek(offset)
            yield from pickle.load(self._file)

    def _keys(self, kind: _Kind) -> Iterator[Any]:
        runs = [self._run(offsets) for offsets in kind.runs]
        return heapq.merge(*runs) if kind.sortable else (k for run in runs for k in run)

    def __iter__(self) -> Generator[Round]:
        """The rounds, those of one selection (a sweep's pass) together, passes in the
        order first added; the file is closed at the end."""
        try:
            self._write_runs()
            passes: dict[object, list[_Kind]] = {}
            for kind in self._kinds.values():
                passes.setdefault(kind.head.recheck, []).append(kind)
            for kinds in passes.values():
                yield from self._rounds(kinds)
        finally:
            self.close()

    def _rounds(self, kinds: list[_Kind]) -> Iterator[Round]:
        """The kinds' keys, ``size`` at a time, each kind's among them a batch. Where every
        key is of one type that orders, all kinds' keys are merged into one key order: a
        round is then one stretch of the table, acted on in one transaction, and each page
        is written once, not once per rule (bench/delete_order.py); else each kind's keys
        in turn. Memory holds one round's keys."""
        types = {t for kind in kinds for t in kind.types}
        merged = len(types) == 1 and all(kind.sortable for kind in kinds)
        streams = [zip(self._keys(kind), repeat(i)) for i, kind in enumerate(kinds)]
        keyed = heapq.merge(*streams) if merged else chain.from_iterable(streams)
        while piece := list(islice(keyed, self.size)):
            parts: dict[int, list[Any]] = {}
            for key, i in piece:
                parts.setdefault(i, []).append(key)
            yield tuple(replace(kinds[i].head, keys=tuple(keys)) for i, keys in parts.items())

    @property
    def on_disk(self) -> bool:
        """Whether the runs went past :data:`IN_MEMORY` into a file on disk."""
        return bool(getattr(self._file, "_rolled", True))

    def close(self) -> None:
        self._file.close()
