"""Report formats: csv, json, table and html, each a streaming :class:`ReportWriter`.

* ``csv``: header ``key,rule,disposal_date,action``, one row per due record, nothing else;
* ``json``: one object: ``due`` rows (written as they come), then the aggregates;
* ``table``: readable text for a terminal;
* ``html``: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
  with the summary, a chart of disposals by month for the next 24 months, and the rows.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import tempfile
from collections.abc import Callable
from typing import Any, TextIO

from keepfor.engine import Instant
from keepfor.report import FORECAST_DAYS, DueRow, Report, ReportWriter
from keepfor.report.text import printable

__all__ = ["FORMATS", "CsvWriter", "HtmlWriter", "JsonWriter", "TableWriter"]

CSV_HEADER = ("key", "rule", "disposal_date", "action")


def _iso(at: Instant) -> str:
    return at.isoformat()


def _fields(row: DueRow) -> tuple[str, str, str, str]:
    label = row.label
    return (row.key, label.rule, label.disposal_date, label.action)


class CsvWriter(ReportWriter):
    """Due records only: ``key,rule,disposal_date,action``."""

    wants_aggregates = False

    def __init__(self, out: TextIO) -> None:
        self._csv = csv.writer(out, lineterminator="\n")
        self._csv.writerow(CSV_HEADER)
        self._write = self._csv.writerow

    def row(self, row: DueRow) -> None:
        label = row.label
        self._write((row.key, label.rule, label.disposal_date, label.action))

    def finish(self, report: Report) -> None:
        pass


def aggregates(report: Report) -> dict[str, Any]:
    """The report's aggregates as plain data (json, and the html page's numbers)."""
    return {
        "at": _iso(report.at),
        "packs": [{"pack": p.id, "version": p.version} for p in report.rules.packs],
        "sources": report.sources,
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


class JsonWriter(ReportWriter):
    """One JSON object; the ``due`` list is written as rows stream in."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True
        out.write('{"due": [')

    def row(self, row: DueRow) -> None:
        key, rule, disposal, action = _fields(row)
        winner = row.decision.winner
        assert winner is not None
        item = {
            "source": row.source,
            "key": key,
            "pack": winner.pack.id,
            "rule": rule,
            "disposal_date": disposal,
            "action": action,
            "matched": [o.to_dict() for o in row.decision.matched],
        }
        self.out.write(("\n  " if self.first else ",\n  ") + json.dumps(item))
        self.first = False

    def finish(self, report: Report) -> None:
        rest = json.dumps(aggregates(report), indent=2)
        self.out.write("\n], " + rest[1:] + "\n")


class TableWriter(ReportWriter):
    """Readable text: due rows as aligned lines, then the summary tables."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console  # only this format needs rich: keep csv start-up fast

        self.console = Console(file=out, highlight=False, soft_wrap=True)
        self.count = 0

    def row(self, row: DueRow) -> None:
        if self.count == 0:
            self.console.print(f"{'key':<24} {'rule':<28} {'disposal':<10}  action", style="bold")
        key, rule, disposal, action = _fields(row)
        key, rule = printable(key), printable(rule)  # record text: never raw to a terminal
        self.console.print(f"{key:<24} {rule:<28} {disposal:<10}  {action}", markup=False)
        self.count += 1

    def finish(self, report: Report) -> None:
        from rich.table import Table
        from rich.text import Text  # a cell as Text: shown as it is, never read as markup

        c = self.console
        if self.count == 0:
            c.print("Nothing is due.")
        c.print()
        c.print(
            f"Dry run at {_iso(report.at)}: {report.due_total} due "
            f"(packs {', '.join(f'{p.id} {p.version}' for p in report.rules.packs)}; "
            f"sources {', '.join(report.sources)})",
            markup=False,
        )
        summary = Table("pack", "rule", "action", "due", title="Due by rule and action")
        for (pack, rule, action), n in sorted(report.due.items()):
            summary.add_row(pack, Text(printable(rule)), action, str(n))
        c.print(summary)
        forecast = Table("within", "falling due", title="Forecast (not due yet)")
        for days in FORECAST_DAYS:
            forecast.add_row(f"{days} days", str(report.forecast.get(days, 0)))
        c.print(forecast)
        waiting = Table("rule", "waiting", title=f"Waiting on an event: {report.waiting_total}")
        for rule, n in sorted(report.waiting.items()):
            waiting.add_row(Text(printable(rule)), str(n))
        c.print(waiting)
        unmatched = Table("category", "records", title="Unmatched (no rule applies)")
        for category, n in sorted(report.unmatched.items()):
            unmatched.add_row(Text(printable(category)), str(n))
        c.print(unmatched)


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;
color:#1d2733;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #d9dee4;
padding:.25rem .75rem;text-align:left}th{background:#f3f5f7}td.n{text-align:right}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d9dee4;border-radius:6px;
padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.4rem}
svg text{font-size:10px;fill:#1d2733}.muted{color:#5b6773}
"""


