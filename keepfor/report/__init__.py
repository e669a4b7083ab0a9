"""Dry-run reports: what is due, why, what falls due next, and what cannot be read.
Nothing is changed.

:func:`build_report` asks each source for its due records and its unreadable ones (the
database selects both), explains each with the engine, and hands them one at a time to
a :class:`~keepfor.abc.ReportWriter`; then each source counts its buckets (due, retained, waiting,
held, unmatched, unreadable: every record in exactly one, adding up to the source's
row count), the forecast and the chart's months, without fetching rows. Held records
are listed too, each with its holds' reasons (:mod:`keepfor.report.held`).
"""

from keepfor.abc import ReportWriter
from keepfor.report.build import DisagreementError, build_report
from keepfor.report.model import (
    BUCKETS,
    FORECAST_DAYS,
    Counts,
    DueRow,
    HeldRow,
    Report,
    RowLabel,
    UnreadableRow,
)

__all__ = [
    "BUCKETS",
    "FORECAST_DAYS",
    "Counts",
    "DisagreementError",
    "DueRow",
    "HeldRow",
    "Report",
    "ReportWriter",
    "RowLabel",
    "UnreadableRow",
    "build_report",
]
