"""``keepfor validate PATH...``: load packs and report every one that does not load."""

from __future__ import annotations

import click

from keepfor.cli.app import EXIT_BAD_INPUT, one_line
from keepfor.engine import load_pack, load_rules
from keepfor.engine.loader import pack_files
from keepfor.errors import RulePackError


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
            click.echo(f"ok {file}: pack {pack.id} {pack.version}, {len(pack.rules)} rules")
    if not failed:
        try:
            load_rules(*paths)  # what only shows when the packs are loaded together
        except RulePackError as error:
            report(error)
    if failed:
        click.get_current_context().exit(EXIT_BAD_INPUT)
