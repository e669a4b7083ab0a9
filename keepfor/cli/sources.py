"""The options that say where records are, shared by every command that reads them:
``--config F [--source NAME ...]``, ``--db URL [--table T [--key COL] [--category C]]``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from keepfor.abc import RecordSource
from keepfor.actions.settings import ActionSettings
from keepfor.connectors.config import SourceConfig, load_config, load_settings, source_from_args
from keepfor.engine import RuleSet
from keepfor.errors import UsageError, did_you_mean

__all__ = ["SourceOptions", "open_sources", "source_options", "warn_missing_fields"]


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that say where the records are."""
    options = [
        click.option("--config", metavar="keepfor.toml", help="Sources of records (see docs)."),
        click.option(
            "--source",
            "source_names",
            multiple=True,
            metavar="NAME",
            help="With --config: only these sources (default: all).",
        ),
        click.option("--db", metavar="URL", help="A database URL (SQLAlchemy form)."),
        click.option(
            "--table",
            metavar="NAME",
            help="With --db: the table of records (default: keepfor's store).",
        ),
        click.option(
            "--key", metavar="COL", help="With --table: the key column (default: primary key)."
        ),
        click.option(
            "--category",
            metavar="NAME",
            help="With --table: every row has this category (as category = in a config).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class SourceOptions:
    """The values of :func:`source_options`."""

    def __init__(
        self,
        config: str | None,
        source_names: tuple[str, ...],
        db: str | None,
        table: str | None,
        key: str | None,
        category: str | None,
    ) -> None:
        self.config = config
        self.names = source_names
        self.db = db
        self.table = table
        self.key = key
        self.category = category

    def given(self) -> bool:
        """Some option names a source."""
        return any((self.config, self.names, self.db, self.table, self.key, self.category))

    @classmethod
    def pop(cls, params: dict[str, Any]) -> SourceOptions:
        """Take the options out of a command's keyword arguments."""
        names = ("config", "source_names", "db", "table", "key", "category")
        return cls(*(params.pop(name) for name in names))

    def makers(self) -> list[Callable[[], RecordSource]]:
        """How to open each named source (nothing is opened yet)."""
        return [make for make, _ in self.entries()]

    def entries(self) -> list[tuple[Callable[[], RecordSource], ActionSettings]]:
        """Each named source: how to make it, and how its config says to act on it."""
        if self.config and self.db:
            raise UsageError("give --config or --db, not both")
        if self.db:
            return [(self._from_db(self.db), ActionSettings())]
        if self.table or self.key or self.category:
            raise UsageError("--table, --key and --category go with --db")
        if not self.config:
            raise UsageError(
                "say where the records are: --config keepfor.toml, --db URL --table NAME "
                "(your table), or --db URL (keepfor's store)"
            )
        return [(config.open, config.actions) for config in self._configured(self.config)]

    def audit_key_file(self) -> Path | None:
        """The audit key file the config names (None: the environment's key)."""
        if not self.config:
            return None
        return load_settings(self.config).audit_key_file

    def _from_db(self, db: str) -> Callable[[], RecordSource]:
        if self.names:
            raise UsageError("--source goes with --config")
        if self.table:
            table = self.table
            return lambda: source_from_args(db, table, self.key, self.category)
        if self.key or self.category:
            raise UsageError("--key and --category go with --table")

        def store() -> RecordSource:
            from keepfor.connectors.store import StoreSource  # the store's models load slowly

            return StoreSource(db)  # keepfor's own store (keepfor db init / import)

        return store

    def _configured(self, config: str) -> list[SourceConfig]:
        configured = load_config(config)
        if self.names:
            known = {s.name for s in configured}
            for name in self.names:
                if name not in known:
                    raise UsageError(
                        f"{config}: no source '{name}'; it has {', '.join(sorted(known))}"
                    )
            configured = [s for s in configured if s.name in self.names]
        return configured


@contextlib.contextmanager
def open_sources(options: SourceOptions) -> Iterator[list[RecordSource]]:
    """The sources the options name, each opened; all closed at the end, including those
    opened before one that failed."""
    with contextlib.ExitStack() as stack:
        sources: list[RecordSource] = []
        for make in options.makers():
            source = make()
            stack.callback(source.close)
            sources.append(source)
        for source in sources:
            source.open()
        yield sources


def warn_missing_fields(source: RecordSource, rules: RuleSet) -> int:
    """A warning for each rule field no record of the source has (a misspelt field would
    otherwise keep its records waiting for ever, unnoticed); how many were given."""
    known = source.known_fields()
    if known is None:
        return 0
    warned = 0
    for pack, rule in rules:
        for name in rules.fields_of(rule):
            if name not in known:
                click.echo(
                    f"keepfor: warning: source '{source.name}': rule '{rule.id}' (pack "
                    f"'{pack.id}') reads field '{name}', which no record has"
                    f"{did_you_mean(name, known)}",
                    err=True,
                )
                warned += 1
    return warned
