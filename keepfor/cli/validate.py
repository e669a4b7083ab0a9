"""``keepfor validate PATH...``: load packs and report every one that does not load."""

from __future__ import annotations

from typing import Any

import click

from keepfor.cli.app import EXIT_BAD_INPUT, one_line
from keepfor.cli.sources import SourceOptions, open_sources, source_options, warn_missing_fields
from keepfor.connectors.targets import check_config
from keepfor.engine import RulePack, RuleSet, load_pack, load_rules
from keepfor.engine.loader import pack_files
from keepfor.errors import RulePackError, SourceError


def ok_line(file: object, pack: RulePack) -> str:
    """``ok FILE: pack ID VERSION, N rules``: one line, whatever the version holds."""
    version = pack.version if pack.version.isprintable() else repr(pack.version)[1:-1]
    count = len(pack.rules)
    return f"ok {file}: pack {pack.id} {version}, {count} {'rule' if count == 1 else 'rules'}"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(),
    metavar="PATH",
    help="A pack or a folder of packs, as the other commands take them (or give PATHS).",
)
@source_options
def validate(paths: tuple[str, ...], rule_paths: tuple[str, ...], **where: Any) -> None:
    """Check rule packs (files or folders, as PATHS or --rules) without evaluating
    anything; with --db or --config, also that every source can give every field the
    rules read.

    Prints one line per pack; a pack that does not load is reported on stderr
    with its file, line, rule and key, and the exit code is 2. A field that no record of
    a source has is a warning (a misspelt field would keep records waiting for ever).
    """
    options = SourceOptions.pop(where)
    paths = (*paths, *rule_paths)
    if not paths:
        raise click.UsageError("give the packs to check: PATHS or --rules PATH")
    failed = 0

    def report(error: RulePackError) -> None:
        nonlocal failed
        click.echo(f"keepfor: error: {one_line(str(error))}", err=True)
        failed += 1

    for path in paths:
        try:
            files = pack_files(path)
        except RulePackError as error:
            report(error)
            continue
        for file in files:
            try:
                pack = load_pack(file)
            except RulePackError as error:
                report(error)
                continue
            click.echo(ok_line(file, pack))
    rules = None
    if not failed:
        try:
            rules = load_rules(*paths)  # what only shows when the packs are loaded together
        except RulePackError as error:
            report(error)
    if failed:
        click.get_current_context().exit(EXIT_BAD_INPUT)
    if rules is not None and options.given():
        check_sources(options, rules)


def check_sources(options: SourceOptions, rules: RuleSet) -> None:
    """Every field the rules read can be read from every source named, and every action
    they say can be taken there (an error is one line and exit 2); a field no record has
    is a warning."""
    settings = [entry for _, entry in options.entries()]
    with open_sources(options) as sources:
        for source, actions in zip(sources, settings, strict=True):
            refused = check_config(source, actions, rules, apply=False)
            if refused:  # what a dry run warns of, --apply refuses: so does validate
                raise SourceError(refused[0])
            warned = warn_missing_fields(source, rules)
            if warned:
                click.echo(f"ok source '{source.name}', but see the {warned} warning(s) above")
            else:
                click.echo(f"ok source '{source.name}': it holds every field the rules read")
