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
    """Count ``what`` and die at the ``n``-th; the sweeping lock's own statements and
    commits (``keepfor_lease``, renewed by a thread on its own clock) are not counted,
    so that each ``n`` is the same point of the sweep's work on every run."""
    seen = 0

    def count() -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            sys.stdout.flush()
            os._exit(CRASHED)

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def _statement(conn: sa.Connection, cursor: Any, statement: str, *rest: Any) -> None:
        if _LEASE in statement:
            conn.info[_LEASE] = True
        elif what != "COMMIT" and statement.lstrip().upper().startswith(what):
            count()

    if what == "COMMIT":

        @sa.event.listens_for(sa.engine.Engine, "commit")
        def _commit(conn: sa.Connection) -> None:
            if not conn.info.pop(_LEASE, False):
                count()


_LEASE = "keepfor_lease"


if __name__ == "__main__":
    _arm(sys.argv[1].upper(), int(sys.argv[2]))
    main(sys.argv[3:])
