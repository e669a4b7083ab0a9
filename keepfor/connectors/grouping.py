"""Grouped reading and counting for SQL sources: the database does the per-row work.

* :func:`select_groups`: the records a predicate holds for, grouped by every value the
  rules read (a datetime by a coarse key, with its lowest and highest value), each
  group's keys aggregated into one JSON array (any key type, any characters), so that
  Python decides once per group and writes its keys in one go. A group larger than the
  bound comes without its keys, which are then streamed (:func:`group_keys`): memory
  stays bounded by the bound, not by the table.
* :func:`stream`: rows of a query as they come; on PostgreSQL with psycopg's own
  streaming (``Cursor.stream``, chunked where libpq allows), not a ``DECLARE CURSOR``,
  whose plan gets no parallel workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from keepfor.abc import Group, Keyed, Record
from keepfor.connectors.columns import FieldColumn
from keepfor.engine.cutoffs import Predicate

if TYPE_CHECKING:
    from keepfor.connectors.sql import SqlTableSource

__all__ = ["group_keys", "group_records", "select_groups", "stream"]

CHUNK = 10_000
"""Rows fetched per round trip while streaming."""

_PG_GROUPED = "SET LOCAL enable_sort = off; SET LOCAL parallel_tuple_cost = 0.001"
_PG_WHOLE = "SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0"

_KEY_ARRAYS: dict[str, Callable[..., sa.ColumnElement[Any]]] = {
    "sqlite": sa.func.json_group_array,
    "postgresql": sa.func.json_agg,
    "mysql": sa.func.json_arrayagg,
    "mariadb": sa.func.json_arrayagg,
}


class _Layout:
    """Where each field's values are in a grouped row: the group keys first (positions
    0..k-1, what ``GROUP BY`` names), then each field's value, or its lowest and highest."""

    def __init__(self, names: Sequence[str], columns: Sequence[FieldColumn], zones: Any) -> None:
        self.names = names
        self.columns = columns
        self.keys: list[sa.ColumnElement[Any]] = []
        self.values: list[sa.ColumnElement[Any]] = []
        self.spans: list[tuple[int, int] | int] = []  # per field: (low, high) or an exact slot
        for column in columns:
            span = column.span()
            if span is None:  # grouped by its value (the first key), and what else it says
                self.spans.append(len(self.keys))
                self.keys.extend(column.group_keys(zones))
            else:
                self.keys.extend(column.group_keys(zones))
                self.values.extend(span)
                self.spans.append((len(self.values) - 2, len(self.values) - 1))

    def records(self, row: Sequence[Any], constants: dict[str, Any]) -> tuple[Record, Record]:
        """The group's lowest and highest record, as the engine reads them."""
        base = len(self.keys)
        low, high = dict(constants), dict(constants)
        for name, column, spot in zip(self.names, self.columns, self.spans, strict=True):
            if isinstance(spot, int):
                low[name] = high[name] = _read(column, row[spot])
            else:
                low[name] = _read(column, row[base + spot[0]])
                high[name] = _read(column, row[base + spot[1]])
        return low, high


def _read(column: FieldColumn, value: Any) -> Any:
    return value if value is None or column.read is None else column.read(value)


def select_groups(
    source: SqlTableSource,
    predicate: Predicate,
    fields: Collection[str],
    bound: int,
    *,
    whole: bool = False,
) -> Iterator[Group]:
    """The groups, their statement built here and now (in the caller's thread: a
    report's counts are read by a thread of their own, which only runs the statement).
    ``whole``: the predicate keeps about every record (see :func:`stream`)."""
    names, columns = source.columns_of(fields)
    layout = _Layout(names, columns, source.zones)
    count = sa.func.count()
    keys: list[sa.ColumnElement[Any]] = []
    if bound > 0:  # bound 0: counting only, no keys
        array = _KEY_ARRAYS[source.dialect](source.key_column)
        keys.append(sa.case((count <= bound, array), else_=None))
    query = (
        sa.select(*layout.keys, *layout.values, count, *keys)
        .select_from(source.table)
        .where(source.where(predicate))
        .group_by(*(sa.literal_column(str(i + 1)) for i in range(len(layout.keys))))
    )
    return _groups(source, query, layout, with_keys=bool(keys), whole=whole)


