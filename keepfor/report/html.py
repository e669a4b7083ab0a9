"""The html format: one self-contained page (inline CSS and SVG, no scripts, nothing
fetched) with the buckets, a chart of disposals by month for the next 24 months, the
due records sorted by disposal date (the most overdue first), the unreadable ones and
the first held ones, each with its holds' reasons.

Rows arrive in the database's order, and the page's summary is known only at the end,
so rows are kept in a :class:`SortedSpool`: grouped by disposal date in memory up to a
bound, and spilled to a temporary file beyond it, so memory stays bounded however many
records are due.
"""

from __future__ import annotations

import html
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from dateutil.relativedelta import relativedelta

from keepfor.abc import ReportWriter
from keepfor.engine import Decision
from keepfor.report.held import HELD_SHOWN, more_held
from keepfor.report.model import (
    BUCKETS,
    FORECAST_DAYS,
    DueRow,
    HeldRow,
    Report,
    RowLabel,
    UnreadableRow,
)

__all__ = ["HtmlWriter", "SortedSpool", "month_chart", "overdue_words"]


class SortedSpool:
    """Text chunks filed under a sort key, given back in key order; memory is bounded by
    ``limit`` characters (the rest waits in a temporary file)."""

    def __init__(self, limit: int = 4 << 20) -> None:
        self.limit = limit
        self.pending: dict[str, list[str]] = defaultdict(list)
        self.size = 0
        self.spilled: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.file: Any = None

    def add(self, key: str, text: str) -> None:
        self.pending[key].append(text)
        self.size += len(text)
        if self.size > self.limit:
            self._spill()

    def _spill(self) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        for key, texts in self.pending.items():
            chunk = "".join(texts)
            start = self.file.seek(0, 2)
            self.file.write(chunk)
            self.spilled[key].append((start, len(chunk)))
        self.pending.clear()
        self.size = 0

    def write_to(self, out: TextIO) -> None:
        for key in sorted({*self.pending, *self.spilled}):
            for start, length in self.spilled.get(key, ()):
                self.file.seek(start)
                out.write(self.file.read(length))
            out.write("".join(self.pending.get(key, ())))
        if self.file is not None:
            self.file.close()


