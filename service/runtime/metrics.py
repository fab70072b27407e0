"""Prometheus metrics, defined once per process.

With several workers, `trueclout serve` points ``PROMETHEUS_MULTIPROC_DIR`` at
a fresh folder before the workers start; every worker then writes its values
there and ``/metrics`` (answered by any worker) adds them all up.
"""

from __future__ import annotations

import os

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


def render() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
