"""A server whose model failed to load: the honest production path before a model exists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, start_service
from trueclout.service.scoring.scorer import UnavailableScorer


@pytest.fixture(scope="session")
def unready_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with start_service("sqlite", tmp_path_factory.mktemp("unready"),
                       scorer=UnavailableScorer("test: no model installed")) as svc:
        yield svc
