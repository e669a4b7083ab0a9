"""Reading one ``[sources.NAME]`` table of ``keepfor.toml``: the checks every kind of
source shares (text, tables of names, URLs), each failing with one line that names the
file and the source."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepfor.database import expand_url, parse_url, sqlite_path
from keepfor.errors import SourceError, did_you_mean, quoted
from keepfor.zones import is_zone_name, zone_names

__all__ = ["Section"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


_OPTIONS = {"db": "url", "database": "url"}
"""A config key named as the command line names its option -> the config's key."""


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
        """Every key is one of ``keys`` (a suggestion for a misspelt one, or for the
        name of the command-line option that says the same: ``db`` for ``--db``)."""
        for key in self.body:
            if key not in keys:
                raise self.error(f"unknown key {quoted(key)}{self._hint(key, keys)}")

    def _hint(self, key: str, keys: tuple[str, ...]) -> str:
        """What an unknown key may have meant: a key it is close to, the key of its
        command-line option, or (a name set to a text) a field's column, mapped elsewhere."""
        meant = _OPTIONS.get(key)
        if meant in keys:
            return f" (did you mean '{meant}'?)"
        close = did_you_mean(key, keys)
        plain = key.isidentifier() and len(key) <= 64  # a name a rule could read
        if close or not plain or "fields" not in keys or not isinstance(self.body[key], str):
            return close
        return (
            f"; a column the rules read as a field goes under "
            f'[sources.{self.name}.fields] ({key} = "COLUMN")'
        )

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

    def mapping(self) -> tuple[dict[str, str], dict[str, Any], str]:
        """How the source's names map to rule fields, as every kind reads it: ``[fields]``
        (rule field = the source's name), ``category`` (a constant for every record) or
        ``category_column`` (the name holding it), and ``timezone`` (of wall-clock
        times), checked: (fields, constants, timezone)."""
        body = self.body
        if "category" in body and "category_column" in body:
            raise self.error("give 'category' (a constant) or 'category_column', not both")
        fields = dict(self.names("fields"))
        constants: dict[str, Any] = {}
        if "category" in body:
            constants["category"] = self.required("category")
        if "category_column" in body:
            fields["category"] = self.required("category_column")
        timezone = self.text("timezone") or "UTC"
        self.zone(timezone)
        return fields, constants, timezone

    def zone(self, name: str) -> str:
        """An IANA time zone's name, checked."""
        if not is_zone_name(name):
            hint = did_you_mean(name, zone_names())
            raise self.error(f"unknown time zone {quoted(name)}{hint}")
        return name

    def expanded(self, key: str) -> str:
        """A required text with each ``${NAME}`` replaced by that environment variable
        (a token, a URL); the value is never put in a message."""
        text = self.required(key)

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise self.error(f"{key}: the environment variable {name} is not set")
            return os.environ[name]

        expanded = _VARIABLE.sub(value, text)
        if not expanded.strip():
            raise self.error(f"{key} is empty")
        return expanded

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
