"""The command group, shared options and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from keepfor import __version__
from keepfor.cli.output import StdoutClosed, guarded_stdout, silence_stdout
from keepfor.clock import Clock, SystemClock
from keepfor.engine import Instant, RuleSet, load_rules
from keepfor.errors import KeepforError, UsageError, did_you_mean, quoted

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9997, 12, 31)
"""The range of ``--at``: a report looks 24 months and 365 days ahead of its date in each
pack's zone, and cutoffs reach back from it, all of which must stay in the calendar."""

_WEST, _EAST = timedelta(hours=12), timedelta(hours=14)
"""How far the world's time zones are from UTC, west and east."""


def _within_calendar(text: str, day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(
            f"--at {quoted(text)} is outside {FIRST_DAY.isoformat()} .. {LAST_DAY.isoformat()}, "
            "the dates keepfor evaluates at (in UTC and in every time zone from UTC-12 to "
            "UTC+14; a report looks two years ahead)"
        )
    return day


def parse_instant(text: str | None, clock: Clock) -> Instant:
    """``--at``: an ISO datetime with an offset, or a date meaning that day in every zone."""
    if text is None:
        return clock.now()
    instant = date_or_instant(text, "--at")
    if not isinstance(instant, datetime):
        return _within_calendar(text, instant)
    try:  # its dates from UTC-12 to UTC+14, where every pack's zone is
        earliest = (instant.astimezone(UTC) - _WEST).date()
        latest = (instant.astimezone(UTC) + _EAST).date()
    except OverflowError:  # past either end of the calendar somewhere
        earliest = latest = date.min
    _within_calendar(text, earliest)
    _within_calendar(text, latest)
    return instant


def date_or_instant(text: str, option: str) -> date | datetime:
    """An option's ISO 8601 date (``2026-11-22``), or datetime with its UTC offset:
    anything else is a :class:`UsageError` naming the option, and a day the calendar
    does not have (``2026-02-29``) is said to be one."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(not_a_date(text, option)) from None
    if instant.tzinfo is None:
        raise UsageError(
            f"{option} {quoted(text)} has no UTC offset; add one (2026-11-22T09:00:00Z) "
            "or give a plain date (2026-11-22)"
        )
    return instant


ISO_DATE_OR_INSTANT = "an ISO 8601 date or datetime (e.g. 2026-11-22 or 2026-11-22T09:00:00Z)"


def not_a_date(text: str, option: str, wanted: str = ISO_DATE_OR_INSTANT) -> str:
    """Why an option's text is not the ``wanted`` date: a day the calendar does not
    have (``2026-02-29``: said so), or another form."""
    day = text.strip()[:10]
    if len(day) == 10 and day[4] == day[7] == "-" and (day[:4] + day[5:7] + day[8:]).isdigit():
        try:
            date.fromisoformat(day)
        except ValueError:
            return f"{option} {quoted(text)} is not a calendar date (YYYY-MM-DD)"
    return f"{option} {quoted(text)} is not {wanted}"


rules_option = click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A rule pack file or a folder of packs; repeat for more.",
)
at_option = click.option(
    "--at", "at_text", metavar="ISO", help="Evaluation instant (default: now, UTC)."
)
evaluator_option = click.option(
    "--evaluator",
    "evaluator_name",
    metavar="python|durable_rules",
    default="python",
    show_default=True,
    help="What decides the records: the Python engine, or durable_rules (the same "
    "decisions; needs durable-rules installed, Python < 3.13).",
)


def load_rule_paths(paths: Sequence[str]) -> RuleSet:
    if not paths:
        raise UsageError("give at least one --rules PATH (a pack file or a folder of packs)")
    return load_rules(*paths)


COMMANDS = {
    "audit": "keepfor.cli.audit:audit",
    "daemon": "keepfor.cli.daemon:daemon",
    "db": "keepfor.cli.db:db",
    "erase": "keepfor.cli.erase:erase",
    "explain": "keepfor.cli.explain:explain",
    "hold": "keepfor.cli.hold:hold",
    "report": "keepfor.cli.report:report",
    "review": "keepfor.cli.review:review",
    "status": "keepfor.cli.status:status",
    "sweep": "keepfor.cli.sweep:sweep",
    "validate": "keepfor.cli.validate:validate",
}
"""Each command and where it lives; a command's module is imported when it runs."""


@contextlib.contextmanager
def long_lived(module: str) -> Iterator[None]:
    """The first import of ``module`` without the cyclic garbage collector, and what it
    made frozen (``gc.freeze``), left out of every later collection. A command's import
    makes some 70,000 objects the collector tracks (SQLAlchemy's, keepfor's modules'),
    which live as long as the process; the collector traversed them again and again while
    they were made, and in every full collection after: 0.05 s of the 0.37 s of a report
    on an empty SQLite table, 0.07 s of 0.46 s on PostgreSQL (docs/benchmarks.md). A
    module already imported (a process that runs many commands) changes nothing."""
    if module in sys.modules:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class KeepforGroup(click.Group):
    """A click group that loads commands lazily and turns keepfor's errors into one line
    and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        known = self.list_commands(ctx)
        if name and not name.startswith("-") and name not in known:
            ctx.fail(f"No such command '{name}'{did_you_mean(name, known)}.")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attr = COMMANDS[cmd_name].partition(":")
        with long_lived(module):
            command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            with guarded_stdout():  # stdout's failures surface here, as keepfor's errors
                result = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help(), err=True)  # the help as it is, not one line
            sys.exit(EXIT_BAD_INPUT)
        except click.Abort:
            click.echo("keepfor: interrupted", err=True)
            sys.exit(130)
        except click.ClickException as error:
            click.echo(f"keepfor: error: {one_line(error.format_message())}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except KeepforError as error:
            click.echo(f"keepfor: error: {one_line(str(error))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (StdoutClosed, BrokenPipeError):
            # the reader has gone (keepfor ... | head): nothing more to say, to anyone
            silence_stdout()
            sys.exit(EXIT_OK)
        except Exception as error:
            if os.environ.get("KEEPFOR_DEBUG"):
                raise
            click.echo(
                f"keepfor: internal error: {type(error).__name__}: {one_line(str(error))} "
                "(set KEEPFOR_DEBUG=1 for the traceback, and please report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
        if isinstance(result, int) and result != EXIT_OK:
            # not standalone, click returns the code of ctx.exit(code) instead of exiting
            sys.exit(result)
        return result


def one_line(text: str) -> str:
    return " ".join(text.split())


@click.group(cls=KeepforGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keepfor")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """keepfor: apply a retention schedule to customer records, explaining every decision."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("clock", SystemClock())


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> None:
    """Entry point of the ``keepfor`` script; ``clock`` is injected by tests."""
    obj = {"clock": clock or SystemClock()}
    cli.main(args=list(argv) if argv is not None else None, prog_name="keepfor", obj=obj)


__all__ = [
    "at_option",
    "cli",
    "evaluator_option",
    "load_rule_paths",
    "long_lived",
    "main",
    "one_line",
    "parse_instant",
    "rules_option",
]
