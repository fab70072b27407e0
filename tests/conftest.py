"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

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