def month_chart(by_month: list[tuple[str, int]]) -> str:
    """An inline SVG bar chart of disposals by month."""
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
        h = (height - 2 * pad - 12) * n / top
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
    """One self-contained page. Rows are spooled to a temporary file while they stream,
    since the summary that heads the page is known only at the end."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.rows = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in finish()
            max_size=1 << 20, mode="w+", encoding="utf-8"
        )
        self.count = 0

    def row(self, row: DueRow) -> None:
        key, rule, disposal, action = _fields(row)
        self.rows.write(
            f"<tr><td>{html.escape(row.source)}</td><td>{html.escape(key)}</td>"
            f"<td>{html.escape(rule)}</td><td>{disposal}</td><td>{action}</td>"
            f"<td>{html.escape(row.decision.reason)}</td></tr>\n"
        )
        self.count += 1

    def finish(self, report: Report) -> None:
        data = aggregates(report)
        w = self.out.write
        title = f"keepfor dry run at {html.escape(data['at'])}"
        w(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>')
        w('<meta name="viewport" content="width=device-width">')
        w(f"<style>{_STYLE}</style></head><body>")
        w(f"<h1>{title}</h1>")
        packs = ", ".join(f"{p['pack']} {p['version']}" for p in data["packs"])
        w(
            f'<p class="muted">Rule packs: {html.escape(packs)}. Sources: '
            f"{html.escape(', '.join(report.sources))}. Dry run: nothing was changed.</p>"
        )
        cards = [("due now", report.due_total)] + [
            (f"due within {d} days", report.forecast.get(d, 0)) for d in FORECAST_DAYS
        ]
        cards += [("waiting on an event", report.waiting_total)]
        cards += [("unmatched", sum(report.unmatched.values()))]
        w('<div class="cards">')
        for label, n in cards:
            w(f'<div class="card"><b>{n}</b>{html.escape(label)}</div>')
        w("</div>")
        w("<h2>Disposals by month, next 24 months</h2>")
        w(month_chart(report.by_month))
        w("<h2>Due by rule and action</h2>")
        w(_table(("pack", "rule", "action", "due"), sorted((*k, n) for k, n in report.due.items())))
        w("<h2>Waiting on an event</h2>")
        w(_table(("rule", "records"), sorted(report.waiting.items())))
        w("<h2>Unmatched categories</h2>")
        w(_table(("category", "records"), sorted(report.unmatched.items())))
        w(f"<h2>Due records ({self.count})</h2>")
        w("<table><thead><tr><th>source</th><th>key</th><th>rule</th><th>disposal date</th>")
        w("<th>action</th><th>why</th></tr></thead><tbody>\n")
        self.rows.seek(0)
        shutil.copyfileobj(self.rows, self.out)
        self.rows.close()
        w("</tbody></table></body></html>\n")


FORMATS: dict[str, Callable[[TextIO], ReportWriter]] = {
    "table": TableWriter,
    "csv": CsvWriter,
    "json": JsonWriter,
    "html": HtmlWriter,
}
