"""The metrics, in Prometheus's text format, scraped over HTTP."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from keepfor.daemon.metrics import Metrics

ENDED = datetime(2026, 11, 22, 2, 0, 5, tzinfo=UTC)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample at ``127.0.0.1:port``: (name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_runs_failures_records_and_last_success() -> None:
    metrics = Metrics()
    metrics.source("orders")
    metrics.run("orders", "ok", True, {"purge": 7, "flag": 2, "total": 40}, ENDED)
    metrics.run("orders", "failed", True, {}, ENDED)
    metrics.run("orders", "ok", False, {"purge": 100}, ENDED)  # a dry run acts on nothing
    metrics.scheduled("orders", ENDED)
    port = _free_port()
    metrics.serve(port)
    samples = scrape(port)
    source = (("source", "orders"),)
    assert samples[("keepfor_daemon_up", ())] == 1
    assert samples[("keepfor_runs_total", (("outcome", "ok"), *source))] == 2
    assert samples[("keepfor_runs_total", (("outcome", "failed"), *source))] == 1
    assert samples[("keepfor_run_failures_total", source)] == 1
    assert samples[("keepfor_records_total", (("action", "purge"), *source))] == 7
    assert samples[("keepfor_records_total", (("action", "flag"), *source))] == 2
    assert samples[("keepfor_records_total", (("action", "anonymise"), *source))] == 0
    assert samples[("keepfor_last_success_timestamp_seconds", source)] == ENDED.timestamp()
    assert samples[("keepfor_next_run_timestamp_seconds", source)] == ENDED.timestamp()
