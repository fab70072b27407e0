"""Prometheus metrics, defined once per process.

With several workers, `trueclout serve` points ``PROMETHEUS_MULTIPROC_DIR`` at
a fresh folder before the workers start; every worker then writes its values
there and ``/metrics`` (answered by any worker) adds them all up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "trueclout_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "trueclout_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
             0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ASSESSMENTS = Counter(
    "trueclout_assessments",
    "Assessments returned, by risk level.",
    ["risk_level"],
)
MODEL_INFO = Gauge(
    "trueclout_model_info",
    "The model answering requests (1 for the loaded name and version).",
    ["name", "version"],
    multiprocess_mode="max",
)
MODEL_LOADED = Gauge(
    "trueclout_model_loaded",
    "1 when every worker has a model loaded, 0 otherwise.",
    multiprocess_mode="min",
)


# The ring table (service/runtime/ring_refresh.py): each worker publishes the last
# refresh it read from the database; the age is measured when /metrics is answered.
RING_TABLE_AGE = Gauge(
    "trueclout_ring_table_age_seconds",
    "Seconds since the ring table in use was written (NaN: no table).",
    multiprocess_mode="mostrecent",
)
RING_TABLE_ACCOUNTS = Gauge(
    "trueclout_ring_table_accounts",
    "Accounts in the ring table the last refresh wrote.",
    multiprocess_mode="mostrecent",
)
RING_TABLE_EDGES = Gauge(
    "trueclout_ring_table_edges",
    "Edges of the stored graph the last refresh read.",
    multiprocess_mode="mostrecent",
)
RING_REFRESH_SECONDS = Gauge(
    "trueclout_ring_refresh_duration_seconds",
    "Wall time of the last ring-table refresh (read, detect, write).",
    multiprocess_mode="mostrecent",
)
RING_REFRESHED_AT = Gauge(
    "trueclout_ring_table_refreshed_timestamp_seconds",
    "When the last ring-table refresh completed (Unix time).",
    multiprocess_mode="mostrecent",
)
_ring_table: Path | None = None


def watch_ring_table(path: Path | None) -> None:
    """The ring table file this process serves from, whose age /metrics reports."""
    global _ring_table
    _ring_table = path


def _measure_ring_table_age() -> None:
    if _ring_table is None:
        return
    try:
        RING_TABLE_AGE.set(max(0.0, time.time() - _ring_table.stat().st_mtime))
    except OSError:
        RING_TABLE_AGE.set(float("nan"))


def render() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    _measure_ring_table_age()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
