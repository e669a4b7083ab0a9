"""A source's own database must be there before the daemon or ``keepfor status``
connects to it, as for every other command.

Connecting to a SQLite file that does not exist makes it: the daemon would then make
its tables there and fail with "no such table", and leave a database behind that hides
the real mistake (a misspelt path) from every later command. A source that is no
database (a file, a CRM) keeps keepfor's tables in its ``state_db``, which keepfor
makes when it first needs it: that one may be missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from keepfor.database import absent_sqlite_file, require_sqlite_file

if TYPE_CHECKING:
    from keepfor.connectors.config import SourceConfig

__all__ = ["has_state", "require_database", "where_of"]


def where_of(source: SourceConfig, config_file: str | Path | None = None) -> str:
    """How messages name a source: as the commands reading its table do, else by its
    config file (where known) and name."""
    if source.mapping is not None:
        from keepfor.connectors.sql import table_where

        return table_where(source.mapping)
    named = f"source '{source.name}'"
    return named if config_file is None else f"{config_file}, {named}"


def require_database(source: SourceConfig, config_file: str | Path | None = None) -> None:
    """Refuse a source whose own database is a SQLite file that is not there (a
    :class:`~keepfor.errors.SourceError`, one line); a ``state_db`` may be missing."""
    if source.state_url is None:
        require_sqlite_file(source.url, where_of(source, config_file))


def has_state(source: SourceConfig) -> bool:
    """Whether the database of keepfor's tables for the source may hold anything (a
    SQLite file not made yet holds no run, and reading it must not make it)."""
    return absent_sqlite_file(source.url) is None