def overdue_words(disposal: date, today: date | None) -> str:
    """How long a record has been disposable: ``due today``, ``3 days``, ``1 year 2 months``."""
    if today is None or today <= disposal:
        return "due today"
    gap = relativedelta(today, disposal)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((gap.years, "year"), (gap.months, "month"), (gap.days, "day"))
        if n
    ]
    return " ".join(parts[:2])


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:76rem;
color:#1d2733;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #d9dee4;
padding:.25rem .75rem;text-align:left;vertical-align:top}th{background:#f3f5f7}
td.n{text-align:right}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d9dee4;border-radius:6px;
padding:.6rem 1rem;min-width:8rem}.card b{display:block;font-size:1.4rem}
svg text{font-size:10px;fill:#1d2733}.muted{color:#5b6773}.bad{color:#a3261b}
"""


def month_chart(by_month: list[tuple[str, int]]) -> str:
    """An inline SVG bar chart of disposals by month (counts are never negative)."""
    width, height, pad = 760, 220, 30
    bar = (width - 2 * pad) / max(len(by_month), 1)
    top = max((n for _, n in by_month), default=0) or 1
    parts = [
        f'<svg role="img" aria-label="Disposals by month" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#8995a1"/>',
    ]
    for i, (month, n) in enumerate(by_month):
        h = (height - 2 * pad - 12) * max(n, 0) / top
        x = pad + i * bar
        y = height - pad - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" '
            f'fill="#2f6db5"><title>{month}: {n}</title></rect>'
        )
        if n:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{n}</text>'
            )
        if i % 3 == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - pad + 14}" text-anchor="middle">'
                f"{month}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v}</td>' if isinstance(v, int) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class HtmlWriter(ReportWriter):
    """One self-contained page; rows sorted by disposal date, most overdue first."""

    lists_held = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.due = SortedSpool()
        self.bad = SortedSpool()
        self.count = 0
        self.bad_count = 0
        self.held_rows: list[str] = []  # the first HELD_SHOWN
        self.held_count = 0
        self._cells: dict[RowLabel, str] = {}

    def row(self, row: DueRow) -> None:
        self.due_group(row.source, (row.key,), row.decision, row.label)

    def due_group(
        self, source: str, keys: Sequence[Any], decision: Decision, label: RowLabel
    ) -> None:
        cells = self._cells.get(label)
        if cells is None:
            if len(self._cells) > 65_536:
                self._cells.clear()
            cells = self._cells[label] = self._label_cells(label)
        head = f"<tr><td>{html.escape(source)}</td><td>"
        tail = f"</td>{cells}</tr>\n"
        text = "".join(f"{head}{html.escape(str(key))}{tail}" for key in keys)
        self.due.add(label.disposal_date, text)
        self.count += len(keys)

    @staticmethod
    def _label_cells(label: RowLabel) -> str:
        overdue = overdue_words(date.fromisoformat(label.disposal_date), label.today)
        why = f"{label.why}, then {label.action}"
        return (
            f"<td>{html.escape(label.rule)}<br><span class=muted>{html.escape(label.pack)}"
            f"</span></td><td>{label.disposal_date}</td><td>{overdue}</td>"
            f"<td>{label.action}</td><td>{html.escape(label.description)}"
            f"<br><span class=muted>{html.escape(why)}</span></td>"
        )

    def unreadable(self, row: UnreadableRow) -> None:
        from keepfor.report.formats import shown_value

        p = row.problem
        self.bad.add(
            row.source,
            f"<tr><td>{html.escape(row.source)}</td><td>{html.escape(row.key)}</td>"
            f"<td>{html.escape(p.field)}</td><td class=bad>{html.escape(shown_value(p.value))}"
            f"</td><td>{html.escape(p.reason)}</td></tr>\n",
        )
        self.bad_count += 1

    def held(self, row: HeldRow) -> None:
        if self.held_count < HELD_SHOWN:
            reasons = "<br>".join(html.escape(reason) for reason in row.reasons)
            self.held_rows.append(
                f"<tr><td>{html.escape(row.source)}</td><td>{html.escape(row.key)}</td>"
                f"<td>{reasons}</td></tr>\n"
            )
        self.held_count += 1

    def finish(self, report: Report) -> None:
        w = self.out.write
        title = f"keepfor dry run at {html.escape(report.at.isoformat())}"
        w(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>')
        w('<meta name="viewport" content="width=device-width">')
        w(f"<style>{_STYLE}</style></head><body><h1>{title}</h1>")
        packs = ", ".join(f"{p.id} {p.version}" for p in report.rules.packs)
        w(
            f'<p class="muted">Rule packs: {html.escape(packs)}. Sources: '
            f"{html.escape(', '.join(report.sources))}. Dry run: nothing was changed.</p>"
        )
        self._cards(report)
        w("<h2>Disposals by month, next 24 months</h2>")
        w(month_chart(report.by_month))
        w("<h2>Due by rule and action</h2>")
        w(_table(("pack", "rule", "action", "due"), sorted((*k, n) for k, n in report.due.items())))
        w("<h2>Waiting on an event</h2>")
        w(_table(("rule", "records"), sorted(report.waiting.items())))
        w("<h2>Unmatched categories</h2>")
        w(_table(("category", "records"), sorted(report.unmatched.items())))
        w(f"<h2>Due records ({self.count}), most overdue first</h2>")
        w("<table><thead><tr><th>source</th><th>key</th><th>rule</th><th>disposal date</th>")
        w("<th>overdue</th><th>action</th><th>why</th></tr></thead><tbody>\n")
        self.due.write_to(self.out)
        w("</tbody></table>")
        w(f"<h2>Unreadable records ({self.bad_count}): never acted on until corrected</h2>")
        w("<table><thead><tr><th>source</th><th>key</th><th>field</th><th>value</th>")
        w("<th>what is wrong</th></tr></thead><tbody>\n")
        self.bad.write_to(self.out)
        w("</tbody></table>")
        self._held_section()
        w("</body></html>\n")

    def _held_section(self) -> None:
        """The first held records, with the reasons of their holds, and how many more."""
        w = self.out.write
        w(f"<h2>Held records ({self.held_count}): nothing is done to them while held</h2>")
        w("<table><thead><tr><th>source</th><th>key</th><th>held by</th></tr></thead><tbody>\n")
        w("".join(self.held_rows))
        w("</tbody></table>")
        if self.held_count > HELD_SHOWN:
            w(f'<p class="muted">{html.escape(more_held(self.held_count - HELD_SHOWN))}</p>')

    def _cards(self, report: Report) -> None:
        overall = report.overall
        cards = [("records", overall.total)]
        cards += [(name, getattr(overall, name)) for name in BUCKETS]
        cards += [(f"due within {d} days", report.forecast.get(d, 0)) for d in FORECAST_DAYS]
        self.out.write('<div class="cards">')
        for label, n in cards:
            self.out.write(f'<div class="card"><b>{n}</b>{html.escape(label)}</div>')
        self.out.write("</div>")
