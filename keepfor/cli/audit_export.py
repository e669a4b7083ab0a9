"""The certificate of disposal that ``keepfor audit export`` writes, as CSV or JSON.

The certificate is the audit trail's entries of a period, handed to someone outside
keepfor (an auditor, a data protection officer) as proof of what was disposed of, when
and under which rule: each entry with its hash, and each database's head digest to
check it against. An archive is not a permanent disposal (HubSpot can restore it for
:data:`RESTORABLE`), so its entries carry the last day they can be restored, and the
JSON's ``disposed`` counts archives apart from purges and anonymisations.

A certificate is written whole or not at all (:func:`whole_or_nothing`): a reader that
takes half of one for the whole would take records still held for disposed of. So an
export to standard output is held in a spooled file until every database has been read,
and an export to ``--output`` appears only once its file is complete.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, Protocol

from keepfor.actions.tally import RESTORABLE
from keepfor.audit.entry import FIELD_NAMES, AuditEntry, utc_text
from keepfor.cli.output import OutputError, output_file

__all__ = [
    "SPOOL_BYTES",
    "Csv",
    "Json",
    "Out",
    "Writer",
    "whole_or_nothing",
]

SPOOL_BYTES = 8 * 1024 * 1024
"""How much of an export to standard output is held in memory before it spills to a
temporary file (it is held until whole, so that a failure writes nothing)."""


class Out(Protocol):
    """Where an export's text goes."""

    def write(self, text: str, /) -> int: ...


class _Held:
    """An export to standard output, held in a spooled file until it is whole (memory up
    to :data:`SPOOL_BYTES`, then a temporary file); a failure to hold it is one line."""

    def __init__(self, spool: IO[str]) -> None:
        self.spool = spool

    def write(self, text: str, /) -> int:
        """Hold ``text``; :class:`OutputError` when the temporary folder is full."""
        try:
            return self.spool.write(text)
        except OSError as error:
            raise OutputError(
                f"cannot hold the export until it is whole: {error.strerror or error}"
            ) from None


@contextlib.contextmanager
def whole_or_nothing(output: str | None) -> Iterator[Out]:
    """Where the export goes, written only once it is whole: ``--output``'s file (which
    appears whole or not at all), or standard output after the block ends without error,
    so that a failure part-way (a database without a trail, a bad entry) prints nothing
    there that a reader could take for a certificate."""
    if output is not None and output != "-":
        with output_file(output) as out:
            yield out
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8", newline="") as spool:
        yield _Held(spool)
        spool.seek(0)
        with output_file(None) as out:
            shutil.copyfileobj(spool, out)


def _restorable_until(entry: AuditEntry) -> str | None:
    """The last day an archived record can be restored; None for any other entry."""
    if entry.action != "archive":
        return None
    return (entry.time + RESTORABLE).date().isoformat()


class Writer(Protocol):
    """An export format: each database's entries in turn, then the end."""

    def trail(self, entries: Iterator[AuditEntry], digest: str, sources: list[str]) -> None:
        """Write one database's ``entries``; ``digest`` is its head, ``sources`` its names."""

    def finish(self) -> None:
        """Write what follows the last database's entries."""


class Csv:
    """One header, then every database's entries: their fields, and last
    ``restorable_until`` (blank but for an archive). Their ``source`` tells them apart."""

    def __init__(self, out: Out) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow([*FIELD_NAMES, "restorable_until"])

    def trail(self, entries: Iterator[AuditEntry], digest: str, sources: list[str]) -> None:
        """The rows of one database's entries."""
        for entry in entries:
            row = entry.as_dict()
            until = _restorable_until(entry) or ""
            self.writer.writerow([*(row[name] for name in FIELD_NAMES), until])

    def finish(self) -> None:
        """Nothing: a CSV file has no end."""


class Json:
    """One JSON object, written as the entries stream: from, to, head, entries (an
    archive's with the day it stays restorable until), count, and ``disposed``: the
    records purged and anonymised (permanent) apart from those archived (restorable).

    Of several databases, the entries of each in turn, count and ``disposed`` of them
    all; ``head`` is null (each database has its own) and ``databases`` ends the object:
    ``{"sources", "head", "count"}`` for each, in the config's order."""

    def __init__(
        self, out: Out, start: datetime | None, end: datetime | None, *, several: bool
    ) -> None:
        self.out = out
        self.bounds = {"from": start and utc_text(start), "to": end and utc_text(end)}
        self.several = several
        self.count = 0
        self.actions: Counter[str] = Counter()
        self.databases: list[dict[str, Any]] = []

    def _begin(self, digest: str | None) -> None:
        """The object's start, once: its bounds and head, and the entries' list opened."""
        if self.count == 0 and not self.databases:
            self.out.write(json.dumps({**self.bounds, "head": digest})[:-1] + ', "entries": [')

    def trail(self, entries: Iterator[AuditEntry], digest: str, sources: list[str]) -> None:
        """One database's entries; the first database's head is the object's, unless
        there are several."""
        self._begin(None if self.several else digest)
        before = self.count
        for entry in entries:
            row = entry.as_dict()
            until = _restorable_until(entry)
            if until is not None:
                row["restorable_until"] = until
            self.actions[entry.action] += 1
            self.count += 1
            self.out.write(("\n  " if self.count == 1 else ",\n  ") + json.dumps(row))
        self.databases.append({"sources": sources, "head": digest, "count": self.count - before})

    def finish(self) -> None:
        """Close the list: the count, ``disposed``, and (of several) ``databases``."""
        self._begin(None)
        tail = f', "databases": {json.dumps(self.databases)}' if self.several else ""
        disposed = json.dumps(_disposed(self.actions))
        self.out.write(f'\n], "count": {self.count}, "disposed": {disposed}{tail}}}\n')


def _disposed(actions: Counter[str]) -> dict[str, dict[str, Any]]:
    """Entries per disposal: purges and anonymisations are permanent; an archive is not
    (restorable for 90 days), so it is never among them."""
    return {
        "purge": {"count": actions["purge"], "permanent": True},
        "anonymise": {"count": actions["anonymise"], "permanent": True},
        "archive": {"count": actions["archive"], "permanent": False},
    }
