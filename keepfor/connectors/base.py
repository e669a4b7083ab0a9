"""The one interface every source of records implements.

A :class:`RecordSource` is where records live: a table in a user's database,
keepfor's own store, later a CRM. The engine never sees it; the report, the sweep
and the daemon talk to sources only through this interface:

* ``test_connection()`` fails fast, with one line, when the source cannot be used;
* ``check(rules)`` proves every field the rules need can be read;
* ``select(predicate)`` streams the records for which a :mod:`keepfor.engine.cutoffs`
  predicate holds, selected by the source itself (push-down), never by scanning;
* ``count(predicates)`` and ``count_by(predicate, field)`` count without fetching
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

__all__ = ["KEY", "Record", "RecordSource", "Rows"]

KEY = "key"
"""The field every record from a source carries: its key in that source."""

Record = Mapping[str, Any]


class Rows(NamedTuple):
    """Records as tuples, for streams of millions where a mapping per record costs.

    ``rows[i][j]`` is field ``names[j]`` (``names[0]`` is ``key``), already as the
    engine reads it; ``constants`` are fields fixed for every row. ``volatile`` are
    the positions whose values can differ within one day (datetimes): two rows that
    agree everywhere else and have None there are the same case to the rules.
    """

    names: tuple[str, ...]
    rows: Iterator[Sequence[Any]]
    constants: Mapping[str, Any]
    volatile: tuple[int, ...]

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        """One row as the mapping the engine evaluates."""
        record = dict(zip(self.names, row, strict=True))
        if self.constants:
            record.update(self.constants)
        return record


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

    def select_rows(self, predicate: Predicate, fields: Collection[str]) -> Rows | None:
        """:meth:`select` as :class:`Rows`, where the source can give them (None if not)."""
        return None

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
    def count_by(self, predicate: Predicate, field: str) -> dict[Any, int]:
        """How many records the predicate holds for, per value of ``field``."""

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
