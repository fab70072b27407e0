"""POST /v1/score/batch: one result or one error per item, in order, stored together."""

from __future__ import annotations

from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot, write_lock
from trueclout.service.api.schemas import BatchResponse


def test_each_item_gets_its_own_result_in_order(service: Service, platform_key: str) -> None:
    good = [unique_snapshot() for _ in range(3)]
    bad = mutate(unique_snapshot(), "posts[0].created_at", "yesterday")
    items = [good[0], bad, good[1], "not an object", good[2]]
    before = service.count()
    with service.client(platform_key) as client:
        response = client.post("/v1/score/batch", json={"snapshots": items})
    assert response.status_code == 200, response.text
    batch = BatchResponse.model_validate_json(response.content)
    assert [r.index for r in batch.results] == [0, 1, 2, 3, 4]
    assert [r.status for r in batch.results] == ["ok", "error", "ok", "error", "ok"]
    assert [r.assessment.account_id for r in batch.results if r.assessment] == [
        g["account_id"] for g in good]
    assert batch.results[1].error is not None
    assert "posts[0].created_at" in [d.field for d in batch.results[1].error.details]
    assert (batch.scored, batch.failed, batch.stored) == (3, 2, True)
    stored = service.stored()
    assert len(stored) == before + 3
    assert all(r.assessment.assessment_id in stored for r in batch.results if r.assessment)


def test_envelope_errors(service: Service, platform_key: str) -> None:
    limit = service.settings.max_batch_items
    with service.client(platform_key) as client:
        too_many = {"snapshots": [unique_snapshot() for _ in range(limit + 1)]}
        assert_error(client.post("/v1/score/batch", json=too_many), 422, "validation_error",
                     field="snapshots")
        assert_error(client.post("/v1/score/batch", json={"snapshots": []}), 422,
                     "validation_error", field="snapshots")
        assert_error(client.post("/v1/score/batch", json={"items": []}), 422,
                     "validation_error", field="snapshots")
        assert_error(client.post("/v1/score/batch", content=b"[,]"), 400, "invalid_json")


def test_a_failed_write_stores_none_of_the_batch(service: Service, platform_key: str) -> None:
    earlier = service.stored()
    with service.client(platform_key) as client, write_lock(service):
        response = client.post("/v1/score/batch",
                               json={"snapshots": [unique_snapshot(), unique_snapshot()]})
    assert_error(response, 503, "storage_error")
    assert service.stored() == earlier


def test_dry_run_batch_stores_nothing(service: Service, platform_key: str) -> None:
    before = service.count()
    with service.client(platform_key) as client:
        response = client.post("/v1/score/batch", params={"store": "false"},
                               json={"snapshots": [unique_snapshot()]})
    assert response.status_code == 200
    assert response.json()["stored"] is False
    assert service.count() == before
