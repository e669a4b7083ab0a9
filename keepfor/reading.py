"""Reading what the rules decide, a group of records at a time: the one mechanism the
report (its rows and its counts) and the sweep read records through.

A source groups the records a predicate selects by every value the rules read (see
:class:`keepfor.abc.Group`); the engine decides a group's lowest and highest
record; when they are decided alike, so is every record between them (disposal dates
are monotone in every date), and the group is decided at once; otherwise its records
are read and decided one by one. A coarse grouping key changes only how many groups
there are, never a decision.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from keepfor.abc import Evaluator, Group, Record, RecordSource
from keepfor.engine import Decision, Instant, RuleSet
from keepfor.engine.cutoffs import Predicate

__all__ = ["Decided", "ReadAhead", "decided_groups", "keys_of"]

T = TypeVar("T")


class Decided(NamedTuple):
    """Records decided alike: a whole group, or one record of a group that was not."""

    decision: Decision
    record: Record
    """One of them (a group's lowest), for what the rules read: its category."""
    size: int
    keys: Sequence[Any] | None
    """Their keys; None when counting, or for a group too large to bring them at once."""
    group: Group | None
    """The group, where its keys are still to be streamed."""


def decided_groups(
    source: RecordSource,
    predicate: Predicate,
    rules: RuleSet,
    evaluator: Evaluator,
    at: Instant,
    bound: int,
    *,
    groups: Iterable[Group] | None = None,
) -> Iterator[Decided]:
    """The records the predicate selects, decided: a group at once where its lowest and
    highest record are decided alike (then so is every record between them: disposal
    dates are monotone in every date), else record by record. Shared by every command
    that reads records (``bound`` 0: counting, no keys). ``groups``: the source's groups
    of that predicate, already asked for (see :class:`ReadAhead`)."""
    fields = rules.fields()
    if groups is None:
        groups = source.select_groups(predicate, fields, bound=bound)
    for group in groups:
        low = evaluator(group.low, at)
        high = low if group.high is group.low else evaluator(group.high, at)
        if _alike(low, high):
            yield Decided(low, group.low, group.size, group.keys, group)
            continue
        for key, record in source.group_records(predicate, group, fields):
            yield Decided(evaluator(record, at), record, 1, (key,), None)


def keys_of(
    source: RecordSource, predicate: Predicate, decided: Decided, bound: int
) -> Generator[Sequence[Any]]:
    """The keys of decided records, a bound's worth at a time."""
    if decided.keys is not None:
        yield decided.keys
        return
    assert decided.group is not None
    chunk: list[Any] = []
    for key in source.group_keys(predicate, decided.group):
        chunk.append(key)
        if len(chunk) >= bound:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _alike(first: Decision, second: Decision) -> bool:
    """The same decision, down to the dates of its explanation."""
    if first is second:
        return True
    return (
        first.status is second.status
        and first.problem == second.problem
        and [(o.rule.id, o.term) for o in first.matched]
        == [(o.rule.id, o.term) for o in second.matched]
    )


class ReadAhead(Generic[T]):
    """The items of an iterator, read by a thread of its own while the caller does
    something else: a report's counts are one grouped statement that the database works
    on (sorts, hashes) before its first row, and so can work on while the report writes
    its due records. At most ``limit`` items wait; an error of the reading is raised
    where the items are taken. :meth:`close` stops the thread (it ends, and closes the
    iterator, at its next item)."""

    _ITEM, _END, _ERROR = range(3)

    def __init__(self, items: Iterator[T], limit: int = 256) -> None:
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(limit)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._pump, args=(items,), name="keepfor-read-ahead", daemon=True
        )
        self._thread.start()

    def _pump(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put(self._ITEM, item):
                    return
            self._put(self._END, None)
        except BaseException as error:  # handed to the reader, raised there
            self._put(self._ERROR, error)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _put(self, kind: int, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == self._ITEM:
            item: T = value
            return item
        self._done = True
        self._thread.join()
        if kind == self._ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop reading: the thread ends at its next item, whatever is left unread."""
        self._done = True
        self._stop.set()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
