"""Run keepfor, and die (``os._exit(9)``, no clean-up: as a SIGKILL) at one exact point of
its database work, for fault tests that must hit a narrow instant every time.

    python tests/actions/crashing.py WHAT N keepfor-arguments...

``WHAT`` is a statement's first word (``CREATE``, ``DELETE``, ``INSERT``, ``UPDATE``):
die just after the ``N``-th such statement is executed; or ``COMMIT``: die just before
the ``N``-th transaction is committed (everything in it done, nothing committed).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import sqlalchemy as sa

from keepfor.cli import main

CRASHED = 9
"""The exit status of a run that died where it was told to."""


def _arm(what: str, n: int) -> None:
    seen = 0

    def count() -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            sys.stdout.flush()
            os._exit(CRASHED)

    if what == "COMMIT":

        @sa.event.listens_for(sa.engine.Engine, "commit")
        def _commit(conn: sa.Connection) -> None:
            count()

        return

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def _statement(conn: sa.Connection, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith(what):
            count()


if __name__ == "__main__":
    _arm(sys.argv[1].upper(), int(sys.argv[2]))
    main(sys.argv[3:])
