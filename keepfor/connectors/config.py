"""``keepfor.toml``: where records live, and which columns hold the rule fields.

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

A relative SQLite path is read from the config file's folder. Every key is checked;
every column is checked against the table itself when the source is opened.
"""

from __future__ import annotations

import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepfor.abc import RecordSource
from keepfor.connectors.derived import parse_derived
from keepfor.connectors.sql import ColumnKind, SqlTableSource, TableMapping
from keepfor.database import expand_url, parse_url, sqlite_path
from keepfor.errors import SourceError, did_you_mean, quoted

__all__ = ["SourceConfig", "load_config", "source_from_args"]

_KEYS = (
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
_KINDS = tuple(kind.value for kind in ColumnKind)


@dataclass(frozen=True)
class SourceConfig:
    """One ``[sources.NAME]`` table of a config file."""

    name: str
    url: str
    mapping: TableMapping | None
    """How the table maps to rule fields; None for keepfor's own store (no ``table``)."""

    def open(self) -> RecordSource:
        if self.mapping is None:
            from keepfor.connectors.store import StoreSource  # the store's models load slowly

            return StoreSource(self.url, self.name)
        return SqlTableSource(self.url, self.mapping)


def load_config(path: str | Path) -> list[SourceConfig]:
    """Every source of a ``keepfor.toml``, validated; a one-line error otherwise."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{file}: cannot read the file: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{file}: not valid TOML: {error}") from None
    unknown = [k for k in data if k != "sources"]
    if unknown:
        raise SourceError(
            f"{file}: unknown table '{unknown[0]}'{did_you_mean(unknown[0], ['sources'])}"
        )
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise SourceError(f"{file}: no sources; add a [sources.NAME] table with url and table")
    return [_source(file, name, body) for name, body in sources.items()]


def _source(file: Path, name: str, body: Any) -> SourceConfig:
    where = f"{file}: source '{name}'"
    if not isinstance(body, dict):
        raise SourceError(f"{where}: must be a table with url and table")
    for key in body:
        if key not in _KEYS:
            raise SourceError(f"{where}: unknown key {quoted(key)}{did_you_mean(key, _KEYS)}")
    url = _resolve_url(where, _required(where, body, "url"), file.parent)
    table = _text(where, body, "table")
    if table is None:
        mapped = [k for k in body if k not in ("url",)]
        if mapped:
            raise SourceError(
                f"{where}: '{mapped[0]}' needs 'table' (without a table the source is "
                "keepfor's own store, which needs only 'url')"
            )
        return SourceConfig(name, url, None)
    if "category" in body and "category_column" in body:
        raise SourceError(f"{where}: give 'category' (a constant) or 'category_column', not both")
    fields = dict(_table(where, body, "fields"))
    constants: dict[str, Any] = {}
    if "category" in body:
        constants["category"] = _required(where, body, "category")
    if "category_column" in body:
        fields["category"] = _required(where, body, "category_column")
    timezone = _text(where, body, "timezone") or "UTC"
    zones = dict(_table(where, body, "zones"))
    for zone in (timezone, *zones.values()):
        if zone not in zoneinfo.available_timezones():
            hint = did_you_mean(zone, zoneinfo.available_timezones())
            raise SourceError(f"{where}: unknown time zone {quoted(zone)}{hint}")
    kinds: dict[str, ColumnKind] = {}
    for column, kind in _table(where, body, "kinds").items():
        if kind not in _KINDS:
            raise SourceError(f"{where}: kinds.{column} must be one of {', '.join(_KINDS)}")
        kinds[column] = ColumnKind(kind)
    mapping = TableMapping(
        table=table,
        key=_text(where, body, "key"),
        fields=fields,
        constants=constants,
        timezone=timezone,
        zones=zones,
        kinds=kinds,
        derived=parse_derived(where, body.get("derived")),
        source=name,
        origin=str(file),
    )
    return SourceConfig(name, url, mapping)


def _required(where: str, body: Mapping[str, Any], key: str) -> str:
    value = _text(where, body, key)
    if value is None:
        raise SourceError(f"{where}: needs '{key}'")
    return value


def _text(where: str, body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{where}: '{key}' must be text, not {quoted(value)}")
    return value


def _table(where: str, body: Mapping[str, Any], key: str) -> dict[str, str]:
    value = body.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SourceError(f"{where}: [{key}] must map names to text")
    return value


def _resolve_url(where: str, url: str, base: Path) -> str:
    """Expand ``${VAR}`` (each value encoded for where it stands, see
    :func:`keepfor.database.expand_url`), and read a relative SQLite path from the
    config file's folder."""
    try:
        parsed = parse_url(expand_url(url))
    except SourceError as error:
        raise SourceError(f"{where}: url: {error}") from None
    database = sqlite_path(parsed)
    if database is not None and not database.is_absolute():
        parsed = parsed.set(database=str((base / database).resolve()))
    return parsed.render_as_string(hide_password=False)


def source_from_args(
    url: str, table: str, key: str | None, category: str | None = None
) -> SqlTableSource:
    """``--db URL --table NAME [--key COL] [--category NAME]``: a table whose columns carry
    the rule field names; ``category`` gives every row that category (as ``category =``
    does in a config)."""
    constants = {} if category is None else {"category": category}
    mapping = TableMapping(table=table, key=key, constants=constants, source=table, origin="--db")
    return SqlTableSource(url, mapping)
