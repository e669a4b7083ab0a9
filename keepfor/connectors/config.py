"""``keepfor.toml``: where records live, how they map to rule fields, and how they are
acted on.

::

    [keepfor]                          # optional, for every source
    audit_key_file = "audit.key"       # else the KEEPFOR_AUDIT_KEY environment variable
    state_db = "sqlite:///keepfor.db"  # keepfor's own tables for sources that are not
                                       # databases (a CRM, a file); a section may set its own

    [sources.orders]
    kind = "sql"                       # the default; each kind reads its own keys
    url = "sqlite:///shop.db"
    table = "orders"
    max_disposal_share = 0.2           # and [sources.orders.flag|anonymise|purge]
    schedule = "0 2 * * *"             # the daemon's keys: keepfor.daemon.settings

A source's ``kind`` picks the backend that parses the rest of its section (``sql``:
:mod:`keepfor.connectors.sqlconfig`; a kind whose module sets ``STATE_DB = True`` is no
database, and keeps keepfor's tables in its ``state_db``); the keys of acting on
records are the same for every kind (:mod:`keepfor.actions.settings`), and so are the
daemon's (:mod:`keepfor.daemon.settings`). A relative path is read from the config
file's folder. Every key is checked; every column is checked against the table itself
when the source is opened.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepfor.abc import RecordSource
from keepfor.actions.settings import ACTION_KEYS, ActionSettings, parse_actions
from keepfor.connectors.sections import Section, resolve_url
from keepfor.connectors.sql import SqlTableSource, TableMapping
from keepfor.daemon.settings import SCHEDULE_KEYS, ScheduleSettings, parse_schedule
from keepfor.errors import SourceError, did_you_mean, quoted

__all__ = ["KINDS", "Config", "SourceConfig", "load_config", "load_settings", "source_from_args"]

KINDS: dict[str, tuple[str, str]] = {
    "sql": ("keepfor.connectors.sqlconfig", "SQL"),
    "csv": ("keepfor.connectors.files", "a CSV export file"),
    "jsonl": ("keepfor.connectors.files", "a JSON Lines export file"),
    "hubspot": ("keepfor.connectors.hubspot", "HubSpot CRM"),
    "bottlecrm": ("keepfor.connectors.bottlecrm", "BottleCRM"),
}
"""Each kind of source: the module that parses its section (its ``parse_<kind>`` and
``open_<kind>`` functions, and its ``KEYS``), and what it is, for messages."""

_TOP = ("keepfor", "sources")
_KEEPFOR_KEYS = ("audit_key_file", "state_db")
STATE_DB_DEFAULT = "sqlite:///keepfor.db"
"""Where a source that is no database keeps keepfor's tables, beside the config file."""


@dataclass(frozen=True)
class SourceConfig:
    """One ``[sources.NAME]`` table of a config file."""

    name: str
    kind: str
    settings: Any = field(compare=False)
    """What the kind's module parsed (``sql``: the URL and table mapping)."""
    actions: ActionSettings = field(default_factory=ActionSettings)
    audit_key_file: Path | None = None
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    """When the daemon sweeps it, whether it applies, where dry-run reports go."""
    state_url: str | None = None
    """A source that is no database (a CRM, a file): where keepfor's tables are."""

    @property
    def url(self) -> str:
        """The database that holds keepfor's own tables for this source."""
        if self.state_url is not None:
            return self.state_url
        url: str = self.settings.url
        return url

    @property
    def mapping(self) -> TableMapping | None:
        """How a table maps to rule fields (``sql`` sources; None for the store)."""
        mapping: TableMapping | None = getattr(self.settings, "mapping", None)
        return mapping

    def open(self) -> RecordSource:
        """The source, made (it connects when opened)."""
        module = importlib.import_module(KINDS[self.kind][0])
        make = getattr(module, f"open_{self.kind}")
        source: RecordSource
        if self.state_url is not None:
            source = make(self.name, self.settings, self.state_url)
        else:
            source = make(self.name, self.settings)
        return source


