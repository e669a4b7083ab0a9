"""The ``keepfor`` command line: parse arguments, call the library, print.

Every command that meets bad input (a pack that does not load, a bad date, a
missing file) prints one line on stderr and exits with code 2, having acted on
nothing. No traceback reaches a user; ``KEEPFOR_DEBUG=1`` shows one for bug reports.

One module per command, imported only when its command runs (start-up stays fast).
"""

from __future__ import annotations

from keepfor.cli.app import cli, main

__all__ = ["cli", "main"]
