"""Derived fields: a date a rule anchors on that is an aggregate of related rows.

"Three years after the customer's last invoice" anchors on the latest ``invoiced_at`` of
the customer's invoices. In ``keepfor.toml``::

    [sources.customers.derived]
    last_invoice_at = {max = "invoices.invoiced_at", via = "invoices.customer_id"}
    # on = "id"            the customers column that via refers to (default: the key)
    # kind = "date"        how invoiced_at holds dates, where its type does not say
    # timezone = "UTC"     the zone of its wall-clock times (default: the source's)

The push-down never computes the aggregate as a value (``max`` of dates kept as text
would compare text): it asks what the aggregate means, with correlated subqueries over
the related column's own exact comparisons. For ``max``: some related row has a date,
and none has one after the cutoff; for ``min``: some related row has a date on or
before it. The record is unreadable when any related row holds a value that is not a
date. Python reads the related values as one JSON array per record
(:class:`keepfor.engine.Several`), and the engine takes the latest (or earliest) of
their local dates: the differential tests prove the two equal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from keepfor.connectors.choosing import DATE_HINTS, describe_use, field_column
from keepfor.connectors.columns import (
    ColumnKind,
    EpochColumn,
    FieldColumn,
    from_epoch,
    read_date_text,
)
from keepfor.engine.anchors import Several
from keepfor.engine.rules import ValueKind
from keepfor.errors import SourceError, did_you_mean, quoted
from keepfor.zones import is_zone_name

if TYPE_CHECKING:
    from keepfor.connectors.sql import SqlTableSource

__all__ = ["Derived", "DerivedColumn", "derived_column", "parse_derived"]


@dataclass(frozen=True)
class Derived:
    """One ``[sources.NAME.derived]`` entry."""

    latest: bool
    """``max`` (the latest related date) or ``min`` (the earliest)."""
    table: str
    column: str
    via: str
    """The related table's column that refers to the source's row."""
    on: str | None = None
    """The source's column ``via`` refers to (default: its key column)."""
    kind: ColumnKind | None = None
    timezone: str | None = None

    def describe(self) -> str:
        aggregate = "max" if self.latest else "min"
        return f"{aggregate} of {self.table}.{self.column} via {self.table}.{self.via}"


_AGGREGATES = {
    "sqlite": sa.func.json_group_array,
    "postgresql": sa.func.json_agg,
    "mysql": sa.func.json_arrayagg,
    "mariadb": sa.func.json_arrayagg,
}