@dataclass(frozen=True)
class Config:
    """A whole config file: its sources, and the settings of the ``[keepfor]`` table."""

    sources: tuple[SourceConfig, ...]
    audit_key_file: Path | None = None
    state_db: str | None = None
    """The ``[keepfor]`` table's ``state_db``, resolved (None: not given)."""


def load_config(path: str | Path) -> list[SourceConfig]:
    """Every source of a ``keepfor.toml``, validated; a one-line error otherwise."""
    return list(load_settings(path).sources)


def load_settings(path: str | Path) -> Config:
    """The whole of a ``keepfor.toml``, validated; a one-line error otherwise."""
    file = Path(path)
    data = _read(file)
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise SourceError(f"{file}: unknown table '{unknown[0]}'{did_you_mean(unknown[0], _TOP)}")
    key_file, state_db = _keepfor_table(file, data.get("keepfor", {}))
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise SourceError(f"{file}: no sources; add a [sources.NAME] table with url and table")
    configs = tuple(
        _source(Section(file, name, body), key_file, state_db) for name, body in sources.items()
    )
    return Config(configs, key_file, state_db)


def _read(file: Path) -> dict[str, Any]:
    import tomllib  # only where a config file is read

    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{file}: cannot read the file: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{file}: not valid TOML: {error}") from None


def _keepfor_table(file: Path, body: Any) -> tuple[Path | None, str | None]:
    """The ``[keepfor]`` table: the audit key file and the state database, resolved."""
    if not isinstance(body, dict):
        raise SourceError(f"{file}: [keepfor] must be a table")
    for key in body:
        if key not in _KEEPFOR_KEYS:
            hint = did_you_mean(key, _KEEPFOR_KEYS)
            raise SourceError(f"{file}: [keepfor]: unknown key {quoted(key)}{hint}")
    state_db = body.get("state_db")
    if state_db is not None:
        if not isinstance(state_db, str) or not state_db.strip():
            raise SourceError(f"{file}: [keepfor]: state_db must be a URL, not {quoted(state_db)}")
        state_db = resolve_url(f"{file}: [keepfor]: state_db", state_db, file.parent)
    value = body.get("audit_key_file")
    if value is None:
        return None, state_db
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{file}: [keepfor]: audit_key_file must be a path, not {quoted(value)}")
    return (file.parent / value).resolve(), state_db


def _source(section: Section, key_file: Path | None, state_db: str | None) -> SourceConfig:
    if not isinstance(section.body, dict):
        raise section.error("must be a table with url and table")
    kind = section.body.get("kind", "sql")
    if kind not in KINDS:
        raise section.error(f"unknown kind {quoted(kind)}{did_you_mean(str(kind), KINDS)}")
    module = importlib.import_module(KINDS[kind][0])
    stateful = getattr(module, "STATE_DB", False)
    shared = (*ACTION_KEYS, *SCHEDULE_KEYS, "kind", *(("state_db",) if stateful else ()))
    own = {k: v for k, v in section.body.items() if k not in shared}
    settings = getattr(module, f"parse_{kind}")(Section(section.file, section.name, own))
    actions = parse_actions(section.where, section.body)
    schedule = parse_schedule(section.where, section.body, section.file.parent)
    state_url = None
    if stateful:
        state_url = (
            section.url("state_db")
            if "state_db" in section.body
            else state_db or resolve_url(section.where, STATE_DB_DEFAULT, section.file.parent)
        )
    return SourceConfig(section.name, kind, settings, actions, key_file, schedule, state_url)


def source_from_args(
    url: str, table: str, key: str | None, category: str | None = None
) -> SqlTableSource:
    """``--db URL --table NAME [--key COL] [--category NAME]``: a table whose columns carry
    the rule field names; ``category`` gives every row that category (as ``category =``
    does in a config)."""
    constants = {} if category is None else {"category": category}
    mapping = TableMapping(table=table, key=key, constants=constants, source=table, origin="--db")
    return SqlTableSource(url, mapping)
