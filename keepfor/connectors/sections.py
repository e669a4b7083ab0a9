"""Reading one ``[sources.NAME]`` table of ``keepfor.toml``: the checks every kind of
source shares (text, tables of names, URLs), each failing with one line that names the
file and the source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepfor.database import expand_url, parse_url, sqlite_path
from keepfor.errors import SourceError, did_you_mean, quoted

__all__ = ["Section"]


@dataclass(frozen=True)
class Section:
    """One source's table of a config file, with the name and file its errors give."""

    file: Path
    name: str
    body: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}: source '{self.name}'"

    def error(self, message: str) -> SourceError:
        return SourceError(f"{self.where}: {message}")

    def only(self, keys: tuple[str, ...]) -> None:
        """Every key is one of ``keys`` (a suggestion for a misspelt one)."""
        for key in self.body:
            if key not in keys:
                raise self.error(f"unknown key {quoted(key)}{did_you_mean(key, keys)}")

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.error(f"needs '{key}'")
        return value

    def text(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"'{key}' must be text, not {quoted(value)}")
        return value

    def names(self, key: str) -> dict[str, str]:
        """A ``[sources.NAME.key]`` table mapping names to text."""
        value = self.body.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.error(f"[{key}] must map names to text")
        return value

    def url(self, key: str = "url") -> str:
        """A database URL: ``${VAR}`` expanded (each value encoded for where it stands,
        see :func:`keepfor.database.expand_url`), a relative SQLite path read from the
        config file's folder."""
        return resolve_url(self.where, self.required(key), self.file.parent)


def resolve_url(where: str, url: str, base: Path) -> str:
    """A URL of a config file in ``base``, expanded and with its SQLite path resolved."""
    try:
        parsed = parse_url(expand_url(url))
    except SourceError as error:
        raise SourceError(f"{where}: url: {error}") from None
    database = sqlite_path(parsed)
    if database is not None and not database.is_absolute():
        parsed = parsed.set(database=str((base / database).resolve()))
    return parsed.render_as_string(hide_password=False)
