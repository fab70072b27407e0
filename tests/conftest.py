"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
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