class DerivedColumn(FieldColumn):
    """A derived date field, over the related rows of each record."""

    def __init__(
        self,
        related: FieldColumn,
        link: sa.ColumnElement[bool],
        latest: bool,
        dialect: str,
        zone: ZoneInfo,
    ) -> None:
        super().__init__(related.column, dialect)
        self.related = related
        self.link = link
        self.latest = latest
        self.zone = zone

    def _exists(self, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        table = self.related.column.table
        return sa.exists(sa.select(sa.literal(1)).select_from(table).where(self.link, condition))

    def selected(self) -> sa.ColumnElement[Any]:
        """The related values as one JSON array text (text, so that it can be grouped)."""
        aggregate = _AGGREGATES[self.dialect](self.related.selected())
        table = self.related.column.table
        array = sa.select(aggregate).select_from(table).where(self.link).scalar_subquery()
        return sa.cast(array, sa.Text) if self.dialect == "postgresql" else array

    def group_keys(self, zones: Sequence[ZoneInfo]) -> list[sa.ColumnElement[Any]]:
        """The JSON array text itself: JSON texts compare byte for byte on every backend
        (MariaDB's are ``utf8mb4_bin``, and end in ``]``: no trailing space to pad)."""
        return [self.selected()]

    def span(self) -> None:
        return None

    def read(self, value: Any) -> Any:
        items = json.loads(value) if isinstance(value, str) else (value or [])
        return Several(tuple(self._one(item) for item in items), self.latest)

    def _one(self, item: Any) -> Any:
        """A related value as the related column's reader gives it (from its JSON form)."""
        if isinstance(self.related, EpochColumn):
            return from_epoch(item, self.related.scale)
        return read_date_text(item, self.zone)

    def present(self) -> sa.ColumnElement[bool]:
        return self._exists(self.related.present())

    def bad(self, kind: ValueKind) -> sa.ColumnElement[bool]:
        if kind is not ValueKind.DATE:
            return sa.false()
        return self._exists(self.related.bad(kind))

    def on_or_before(self, cutoff: date, zone: ZoneInfo) -> sa.ColumnElement[bool]:
        present = self.related.present()
        before = self.related.on_or_before(cutoff, zone)
        if not self.latest:
            return self._exists(sa.and_(present, before))
        later = sa.and_(present, sa.not_(sa.func.coalesce(before, sa.false())))
        return sa.and_(self._exists(present), sa.not_(self._exists(later)))

    def equals(self, value: Any) -> sa.ColumnElement[bool]:
        raise TypeError("a derived field is a date: rules anchor on it, never match it")


def derived_column(source: SqlTableSource, name: str, rule: str | None) -> DerivedColumn:
    """How ``source`` reads its derived field ``name``: over the related table's rows."""
    spec = source.mapping.derived[name]
    where = f"{source.where_text}: derived field '{name}' ({spec.describe()})"
    need = source.needs.get(name, ValueKind.DATE)
    if need is not ValueKind.DATE:
        raise SourceError(
            f"{where}: {describe_use(rule, name, need)}, but a derived field is a date: "
            "rules can anchor on it, not match it"
        )
    related = source.related(spec.table, where)
    for column in (spec.column, spec.via):
        if column not in related.columns:
            hint = did_you_mean(column, [c.name for c in related.columns])
            raise SourceError(f"{where}: table '{spec.table}' has no column '{column}'{hint}")
    parent = source.column(spec.on) if spec.on else source.key_column
    zone = ZoneInfo(spec.timezone) if spec.timezone else source.zone
    made = field_column(
        related.columns[spec.column], source.dialect, ValueKind.DATE, kind=spec.kind, zone=zone
    )
    if isinstance(made, str):
        hint = DATE_HINTS[ValueKind.DATE]
        raise SourceError(f"{where}: column '{spec.column}' {made}{hint}")
    link = related.columns[spec.via] == parent
    return DerivedColumn(made, link, spec.latest, source.dialect, zone)


_DERIVED_KEYS = ("max", "min", "via", "on", "kind", "timezone")


def parse_derived(where: str, table: object) -> dict[str, Derived]:
    """The ``[sources.NAME.derived]`` table of a config, each entry checked; a one-line
    :class:`SourceError` otherwise (the columns are checked when the source opens)."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise SourceError(f"{where}: [derived] must map field names to tables")
    return {name: _entry(f"{where}: derived.{name}", spec) for name, spec in table.items()}


def _entry(where: str, spec: object) -> Derived:
    if not isinstance(spec, dict):
        raise SourceError(f"{where} must be a table such as {_EXAMPLE}")
    for key in spec:
        if key not in _DERIVED_KEYS:
            hint = did_you_mean(key, _DERIVED_KEYS)
            raise SourceError(f"{where}: unknown key {quoted(key)}{hint}")
    aggregates = [key for key in ("max", "min") if key in spec]
    if len(aggregates) != 1:
        raise SourceError(f"{where}: give one of 'max' or 'min', e.g. {_EXAMPLE}")
    table, column = _dotted(where, aggregates[0], spec[aggregates[0]])
    via_table, via = _dotted(where, "via", spec.get("via"))
    if via_table != table:
        raise SourceError(f"{where}: 'via' must be a column of {table}, the table the dates are in")
    kind = spec.get("kind")
    if kind is not None and kind not in tuple(k.value for k in ColumnKind):
        raise SourceError(f"{where}: kind must be one of {', '.join(k.value for k in ColumnKind)}")
    zone = spec.get("timezone")
    if zone is not None and not is_zone_name(zone):
        raise SourceError(f"{where}: unknown time zone {quoted(zone)}")
    on = spec.get("on")
    if on is not None and (not isinstance(on, str) or not on):
        raise SourceError(f"{where}: 'on' names a column of the source's table")
    return Derived(
        latest=aggregates[0] == "max",
        table=table,
        column=column,
        via=via,
        on=on,
        kind=None if kind is None else ColumnKind(kind),
        timezone=zone,
    )


_EXAMPLE = '{max = "invoices.invoiced_at", via = "invoices.customer_id"}'


def _dotted(where: str, key: str, value: object) -> tuple[str, str]:
    """``table.column`` (the table may itself be ``schema.table``)."""
    if not isinstance(value, str) or "." not in value.strip("."):
        raise SourceError(f"{where}: '{key}' must be TABLE.COLUMN, e.g. {_EXAMPLE}")
    table, _, column = value.rpartition(".")
    return table, column
