"""``keepfor daemon``: sweep each scheduled source on its schedule until stopped (or
every source once, ``--once``).

Everything the daemon needs is checked before anything runs: the config, the packs,
the audit key of each applying source, the database of each source it runs (a SQLite
file that is not there), each source that answers against the packs, the metrics
port. A fault is one line on stderr and exit 2. After that the daemon does not exit for
a failing run: it logs it and retries.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from keepfor.cli.app import rules_option
from keepfor.clock import Clock
from keepfor.connectors.config import SourceConfig, load_settings
from keepfor.daemon.events import FORMATS, Events
from keepfor.engine import RuleSet
from keepfor.errors import SourceError, UsageError

__all__ = ["daemon"]


@click.command()
@rules_option
@click.option("--config", required=True, metavar="keepfor.toml", help="Sources and schedules.")
@click.option("--once", is_flag=True, help="Run every source's sweep once, then exit.")
@click.option("--log-format", type=click.Choice(FORMATS), default="plain", show_default=True)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    help="Serve Prometheus metrics on this port (0: a free one, logged).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=100_000),
    help="Records per transaction (as sweep --batch-size); SIGTERM waits for one batch.",
)
@click.option("--metrics-address", default="127.0.0.1", show_default=True, metavar="ADDR")
@click.pass_context
def daemon(
    ctx: click.Context,
    /,
    rule_paths: tuple[str, ...],
    config: str,
    once: bool,
    log_format: str,
    metrics_port: int | None,
    metrics_address: str,
    batch_size: int | None,
) -> None:
    """Sweep each source on its schedule (dry runs unless its config says apply)."""
    from keepfor.daemon.metrics import Metrics
    from keepfor.daemon.packs import PackKeeper
    from keepfor.daemon.service import Daemon

    clock: Clock = ctx.obj["clock"]
    events = Events(log_format, sys.stdout, clock)
    configs = _checked(config, once)
    packs = PackKeeper(rule_paths, events)
    _check_against_packs(configs, packs.good, once)
    metrics = Metrics()
    service = Daemon(configs, packs, clock, events, metrics, batch_size)
    if metrics_port is not None:
        port = _serve(metrics, metrics_port, metrics_address)
        events.emit("metrics", address=metrics_address, port=port)
    service.on_signals()
    ctx.exit(service.once() if once else service.serve())


def _checked(config: str, once: bool) -> list[SourceConfig]:
    """The config's sources, with the audit key of each applying one and the database
    of each it runs (a SQLite file never made is refused now, not failed on at every
    run); UsageError if the daemon has nothing to schedule."""
    from keepfor.audit import load_key
    from keepfor.daemon.databases import require_database

    configs = list(load_settings(config).sources)
    for source in configs:
        if source.schedule.apply:
            load_key(source.audit_key_file)
        if once or source.schedule.scheduled:
            require_database(source, config)
    if not once and not any(s.schedule.scheduled for s in configs):
        raise UsageError(
            f'{config}: no source has a schedule; add schedule = "0 2 * * *" (cron) or '
            'every = "PT6H" to a [sources.NAME] table, or run with --once'
        )
    return configs


def _check_against_packs(configs: list[SourceConfig], rules: RuleSet, once: bool) -> None:
    """Each source the daemon runs, where it answers now, checked against the packs as
    each run checks it before reading (a field with no column, an action setting its
    column cannot take, an action it cannot take): a bad config refuses the start. A
    source that does not answer (or whose table is not there yet) is left to the runs,
    which log it and retry."""
    from keepfor.connectors.targets import check_config

    for config in configs:
        if not (once or config.schedule.scheduled):
            continue
        source = config.open()
        try:
            try:
                source.open()
            except SourceError:
                continue
            check_config(source, config.actions, rules, apply=config.schedule.apply)
        finally:
            source.close()


def _serve(metrics: Any, port: int, address: str) -> int:
    """Start the metrics server; the port it listens on."""
    import socket

    if port == 0:
        with socket.socket() as probe:
            probe.bind((address, 0))
            port = int(probe.getsockname()[1])
    try:
        metrics.serve(port, address)
    except OSError as error:
        raise UsageError(f"--metrics-port {port}: cannot listen on {address}: {error}") from None
    return port
