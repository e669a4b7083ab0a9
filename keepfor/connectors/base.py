"""The one interface every source of records implements.

A :class:`RecordSource` is where records live: a table in a user's database,
keepfor's own store, later a CRM. The engine never sees it; the report, the sweep
and the daemon talk to sources only through this interface:

* ``test_connection()`` fails fast, with one line, when the source cannot be used;
* ``check(rules)`` proves every field the rules need can be read;
* ``select(predicate)`` streams the records for which a :mod:`keepfor.engine.cutoffs`
  predicate holds, selected by the source itself (push-down), never by scanning;
* ``count(predicates)`` counts without fetching
  (forecasts, waiting, unmatched);
* ``dry_run_query(predicate)`` shows what would run;
* ``close()``.

Records come out as mappings the engine understands: field name -> value, with
dates as ``date`` and instants as aware ``datetime``, plus ``key``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from keepfor.engine import RuleSet
from keepfor.engine.cutoffs import Predicate
from keepfor.errors import SourceError

__all__ = ["KEY", "Group", "Record", "RecordSource", "Rows"]

KEY = "key"
"""The field every record from a source carries: its key in that source."""

Record = Mapping[str, Any]


class Rows(NamedTuple):
    """Records as tuples, for streams where a mapping per record costs.

    ``rows[i][j]`` is field ``names[j]`` (``names[0]`` is ``key``), already as the
    engine reads it; ``constants`` are fields fixed for every row.
    """

    names: tuple[str, ...]
    rows: Iterator[Sequence[Any]]
    constants: Mapping[str, Any]

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        """One row as the mapping the engine evaluates."""
        record = dict(zip(self.names, row, strict=True))
        if self.constants:
            record.update(self.constants)
        return record


class Group(NamedTuple):
    """Records that agree on every value the rules read: one case, decided once.

    A datetime is grouped by a coarse key the database computes (an hour, a local date),
    so ``low`` holds each such field at its lowest in the group and ``high`` at its
    highest. Disposal dates are monotone in every date, so when ``low`` and ``high``
    are decided alike, so is every record between them; when not, the caller reads the
    group's records one by one (:meth:`RecordSource.group_records`). The coarse key
    changes only how many groups there are, never a decision.
    """

    low: Record
    high: Record
    size: int
    """How many records the group holds."""
    keys: Sequence[Any] | None
    """The records' keys; None for a group larger than the bound asked for (then
    :meth:`RecordSource.group_keys` streams them)."""
    token: Any = None
    """What the source needs to find the group's records again."""


class RecordSource(ABC):
    """A place records are read from (and, in later work, acted on)."""

    name: str

    @abstractmethod
    def test_connection(self) -> None:
        """Raise :class:`keepfor.errors.SourceError` unless the source answers."""

    @abstractmethod
    def check(self, rules: RuleSet) -> None:
        """Raise :class:`keepfor.errors.SourceError` naming the first rule field that
        this source cannot provide."""

    @abstractmethod
    def select(self, predicate: Predicate, fields: Collection[str]) -> Iterator[Record]:
        """Stream the records the predicate holds for, selected by the source, each with
        ``key`` and the given fields (those the rules read)."""

    def select_groups(
        self, predicate: Predicate, fields: Collection[str], *, bound: int = 10_000
    ) -> Iterator[Group]:
        """The records the predicate holds for, as groups of one case each (a source that
        cannot group gives one group per record)."""
        for record in self.select(predicate, fields):
            yield Group(record, record, 1, (record[KEY],))

    def group_records(
        self, predicate: Predicate, group: Group, fields: Collection[str]
    ) -> Iterator[Record]:
        """The records of one group, one by one."""
        if group.token is not None:
            raise NotImplementedError(f"{type(self).__name__} gives no groups to read again")
        yield group.low

    def group_keys(self, predicate: Predicate, group: Group) -> Iterator[Any]:
        """The keys of a group too large to give them at once."""
        if group.keys is None:
            raise NotImplementedError(f"{type(self).__name__} gives every group's keys")
        yield from group.keys

    def get(self, key: str, fields: Collection[str]) -> Record | None:
        """The record whose key is ``key`` (as text), with the given fields; None if the
        source has none."""
        raise SourceError(f"source '{self.name}' cannot look up one record by its key")

    def known_fields(self) -> set[str] | None:
        """Every field some record has, where a source can tell (None: any field it is
        asked for exists, or the source cannot say)."""
        return None

    @abstractmethod
    def count(self, predicates: Mapping[str, Predicate]) -> dict[str, int]:
        """How many records each named predicate holds for (one pass, no rows fetched)."""

    @abstractmethod
    def dry_run_query(self, predicate: Predicate) -> str:
        """The query :meth:`select` would run, for humans."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> RecordSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

