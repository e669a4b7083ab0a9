"""The daemon's metrics, in Prometheus's text format (prometheus-client), on
``--metrics-port``: a monitoring system scrapes them and alerts when sweeps stop.

::

    keepfor_daemon_up                                     1 while the daemon runs
    keepfor_runs_total{source, outcome}                   runs by how they ended
    keepfor_run_failures_total{source}                    runs that failed or were partly done
    keepfor_records_total{source, action}                 records acted on (dry runs: none)
    keepfor_last_success_timestamp_seconds{source}        end of the last run that succeeded
    keepfor_next_run_timestamp_seconds{source}            the next scheduled run

A registry of its own (not the process-wide default), so two daemons in one test
process do not share counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["ACTIONS", "Metrics"]

ACTIONS = ("purge", "archive", "anonymise", "flag", "review")


class Metrics:
    """The counters and gauges, updated by each run."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.up = Gauge("keepfor_daemon_up", "1 while the daemon runs", registry=self.registry)
        self.runs = Counter(
            "keepfor_runs", "Runs by source and outcome", ["source", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.failures = Counter(
            "keepfor_run_failures", "Runs that failed or were partly done", ["source"],
            registry=self.registry,
        )  # fmt: skip
        self.records = Counter(
            "keepfor_records", "Records acted on, by source and action", ["source", "action"],
            registry=self.registry,
        )  # fmt: skip
        self.last_success = Gauge(
            "keepfor_last_success_timestamp_seconds",
            "When the last successful run of a source ended (Unix time)",
            ["source"],
            registry=self.registry,
        )
        self.next_run = Gauge(
            "keepfor_next_run_timestamp_seconds",
            "When a source's next run is scheduled (Unix time)",
            ["source"],
            registry=self.registry,
        )

    def source(self, name: str) -> None:
        """Make a source's series exist at zero before its first run."""
        for action in ACTIONS:
            self.records.labels(name, action)
        self.failures.labels(name)

    def run(
        self, name: str, outcome: str, applied: bool, counts: Mapping[str, int], ended: datetime
    ) -> None:
        """One run ended."""
        self.runs.labels(name, outcome).inc()
        if outcome in ("failed", "partly"):
            self.failures.labels(name).inc()
        if applied:
            for action in ACTIONS:
                self.records.labels(name, action).inc(counts.get(action, 0))
        if outcome == "ok":
            self.last_success.labels(name).set(ended.timestamp())

    def scheduled(self, name: str, when: datetime | None) -> None:
        if when is not None:
            self.next_run.labels(name).set(when.timestamp())

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Answer scrapes on ``address:port`` (a thread of its own)."""
        from prometheus_client import start_http_server

        start_http_server(port, addr=address, registry=self.registry)
        self.up.set(1)
