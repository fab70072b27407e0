"""Each server worker scores on its share of the cores, and an operator can say how many."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from trueclout.errors import UserError
from trueclout.service.runtime import server
from trueclout.service.scoring.offload import (
    available_cores,
    scoring_threads,
    threads_per_worker,
)
from trueclout.settings import get_settings


@pytest.mark.parametrize(("workers", "cores", "threads"), [
    (1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 16, 8), (3, 16, 5), (1, 1, 1), (0, 4, 4),
])
def test_workers_share_the_cores(workers: int, cores: int, threads: int) -> None:
    assert threads_per_worker(workers, cores) == threads


@pytest.fixture
def threads_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_threads(value: str) -> None:
        monkeypatch.setenv("TRUECLOUT_SCORING_THREADS", value)
        get_settings.cache_clear()  # settings are read once per process

    yield set_threads
    get_settings.cache_clear()


def test_the_setting_wins_and_zero_means_the_cores(threads_env: Callable[[str], None]) -> None:
    threads_env("3")
    assert scoring_threads() == 3
    threads_env("0")
    assert scoring_threads() == available_cores()
    threads_env("-1")
    with pytest.raises(UserError, match="TRUECLOUT_SCORING_THREADS"):
        get_settings()


def test_serve_hands_each_worker_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the workers inherit, read where uvicorn would start them; restored after."""
    import uvicorn

    seen: list[str | None] = []
    monkeypatch.delenv("TRUECLOUT_SCORING_THREADS", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(
        os.environ.get("TRUECLOUT_SCORING_THREADS")))
    server.run_server("x:y", host="127.0.0.1", port=1, workers=2, log_level="warning")
    assert seen == [str(threads_per_worker(2))]
    assert "TRUECLOUT_SCORING_THREADS" not in os.environ
    monkeypatch.setenv("TRUECLOUT_SCORING_THREADS", "7")  # an operator's choice stays
    server.run_server("x:y", host="127.0.0.1", port=1, workers=2, log_level="warning")
    assert seen[-1] == "7"
    assert os.environ["TRUECLOUT_SCORING_THREADS"] == "7"
