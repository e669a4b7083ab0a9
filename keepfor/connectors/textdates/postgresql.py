"""Text dates on PostgreSQL: a regular expression and date arithmetic for the check, a
guarded cast for offsets, byte-order comparisons. One module per backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keepfor.connectors.textdates.base import _REGEX, TextDates

__all__: list[str] = []  # reached through keepfor.connectors.textdates.text_dates


class _PostgreSQL(TextDates):
    """PostgreSQL: a regular expression for the shape, date arithmetic for real calendar
    days, a cast to ``timestamptz`` (guarded) for offsets; text compared in the C
    collation (byte order), whatever the column's own collation."""

    DIALECT = "postgresql"

    def _well_formed(self) -> sa.ColumnElement[bool]:
        v = self.v
        first = sa.cast(sa.func.substr(v, 1, 7).concat("-01"), sa.Date)
        month_less_a_day = sa.literal_column("interval '1 month - 1 day'", sa.Interval)
        last_day = sa.extract("day", first + month_less_a_day)
        return sa.case(
            (
                sa.and_(v.op("~")(_REGEX), sa.func.substr(v, 1, 4) != "0000"),
                sa.cast(sa.func.substr(v, 9, 2), sa.Integer) <= last_day,
            ),
            else_=sa.false(),
        )

    def _text(self) -> sa.ColumnElement[str]:
        return self.v.collate("C")

    def _wall_clock(self) -> sa.ColumnElement[str]:
        return super()._wall_clock().collate("C")

    def _utc(self, utc_start: datetime) -> Any:
        return utc_start

    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        instant = sa.cast(self._aware_core().concat(self._offset()), sa.DateTime(timezone=True))
        return sa.case((self.well_formed(), instant < utc_start), else_=None)
