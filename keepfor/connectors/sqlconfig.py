"""The ``sql`` kind of source (the default): a table of any SQLAlchemy database, or,
without ``table``, keepfor's own store.

::

    [sources.orders]
    url = "sqlite:///shop.db"          # any SQLAlchemy URL; ${VAR} is expanded
    table = "orders"                   # or "schema.table"; no table: keepfor's own store
    key = "order_no"                   # default: the single-column primary key
    category = "order"                 # every row is an order; or:
    # category_column = "kind"         # the category is in a column
    timezone = "Europe/London"         # zone of naive DATETIME columns (default UTC)

    [sources.orders.fields]            # rule field = column
    placed_at = "ordered_on"

    [sources.orders.zones]             # per-column zones of naive datetimes
    [sources.orders.kinds]             # date | instant | local | epoch | epoch_ms
    [sources.orders.derived]           # fields that aggregate related rows:
    # last_invoice_at = {max = "invoices.invoiced_at", via = "invoices.customer_id"}
"""

from __future__ import annotations

from keepfor.abc import RecordSource
from keepfor.connectors.derived import parse_derived
from keepfor.connectors.sections import Section
from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping

__all__ = ["KEYS", "SqlSettings", "open_sql", "parse_sql"]

KEYS = (
    "url",
    "table",
    "key",
    "category",
    "category_column",
    "timezone",
    "fields",
    "zones",
    "kinds",
    "derived",
)
_COLUMN_KINDS = tuple(kind.value for kind in ColumnKind)


class SqlSettings:
    """A table's URL and mapping (``mapping`` None: keepfor's own store at ``url``)."""

    def __init__(self, url: str, mapping: TableMapping | None) -> None:
        self.url = url
        self.mapping = mapping


def open_sql(name: str, settings: SqlSettings) -> RecordSource:
    """The source (no I/O until it is opened)."""
    if settings.mapping is None:
        from keepfor.connectors.store import StoreSource  # the store's models load slowly

        return StoreSource(settings.url, name)
    return SqlTableSource(settings.url, settings.mapping)


def parse_sql(section: Section) -> SqlSettings:
    """A ``kind = "sql"`` section, every key checked; the columns are checked against the
    table itself when the source is opened."""
    section.only(KEYS)
    body = section.body
    url = section.url()
    table = section.text("table")
    if table is None:
        mapped = [k for k in body if k != "url"]
        if mapped:
            raise section.error(
                f"'{mapped[0]}' needs 'table' (without a table the source is "
                "keepfor's own store, which needs only 'url')"
            )
        return SqlSettings(url, None)
    fields, constants, timezone = section.mapping()
    zones = {column: section.zone(zone) for column, zone in section.names("zones").items()}
    kinds: dict[str, ColumnKind] = {}
    for column, kind in section.names("kinds").items():
        if kind not in _COLUMN_KINDS:
            raise section.error(f"kinds.{column} must be one of {', '.join(_COLUMN_KINDS)}")
        kinds[column] = ColumnKind(kind)
    mapping = TableMapping(
        table=table,
        key=section.text("key"),
        fields=fields,
        constants=constants,
        timezone=timezone,
        zones=zones,
        kinds=kinds,
        derived=parse_derived(section.where, body.get("derived")),
        source=section.name,
        origin=str(section.file),
    )
    return SqlSettings(url, mapping)
