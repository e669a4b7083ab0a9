"""A table of orders for the daemon's tests, a pack that purges old ones, a config
that sweeps them on a schedule, and the daemon as a real process.

Orders placed in 2015 are due (P1Y); orders placed in 2090 are not. Records are
named in the audit trail by pseudonyms under :data:`AUDIT_KEY`, which
:func:`names` turns back into ids.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from keepfor.audit import pseudonym

KEEPFOR = Path(sys.executable).with_name("keepfor")
"""The console script installed next to the interpreter running the tests."""

AUDIT_KEY = "0123456789abcdef-daemon"
SOURCE = "orders"
TABLE = "kf_daemon_orders"
DUE = date(2015, 1, 1)
NOT_DUE = date(2090, 1, 1)
WAIT = 90.0
"""Seconds a test waits for what a daemon should do in one or two: CI machines are slow."""

PACK = """\
pack: daemon
version: "{version}"
timezone: UTC
rules:
  - id: old-orders
    applies_to: {{category: order}}
    retain: {{from: placed_at, for: P1Y}}
    then: purge
"""


def table(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("placed_at", sa.Date, nullable=False),
    )


def build(url: str, due: Iterable[int], not_due: Iterable[int] = ()) -> None:
    """A fresh table (and no keepfor tables) holding these orders."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        old = [t for t in meta.sorted_tables if t.name == TABLE or t.name.startswith("keepfor_")]
        meta.drop_all(engine, tables=old)
        fresh = sa.MetaData()
        table(fresh).create(engine)
        add(url, due, not_due)
    finally:
        engine.dispose()


def add(url: str, due: Iterable[int], not_due: Iterable[int] = ()) -> None:
    """More orders, due and not."""
    rows = [{"id": i, "category": "order", "placed_at": DUE} for i in due]
    rows += [{"id": i, "category": "order", "placed_at": NOT_DUE} for i in not_due]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(table(sa.MetaData()).insert(), rows)
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[Any]:
    """The rows of a query ([] where its table is not there yet)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))
    except sa.exc.DBAPIError:
        return []
    finally:
        engine.dispose()


def ids(url: str) -> set[int]:
    return {int(row[0]) for row in query(url, f"SELECT id FROM {TABLE}")}


def names(count: int) -> dict[str, int]:
    """Audit ``record`` -> order id, for ids 1..count."""
    return {pseudonym(AUDIT_KEY.encode(), SOURCE, str(i)): i for i in range(1, count + 1)}


def write_config(folder: Path, url: str, **keys: Any) -> Path:
    """A keepfor.toml sweeping the orders; ``keys`` go in the source's table."""
    lines = [f"[sources.{SOURCE}]", f'url = "{url}"', f'table = "{TABLE}"']
    lines.append("max_disposal_share = 1.0")
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path = folder / "keepfor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pack(folder: Path, version: str = "1", text: str | None = None) -> Path:
    path = folder / "pack.yaml"
    path.write_text(PACK.format(version=version) if text is None else text, encoding="utf-8")
    return path


def env() -> dict[str, str]:
    return {**os.environ, "KEEPFOR_AUDIT_KEY": AUDIT_KEY}


@dataclass
class DaemonProcess:
    """``keepfor daemon`` in a process of its own, its JSON log in a file."""

    folder: Path
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(KEEPFOR), *self.args], cwd=self.folder, env=env(),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The events logged so far (lines that are not JSON are left out)."""
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and (name is None or event.get("event") == name):
                out.append(event)
        return out

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Until ``ready()``; fails naming ``what`` and showing the log after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, f"the daemon exited: {self.text()}"
            assert time.monotonic() < deadline, f"no {what} in {timeout} s: {self.text()}"
            time.sleep(0.05)

    def stop(self, timeout: float = WAIT) -> int:
        """SIGTERM, and its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Never leave it running (a failed assertion): by its own pid."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def daemon_args(pack: Path, config: Path, *more: str) -> list[str]:
    return ["daemon", "--rules", str(pack), "--config", str(config), "--log-format", "json", *more]
