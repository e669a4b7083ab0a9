"""``keepfor validate PATH...``: load packs and report every one that does not load."""

from __future__ import annotations

import click

from keepfor.cli.app import EXIT_BAD_INPUT, one_line
from keepfor.engine import RulePack, load_pack, load_rules
from keepfor.engine.loader import pack_files
from keepfor.errors import RulePackError


def ok_line(file: object, pack: RulePack) -> str:
    """``ok FILE: pack ID VERSION, N rules``: one line, whatever the version holds."""
    version = pack.version if pack.version.isprintable() else repr(pack.version)[1:-1]
    count = len(pack.rules)
    return f"ok {file}: pack {pack.id} {version}, {count} {'rule' if count == 1 else 'rules'}"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check rule packs (files or folders) without evaluating anything.

    Prints one line per pack; a pack that does not load is reported on stderr
    with its file, line, rule and key, and the exit code is 2.
    """
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
    if not failed:
        try:
            load_rules(*paths)  # what only shows when the packs are loaded together
        except RulePackError as error:
            report(error)
    if failed:
        click.get_current_context().exit(EXIT_BAD_INPUT)
