"""``keepfor report``: a dry run over real records. Reads; never changes anything."""

from __future__ import annotations

import click

from keepfor.cli.app import at_option, load_rule_paths, parse_instant, rules_option
from keepfor.cli.output import live_progress as _progress
from keepfor.cli.output import output_file
from keepfor.connectors.base import RecordSource
from keepfor.connectors.config import load_config, source_from_args
from keepfor.errors import UsageError
from keepfor.report import build_report
from keepfor.report.formats import FORMATS


def open_sources(
    config: str | None, names: tuple[str, ...], db: str | None, table: str | None, key: str | None
) -> list[RecordSource]:
    """The sources a command line names: ``--config`` (all or ``--source``) or ``--db``."""
    if config and db:
        raise UsageError("give --config or --db, not both")
    if db:
        if not table:
            if key:
                raise UsageError("--key goes with --table")
            from keepfor.connectors.store import StoreSource  # the store's models load slowly

            return [StoreSource(db)]  # keepfor's own store (keepfor db init / import)
        return [source_from_args(db, table, key)]
    if table or key:
        raise UsageError("--table and --key go with --db")
    if not config:
        raise UsageError(
            "say where the records are: --config keepfor.toml, --db URL --table NAME "
            "(your table), or --db URL (keepfor's store)"
        )
    configured = load_config(config)
    if names:
        known = {s.name for s in configured}
        for name in names:
            if name not in known:
                raise UsageError(f"{config}: no source '{name}'; it has {', '.join(sorted(known))}")
        configured = [s for s in configured if s.name in names]
    return [s.open() for s in configured]


@click.command()
@rules_option
@click.option("--config", metavar="keepfor.toml", help="Sources of records (see docs).")
@click.option(
    "--source",
    "source_names",
    multiple=True,
    metavar="NAME",
    help="With --config: only these sources (default: all).",
)
@click.option("--db", metavar="URL", help="A database URL (SQLAlchemy form).")
@click.option(
    "--table", metavar="NAME", help="With --db: the table of records (default: keepfor's store)."
)
@click.option("--key", metavar="COL", help="With --db: the key column (default: primary key).")
@at_option
@click.option(
    "--format", "fmt", type=click.Choice(list(FORMATS)), default="table", show_default=True
)
@click.option("--output", metavar="FILE", help="Write to FILE (default: standard output).")
@click.option(
    "--show-query", is_flag=True, help="Print the SQL that selects due records, and stop."
)
@click.pass_context
def report(
    ctx: click.Context,
    rule_paths: tuple[str, ...],
    config: str | None,
    source_names: tuple[str, ...],
    db: str | None,
    table: str | None,
    key: str | None,
    at_text: str | None,
    fmt: str,
    output: str | None,
    show_query: bool,
) -> None:
    """Dry run: what is due, why, and what falls due next. Changes nothing."""
    at = parse_instant(at_text, ctx.obj["clock"])
    rules = load_rule_paths(rule_paths)
    sources = open_sources(config, source_names, db, table, key)
    try:
        for source in sources:
            source.test_connection()
            source.check(rules)
        if show_query:
            from keepfor.engine.cutoffs import due_predicate

            for source in sources:
                click.echo(f"-- {source.name}\n{source.dry_run_query(due_predicate(rules, at))};")
            return
        with output_file(output) as out, _progress(out) as advance:
            build_report(rules, sources, at, FORMATS[fmt](out), progress=advance)
    finally:
        for source in sources:
            source.close()
