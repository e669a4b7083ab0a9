"""Which :class:`~keepfor.connectors.columns.FieldColumn` a reflected column is, for
what the rules need of its field (a date, true or false, a value to match), its type,
the dialect and the config's ``kinds`` override; or why it cannot hold the field, in a
few words for the caller's one-line error. Also: PostgreSQL dates Python cannot hold
read back as text (:func:`lenient_dates`), and how an error names a field's use.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from keepfor.connectors.columns import (
    BooleanColumn,
    ColumnKind,
    DateColumn,
    EpochColumn,
    FieldColumn,
    InstantColumn,
    IntBooleanColumn,
    TextDateColumn,
)
from keepfor.connectors.textdates import text_dates
from keepfor.engine.rules import ValueKind

__all__ = ["DATE_HINTS", "describe_use", "field_column", "lenient_dates"]


def field_column(
    column: sa.Column[Any],
    dialect: str,
    need: ValueKind,
    *,
    kind: ColumnKind | None,
    zone: ZoneInfo,
) -> FieldColumn | str:
    """How ``column`` holds a field the rules need as ``need``; or, where it cannot hold
    one, a few words on why (for the caller's one-line error)."""
    if kind in (ColumnKind.EPOCH, ColumnKind.EPOCH_MS):
        if not _numeric_or_typeless(column, dialect):
            return f"is {column.type}, not a number of seconds since 1970"
        return EpochColumn(column, dialect, 1000 if kind is ColumnKind.EPOCH_MS else 1)
    if need is ValueKind.DATE:
        return _date_column(column, dialect, kind, zone)
    if need is ValueKind.BOOLEAN:
        if isinstance(column.type, sa.Boolean) and dialect == "postgresql":
            return BooleanColumn(column, dialect)
        if _integer_like(column, dialect):
            return IntBooleanColumn(column, dialect)
        return f"is {column.type}; a field compared with true or false needs a BOOLEAN column"
    if _structured(column):
        return f"is {column.type}; rules compare fields with text, numbers or true/false only"
    if _integer_like(column, dialect) and dialect != "postgresql":
        return (
            IntBooleanColumn(column, dialect)
            if _declared_boolean(column)
            else FieldColumn(column, dialect)
        )
    return (
        BooleanColumn(column, dialect)
        if isinstance(column.type, sa.Boolean)
        else FieldColumn(column, dialect)
    )


def _date_column(
    column: sa.Column[Any], dialect: str, kind: ColumnKind | None, zone: ZoneInfo
) -> FieldColumn | str:
    declared = column.type
    is_datetime = isinstance(declared, sa.DateTime)
    is_date = isinstance(declared, sa.Date) and not is_datetime
    naive_zone = ZoneInfo("UTC") if kind is ColumnKind.INSTANT else zone
    sql = text_dates(column, dialect)
    if dialect == "sqlite" or (kind is not None and isinstance(declared, sa.String)):
        if sql is None or not (is_date or is_datetime or kind is not None):
            return f"is {declared}, not a date or datetime"
        return TextDateColumn(column, dialect, sql, naive_zone)
    if is_date:
        return DateColumn(column, dialect)
    if dialect in ("mysql", "mariadb") and type(declared).__name__ == "TIMESTAMP":
        return InstantColumn(column, dialect, ZoneInfo("UTC"))  # kept in UTC, read in UTC
    if is_datetime:
        aware = isinstance(declared, sa.DateTime) and declared.timezone
        return InstantColumn(column, dialect, ZoneInfo("UTC") if aware else naive_zone)
    return f"is {declared}, not a date or datetime"


def _declared_boolean(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.Boolean) or (
        type(column.type).__name__ == "TINYINT" and getattr(column.type, "display_width", 0) == 1
    )


def _integer_like(column: sa.Column[Any], dialect: str) -> bool:
    declared = column.type
    if isinstance(declared, (sa.Integer, sa.Boolean)) or _declared_boolean(column):
        return True
    return dialect == "sqlite" and isinstance(declared, sa.types.NullType)


def _numeric_or_typeless(column: sa.Column[Any], dialect: str) -> bool:
    declared = column.type
    if isinstance(declared, sa.Numeric | sa.Integer):
        return True
    return dialect == "sqlite" and isinstance(declared, sa.types.NullType)


def _structured(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, (sa.JSON, sa.ARRAY)) or type(column.type).__name__ in (
        "JSONB",
        "HSTORE",
    )


def lenient_dates(engine: sa.Engine) -> None:
    """Let PostgreSQL dates and timestamps Python cannot hold (``infinity``, BC dates,
    years past 9999) come back as their text instead of failing the whole query, so the
    record holding one is shown as unreadable (the push-down's ``bad`` finds the same
    ones). Other drivers already do so (PyMySQL returns MariaDB's zero dates as text)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    from psycopg import DataError
    from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

    def lenient(base: type[Any]) -> type[Any]:
        class Lenient(base):  # type: ignore[misc]
            def load(self, data: Any) -> Any:
                try:
                    return super().load(data)
                except DataError:
                    return bytes(data).decode("utf-8", "replace")

        return Lenient

    loaders = {
        "date": lenient(DateLoader),
        "timestamp": lenient(TimestampLoader),
        "timestamptz": lenient(TimestamptzLoader),
    }

    def register(dbapi_connection: Any, _record: Any) -> None:
        for name, loader in loaders.items():
            dbapi_connection.adapters.register_loader(name, loader)

    sa.event.listen(engine, "connect", register)


def describe_use(rule: str | None, name: str, need: ValueKind) -> str:
    how = {
        ValueKind.DATE: "anchors on",
        ValueKind.BOOLEAN: "compares with true or false",
        ValueKind.VALUE: "matches on",
    }[need]
    return f"rule '{rule}' {how} field '{name}'" if rule else f"field '{name}'"


DATE_HINTS = {
    ValueKind.DATE: (
        "; declare it DATE/DATETIME or set its kind (date, instant, local, epoch, epoch_ms) "
        "under [sources.NAME.kinds]"
    ),
    ValueKind.BOOLEAN: "",
    ValueKind.VALUE: "",
}
