"""Batches kept in a temporary file while a source that cannot be written during a read
(SQLite) is read to the end: memory stays bounded by one batch, not by the due set.

Each batch is written as (which rule, action and selection: an index into a short list
kept in memory; its keys) with :mod:`pickle`, which keeps every key type a database
gives (int, str, Decimal, UUID, bytes, dates) exactly; the file is read back once, in
the order written, and deleted when closed. Nothing but keepfor's own batches is ever
unpickled from it.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Generator
from dataclasses import replace
from typing import IO

from keepfor.abc import ActionBatch

__all__ = ["SpilledBatches"]

IN_MEMORY = 4 << 20
"""Bytes of batches kept in memory before the file is written to disk."""


class SpilledBatches:
    """An append-then-read-once sequence of batches, on disk past :data:`IN_MEMORY`."""

    def __init__(self) -> None:
        # closed by close(), which reading to the end or a failed read calls
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self._heads: list[ActionBatch] = []
        self._index: dict[tuple[object, ...], int] = {}
        self.count = 0

    def add(self, batch: ActionBatch) -> None:
        head = (batch.source, batch.rule, batch.pack, batch.action, batch.recheck, batch.reviewed)
        index = self._index.get(head)
        if index is None:
            index = self._index[head] = len(self._heads)
            self._heads.append(replace(batch, keys=batch.keys[:1]))
        pickle.dump((index, batch.keys), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Generator[ActionBatch]:
        """The batches, in the order added; the file is closed at the end."""
        try:
            self._file.seek(0)
            for _ in range(self.count):
                index, keys = pickle.load(self._file)
                yield replace(self._heads[index], keys=keys)
        finally:
            self.close()

    @property
    def on_disk(self) -> bool:
        """Whether the batches went past :data:`IN_MEMORY` into a file on disk."""
        return bool(getattr(self._file, "_rolled", True))

    def close(self) -> None:
        self._file.close()
