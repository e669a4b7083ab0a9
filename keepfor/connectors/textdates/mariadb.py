"""Text dates on MariaDB and MySQL: a case-sensitive regular expression and
``LAST_DAY`` for the check, offsets applied as minutes. One module per backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keepfor.connectors.textdates.base import _REGEX, TextDates

__all__: list[str] = []  # reached through keepfor.connectors.textdates.text_dates


class _MariaDB(TextDates):
    """MariaDB/MySQL: a case-sensitive regular expression for the shape, ``LAST_DAY``
    for real calendar days, offsets applied as minutes (no time zone tables needed)."""

    DIALECT = "mysql"

    def _len(self, text: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        return sa.func.char_length(text)

    def _well_formed(self) -> sa.ColumnElement[bool]:
        v = self.v
        last_day = sa.func.dayofmonth(sa.func.last_day(sa.func.substr(v, 1, 7).concat("-01")))
        return sa.and_(
            v.op("REGEXP")("(?-i)" + _REGEX),
            sa.func.substr(v, 1, 4) != "0000",
            sa.cast(sa.func.substr(v, 9, 2), sa.Integer) <= last_day,
        )

    def _utc(self, utc_start: datetime) -> Any:
        return utc_start.replace(tzinfo=None)

    def _aware_before(self, utc_start: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        offset = self._offset()
        minutes = sa.case(
            (offset == "Z", 0),
            else_=(
                sa.cast(sa.func.substr(offset, 2, 2), sa.Integer) * 60
                + sa.cast(sa.func.substr(offset, 5, 2), sa.Integer)
            )
            * sa.case((sa.func.substr(offset, 1, 1) == "-", -1), else_=1),
        )
        wall = sa.cast(self._aware_core(), sa.DateTime())
        utc = sa.func.timestampadd(sa.text("MINUTE"), -minutes, wall, type_=sa.DateTime())
        return utc < utc_start
