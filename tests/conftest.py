"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

# XGBoost's OpenMP threads spin while waiting; on a shared 2-core machine that
# slows every fit 5-50x.  Must be set before xgboost loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The shared research data sets; skips the test when they are not on this machine."""
    path = Path(os.environ.get("TRUECLOUT_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
    if not path.is_dir():
        pytest.skip(f"research data sets not found at {path} (set TRUECLOUT_DATASETS)")
    return path


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """One local Dask cluster (2 worker processes, 1 thread each) shared by every Dask test.

    Yields the scheduler's address: tests pass it where a user passes
    ``--scheduler``, so starting workers (seconds) is paid once per session.
    """
    from distributed import LocalCluster

    from trueclout.cluster import WORKER_ENV

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=dict(WORKER_ENV)) as cluster:
        yield cluster.scheduler_address
