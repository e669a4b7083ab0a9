"""Report formats: csv, json and table, each a streaming :class:`ReportWriter` (html is in
:mod:`keepfor.report.html`).

* ``csv``: header ``key,rule,disposal_date,action,pack,source,anchor_date,status,field,value``:
  one row per due record (status ``due``), then one per unreadable record (status
  ``unreadable``, with the field and the value that cannot be read, and no action),
  then one per held record (status ``held``, the holds' reasons as its ``value``);
  cells that a spreadsheet would run as a formula are escaped;
* ``json``: one object: ``due`` rows, ``unreadable`` rows and ``held_records`` (written
  as they come), then ``counts`` (overall and per source) and the aggregates;
* ``table``: readable text for a terminal, record text escaped; the first
  :data:`~keepfor.report.held.HELD_SHOWN` held records, and how many more.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii as encode_string
from typing import Any, TextIO

from keepfor.abc import ReportWriter
from keepfor.engine import Decision, Instant
from keepfor.report.held import HELD_JOIN, HELD_SHOWN, held_item, more_held
from keepfor.report.model import (
    FORECAST_DAYS,
    DueRow,
    HeldRow,
    Report,
    RowLabel,
    UnreadableRow,
)
from keepfor.report.text import printable

__all__ = ["CSV_HEADER", "FORMATS", "CsvWriter", "JsonWriter", "TableWriter", "aggregates"]

CSV_HEADER = (
    "key",
    "rule",
    "disposal_date",
    "action",
    "pack",
    "source",
    "anchor_date",
    "status",
    "field",
    "value",
)

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``."""
    return "'" + text if text.startswith(_FORMULA) else text


def _iso(at: Instant) -> str:
    return at.isoformat()


