"""Dates held as text, in SQL: the grammar of :mod:`keepfor.engine.datetext`, per dialect.

SQLite keeps every date as text (``2023-03-31``, ``2023-03-31 00:00:00.000000``,
``2023-03-31T00:00:00Z`` ...), and some applications keep dates in text columns on
PostgreSQL and MariaDB too. Comparing such text with a bound as a string goes wrong
(``T`` sorts after a space; ``31/12/2015`` sorts before ``2015-12-31``), so each value
is read by its form, exactly as Python reads it:

* :meth:`TextDates.well_formed` is true for a text of the grammar and for nothing else
  (the same shape and ranges, and a real calendar day);
* :meth:`TextDates.on_or_before` assumes a well-formed value (every due predicate is
  joined with "readable") and compares it by form: a date as ``YYYY-MM-DD`` text; a
  wall-clock time as ``YYYY-MM-DD HH:MM:SS`` text (fraction dropped: a day starts on a
  whole second, so ``t < start`` and ``floor(t) < start`` agree) against the day's start
  in the column's zone; a time with an offset converted to UTC by the database and
  compared with the day's start in UTC. Where that conversion could raise on a
  malformed value (PostgreSQL casts), it is guarded, so a malformed value in a rule
  that does not apply never fails a query.

A cheap necessary condition comes first (``text < cutoff + 3 days``: a wall-clock date
is within two days of any zone's date), so an index on the column can serve it.

The package: :mod:`~keepfor.connectors.textdates.base` (what every dialect shares),
:mod:`~keepfor.connectors.textdates.sqlite`,
:mod:`~keepfor.connectors.textdates.postgresql` and
:mod:`~keepfor.connectors.textdates.mariadb` (one module per backend), and here
:func:`text_dates`, which picks the backend for a dialect.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from keepfor.connectors.textdates.base import TextDates
from keepfor.connectors.textdates.mariadb import _MariaDB
from keepfor.connectors.textdates.postgresql import _PostgreSQL
from keepfor.connectors.textdates.sqlite import _SQLite

__all__ = ["TextDates", "text_dates"]

_DIALECTS: dict[str, type[TextDates]] = {
    "sqlite": _SQLite,
    "postgresql": _PostgreSQL,
    "mysql": _MariaDB,
    "mariadb": _MariaDB,
}


def text_dates(column: sa.ColumnElement[Any], dialect: str) -> TextDates | None:
    """The text-date SQL for a column of this dialect; None where keepfor has none."""
    kind = _DIALECTS.get(dialect)
    return None if kind is None else kind(column)
