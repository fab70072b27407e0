"""GET /v1/models/active: the model card, or 503 when no model is loaded."""

from __future__ import annotations

from tests.service.conftest import Service
from tests.service.helpers import assert_error


def test_any_scope_reads_the_active_model_card(service: Service) -> None:
    for scope in ("platform", "analyst", "recruiter"):
        with service.client(service.new_key(scope)) as client:
            response = client.get("/v1/models/active")
        assert response.status_code == 200
        assert response.json() == {"name": service.scorer.info.name,
                                   "version": service.scorer.info.version,
                                   "card": service.scorer.info.card}


def test_the_model_card_needs_a_key(service: Service) -> None:
    with service.client() as client:
        assert_error(client.get("/v1/models/active"), 401, "unauthorized")


def test_without_a_model_it_is_503(unready_service: Service) -> None:
    with unready_service.client(unready_service.new_key("recruiter")) as client:
        error = assert_error(client.get("/v1/models/active"), 503, "model_not_loaded")
    assert "model not loaded" in error["message"]
