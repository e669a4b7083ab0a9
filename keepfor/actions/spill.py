"""Batches kept in a temporary file while a source that cannot be written during a read
(SQLite) is read to the end: memory is bounded by a run of keys, not by the due set.

The keys of each kind of batch (rule, action and selection) come back in key order,
cut into batches again: a batch then touches a stretch of the table, not pages all
over it, and each page is written by fewer transactions (the 4M-row SQLite purge's
``DELETE`` statements, 10,000 keys a batch: 7.6 s with each rule's keys in the order
read, 2.3 s in key order; bench/delete_order.py). It is an external sort: the keys
held in memory are sorted and written as a run per kind once :data:`RUN` of them are
held; reading merges each kind's runs. Keys are sorted only where they are all of one
type that orders totally (``int``, ``str``, ``bytes``); others come back in the order
read. Either way every key comes back exactly once, with its batch's rule, action and
selection.

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
from typing import IO, Any

from keepfor.abc import ActionBatch

__all__ = ["SpilledBatches"]

IN_MEMORY = 4 << 20
"""Bytes of runs kept in memory before the file is written to disk."""

RUN = 100_000
"""Keys held in memory (of all kinds together) before they are written as runs."""

CHUNK = 2_000
"""Keys per pickled piece of a run: what merging holds of each run at a time."""

_ORDERED = (int, str, bytes)


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
    """Add batches, then read them once: each kind's keys in key order, ``size`` a batch."""

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

    def __iter__(self) -> Generator[ActionBatch]:
        """Each kind's batches, kinds in the order first added; the file is closed at
        the end."""
        try:
            self._write_runs()
            for kind in self._kinds.values():
                keys: list[Any] = []
                for key in self._keys(kind):
                    keys.append(key)
                    if len(keys) == self.size:
                        yield replace(kind.head, keys=tuple(keys))
                        keys = []
                if keys:
                    yield replace(kind.head, keys=tuple(keys))
        finally:
            self.close()

    @property
    def on_disk(self) -> bool:
        """Whether the runs went past :data:`IN_MEMORY` into a file on disk."""
        return bool(getattr(self._file, "_rolled", True))

    def close(self) -> None:
        self._file.close()