def _groups(
    source: SqlTableSource,
    query: sa.Select[Any],
    layout: _Layout,
    *,
    with_keys: bool,
    whole: bool,
) -> Iterator[Group]:
    constants = dict(source.mapping.constants)
    first_key = len(layout.keys)
    size_at = first_key + len(layout.values)
    for row in stream(source, query, grouped=True, whole=whole):
        low, high = layout.records(row, constants)
        found = row[-1] if with_keys else None
        if isinstance(found, str):
            found = json.loads(found)
        token = tuple(row[:first_key])
        yield Group(low, high, int(row[size_at]), found, token)


def _same_group(
    source: SqlTableSource, names: Sequence[str], group: Group
) -> sa.ColumnElement[bool]:
    """The records of one group: each group key equal to the group's (NULL to NULL)."""
    _, columns = source.columns_of(names)
    keys = _Layout(names, columns, source.zones).keys
    pairs = zip(keys, group.token, strict=True)
    return sa.and_(sa.true(), *(key.is_not_distinct_from(value) for key, value in pairs))


def group_records(
    source: SqlTableSource, predicate: Predicate, group: Group, fields: Collection[str]
) -> Iterator[Keyed]:
    names, _ = source.columns_of(fields)
    where = sa.and_(source.where(predicate), _same_group(source, names, group))
    rows = source.rows_where(where, fields)
    for row in rows.rows:
        yield rows.keyed(row)


def group_keys(
    source: SqlTableSource, predicate: Predicate, group: Group, fields: Collection[str]
) -> Iterator[Any]:
    names, _ = source.columns_of(fields)
    where = sa.and_(source.where(predicate), _same_group(source, names, group))
    query = sa.select(source.key_column).where(where)
    for row in stream(source, query):
        yield row[0]


def stream(
    source: SqlTableSource, query: sa.Select[Any], *, grouped: bool = False, whole: bool = False
) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` as they come, the connection released however the loop ends.

    ``grouped``: the query groups many rows into few groups. PostgreSQL's planner
    cannot estimate how many rows a long predicate keeps (it guesses a few thousand
    where there are millions) and so sorts them for a ``GroupAggregate``, spilling to
    disk; a ``HashAggregate`` (which spills by itself past ``work_mem``) is a third
    faster for the report and twice as fast for the counts, so sorting is discouraged
    for this statement's transaction only (``SET LOCAL``). The same misjudged counts
    make it price gathering the rows of parallel workers above scanning alone; the
    grouped statements are scans that keep few rows, so a gathered row is priced at
    a hundredth of the default (``parallel_tuple_cost``), and the planner takes the
    parallel scan the hand-written query gets (the 4M-row csv report: 2.1 s to 1.6 s).
    A table too small for parallel workers is scanned alone as before.

    ``whole``: a grouping of about every record (a report's counts). Parallel workers
    would only scan and hand every row to the one process that groups them, which is
    the slow part: read alone, the 4M-row counts take as long and half the processor
    time (1.0 against 2.0 s of CPU), which the report's other pass, read at the same
    time, then has (docs/benchmarks.md).
    """
    from keepfor.connectors.sql import db_error

    try:
        with source.engine.connect() as conn:
            if grouped and source.dialect == "postgresql":
                conn.exec_driver_sql(_PG_WHOLE if whole else _PG_GROUPED)
            if source.dialect == "postgresql" and source.engine.dialect.driver == "psycopg":
                yield from _psycopg_stream(conn, query)
                return
            # one-off statements: no cache key to work out (a long predicate's costs more
            # than its compilation)
            options = conn.execution_options(
                stream_results=True, yield_per=CHUNK, compiled_cache=None
            )
            # closed however the loop ends: a stream left unfinished on MariaDB would
            # otherwise be drained (with a warning) by the connection's next statement
            with options.execute(query) as result:
                yield from result
    except SQLAlchemyError as error:
        raise db_error(source.where_text, source.url, error) from None


def _psycopg_stream(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[Sequence[Any]]:
    """psycopg's own streaming: one query, rows in chunks (libpq 17 and later) or one by
    one, no server-side cursor. Values come as psycopg reads them, which is what the
    field columns' readers expect (the statement's columns carry no SQLAlchemy types
    that convert)."""
    import psycopg

    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    driver = conn.connection.driver_connection
    assert driver is not None
    size = CHUNK if psycopg.pq.version() >= 170000 else 1
    try:
        with driver.cursor() as cursor:
            yield from cursor.stream(str(compiled), compiled.params, size=size)
    except psycopg.Error as error:
        # the pool must not reuse (nor try to reset) a connection that failed under it
        conn.invalidate()
        raise sa.exc.DBAPIError(str(compiled), compiled.params, error) from None