def shown_value(value: Any) -> str:
    """An unreadable value as text, cut short when long."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."


def table_value(value: Any) -> str:
    """A value for a terminal: a text quoted (so that ``'2'`` and ``2`` differ)."""
    return repr(shown_value(value)) if isinstance(value, str) else shown_value(value)


def spool() -> Any:
    """A temporary text file, in memory while small: rows kept for the end of a format."""
    return tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8", newline="")


def drain(spooled: Any, out: TextIO) -> None:
    spooled.seek(0)
    shutil.copyfileobj(spooled, out)
    spooled.close()


def key_text(key: Any) -> str:
    return key if type(key) is str else str(key)


def plain_keys(keys: Sequence[Any]) -> list[str] | None:
    """A group's keys as text, when every one is printable ASCII that no format escapes
    (no comma, quote or backslash; no spreadsheet formula start): the usual case, which
    a writer then writes in one string; None otherwise (written key by key)."""
    kinds = set(map(type, keys))
    texts: list[str] = list(map(str, keys)) if kinds <= {int, str} else []
    if not texts:
        return None
    blob = "".join(texts)
    if not (blob.isascii() and blob.isprintable()) or any(c in blob for c in ',"\\'):
        return None
    starts = "\n" + "\n".join(texts)
    if any("\n" + c in starts for c in _FORMULA):
        return None
    return texts


class CsvWriter(ReportWriter):
    """Due records, then unreadable ones, then held ones; no aggregates."""

    wants_aggregates = False
    lists_held = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._csv = csv.writer(out, lineterminator="\n")
        self._started = False  # nothing is written before the first row or the end
        self._bad = spool()
        self._bad_csv = csv.writer(self._bad, lineterminator="\n")
        self._held = spool()
        self._held_csv = csv.writer(self._held, lineterminator="\n")
        self._files = {
            id(self._csv): out,
            id(self._bad_csv): self._bad,
            id(self._held_csv): self._held,
        }

    def _start(self) -> None:
        if not self._started:
            self._csv.writerow(CSV_HEADER)
            self._started = True

    def _put(self, writer: Any, cells: tuple[str, ...]) -> None:
        # a carriage return is no line end to a writer whose lines end in \n, so it would
        # not quote one: such a row is quoted whole
        if any("\r" in cell for cell in cells):
            csv.writer(
                self._files[id(writer)], lineterminator="\n", quoting=csv.QUOTE_ALL
            ).writerow(cells)
        else:
            writer.writerow(cells)

    def row(self, row: DueRow) -> None:
        self.due_group(row.source, (row.key,), row.decision, row.label)

    def due_group(
        self, source: str, keys: Sequence[Any], decision: Decision, label: RowLabel
    ) -> None:
        self._start()
        tail = (
            spreadsheet_safe(label.rule),
            label.disposal_date,
            label.action,
            spreadsheet_safe(label.pack),
            spreadsheet_safe(source),
            label.anchor_date,
            "due",
            "",
            "",
        )
        plain = plain_keys(keys)
        if plain is not None and not any("\r" in cell for cell in tail):
            line = io.StringIO()
            csv.writer(line, lineterminator="\n").writerow(("", *tail))
            ending = line.getvalue()
            self.out.write(ending.join(plain) + ending)
            return
        texts = [key_text(key) for key in keys]
        if "\r" in source or any("\r" in text for text in texts):
            for text in texts:
                self._put(self._csv, (spreadsheet_safe(text), *tail))
            return
        self._csv.writerows([(spreadsheet_safe(text), *tail) for text in texts])

    def unreadable(self, row: UnreadableRow) -> None:
        problem = row.problem
        cells = (
            spreadsheet_safe(row.key),
            spreadsheet_safe(row.rule),
            "",
            "",
            spreadsheet_safe(problem.pack),
            spreadsheet_safe(row.source),
            "",
            "unreadable",
            spreadsheet_safe(problem.field),
            spreadsheet_safe(shown_value(problem.value)),
        )
        self._put(self._bad_csv, cells)

    def held(self, row: HeldRow) -> None:
        """A held record: as an unreadable one is written, status ``held``, the reasons
        of its holds as its ``value``."""
        cells = (
            spreadsheet_safe(row.key),
            "",
            "",
            "",
            "",
            spreadsheet_safe(row.source),
            "",
            "held",
            "",
            spreadsheet_safe(HELD_JOIN.join(row.reasons)),
        )
        self._put(self._held_csv, cells)

    def finish(self, report: Report) -> None:
        self._start()
        drain(self._bad, self.out)
        drain(self._held, self.out)


def aggregates(report: Report) -> dict[str, Any]:
    """The report's aggregates as plain data (json, and the html page's numbers)."""
    return {
        "at": _iso(report.at),
        "packs": [{"pack": p.id, "version": p.version} for p in report.rules.packs],
        "counts": report.overall.to_dict(),
        "sources": [
            {"source": name, "counts": report.counts[name].to_dict()}
            for name in report.sources
            if name in report.counts
        ],
        "summary": {
            "due": report.due_total,
            "by_rule": [
                {"pack": pack, "rule": rule, "action": action, "count": n}
                for (pack, rule, action), n in sorted(report.due.items())
            ],
        },
        "forecast": {str(days): report.forecast.get(days, 0) for days in FORECAST_DAYS},
        "by_month": [{"month": m, "count": n} for m, n in report.by_month],
        "waiting": {
            "records": report.waiting_total,
            "by_rule": [{"rule": r, "count": n} for r, n in sorted(report.waiting.items())],
        },
        "unmatched": [{"category": c, "count": n} for c, n in sorted(report.unmatched.items())],
    }


def unreadable_item(row: UnreadableRow) -> dict[str, Any]:
    return {"source": row.source, "key": row.key, **row.problem.to_dict(), "rule": row.rule}


class JsonWriter(ReportWriter):
    """One JSON object: the ``due`` list written as rows stream in, then ``unreadable``
    and ``held_records`` (kept aside until then), then the aggregates."""

    lists_held = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True
        self.opened = False  # nothing is written before the first row or the end
        self._bad = spool()
        self._bad_first = True
        self._held = spool()
        self._held_first = True

    def row(self, row: DueRow) -> None:
        self.due_group(row.source, (row.key,), row.decision, row.label)

    def due_group(
        self, source: str, keys: Sequence[Any], decision: Decision, label: RowLabel
    ) -> None:
        rest = {
            "pack": label.pack,
            "rule": label.rule,
            "description": label.description,
            "disposal_date": label.disposal_date,
            "action": label.action,
            "anchor_date": label.anchor_date,
            "why": label.why,
            "matched": [o.to_dict() for o in decision.matched],
        }
        head = '{"source": ' + json.dumps(source) + ', "key": '
        tail = ", " + json.dumps(rest)[1:]
        if not self.opened:
            self.out.write('{"due": [')
            self.opened = True
        plain = plain_keys(keys)
        if plain is not None:  # each key is its own JSON text, within quotes
            lead = "\n  " if self.first else ",\n  "
            between = '"' + tail + ",\n  " + head + '"'
            self.out.write(lead + head + '"' + between.join(plain) + '"' + tail)
            self.first = False
            return
        parts = []
        for key in keys:
            parts.append("\n  " if self.first else ",\n  ")
            parts.append(head + encode_string(key_text(key)) + tail)
            self.first = False
        self.out.write("".join(parts))

    def unreadable(self, row: UnreadableRow) -> None:
        self._bad.write(("\n  " if self._bad_first else ",\n  ") + json.dumps(unreadable_item(row)))
        self._bad_first = False

    def held(self, row: HeldRow) -> None:
        self._held.write(("\n  " if self._held_first else ",\n  ") + json.dumps(held_item(row)))
        self._held_first = False

    def finish(self, report: Report) -> None:
        if not self.opened:
            self.out.write('{"due": [')
        self.out.write('\n], "unreadable": [')
        drain(self._bad, self.out)
        self.out.write('\n], "held_records": [')
        drain(self._held, self.out)
        rest = json.dumps(aggregates(report), indent=2)
        self.out.write("\n], " + rest[1:] + "\n")


class TableWriter(ReportWriter):
    """Readable text: due rows as aligned lines, unreadable records, the first held ones,
    then the summary."""

    lists_held = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self.unreadable_count = 0
        self._bad = spool()
        self.held_count = 0
        self._held: list[str] = []  # the first HELD_SHOWN

    def row(self, row: DueRow) -> None:
        self.due_group(row.source, (row.key,), row.decision, row.label)

    def due_group(
        self, source: str, keys: Sequence[Any], decision: Decision, label: RowLabel
    ) -> None:
        if self.count == 0:
            self.out.write(f"{'key':<24} {'rule':<28} {'disposal':<10}  {'action':<9}  anchor\n")
        tail = (
            f" {label.rule:<28} {label.disposal_date:<10}  {label.action:<9}  {label.anchor_date}\n"
        )
        plain = plain_keys(keys)
        if plain is not None:  # nothing to escape for a terminal
            self.out.write(tail.join(text.ljust(24) for text in plain) + tail)
        else:
            self.out.write("".join(f"{printable(key_text(key)):<24}{tail}" for key in keys))
        self.count += len(keys)

    def unreadable(self, row: UnreadableRow) -> None:
        problem = row.problem
        self._bad.write(
            f"{printable(row.source):<16} {printable(row.key):<24} "
            f"{printable(problem.field):<20} {printable(table_value(problem.value))}\n"
        )
        self.unreadable_count += 1

    def held(self, row: HeldRow) -> None:
        if self.held_count < HELD_SHOWN:
            reasons = printable(HELD_JOIN.join(row.reasons))
            self._held.append(f"{printable(row.source):<16} {printable(row.key):<24} {reasons}\n")
        self.held_count += 1

    def finish(self, report: Report) -> None:
        from keepfor.report.summary import print_summary  # rich loads only for this format

        if self.count == 0:
            self.out.write("Nothing is due.\n")
        if self.unreadable_count:
            self.out.write("\nUnreadable records (never acted on until corrected):\n")
            self.out.write(f"{'source':<16} {'key':<24} {'field':<20} value\n")
        drain(self._bad, self.out)
        self._write_held()
        print_summary(report, self.out)

    def _write_held(self) -> None:
        if not self.held_count:
            return
        self.out.write("\nHeld records (nothing is done to them while held):\n")
        self.out.write(f"{'source':<16} {'key':<24} held by\n")
        self.out.write("".join(self._held))
        if self.held_count > HELD_SHOWN:
            self.out.write(f"{more_held(self.held_count - HELD_SHOWN)}\n")


def _html(out: TextIO) -> ReportWriter:
    """The html writer, imported only for this format."""
    from keepfor.report.html import HtmlWriter

    return HtmlWriter(out)


FORMATS: dict[str, Callable[[TextIO], ReportWriter]] = {
    "table": TableWriter,
    "csv": CsvWriter,
    "json": JsonWriter,
    "html": _html,
}
