"""POST /v1/score/batch: one result or one error per item, in order, stored together."""

from __future__ import annotations

import orjson

from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot, write_lock
from trueclout.files import utc_now
from trueclout.service.api.routes.score import _items_json
from trueclout.service.api.schemas import BatchResponse
from trueclout.service.db.snapshots import find_scored_snapshot


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


def test_an_item_is_read_as_a_single_score_body_is(service: Service, platform_key: str) -> None:
    """The same verdict and the same named problems as ``POST /v1/score`` gives the same
    JSON; a valid item is stored as the bytes received for it."""
    bad = [mutate(unique_snapshot(), "posts[0].created_at", "yesterday"),
           mutate(unique_snapshot(), "profile.followers_count", -1),
           mutate(unique_snapshot(), "engagements[1].post_id", "no such post")]
    good = unique_snapshot()
    items = [orjson.dumps(d) for d in bad] + [b'{ "account_id" :' + orjson.dumps(
        good["account_id"]) + b"," + orjson.dumps(good)[1:].replace(
        b'"account_id":' + orjson.dumps(good["account_id"]) + b",", b"", 1)]
    body = b'{"snapshots": [' + b", ".join(items) + b"]}"
    with service.client(platform_key) as client:
        batch = client.post("/v1/score/batch", content=body,
                            headers={"Content-Type": "application/json"}).json()
        for i, raw in enumerate(items[:3]):
            single = client.post("/v1/score", content=raw,
                                 headers={"Content-Type": "application/json"}).json()
            assert batch["results"][i]["error"]["details"] == single["error"]["details"]
    ok = batch["results"][3]
    assert ok["status"] == "ok"
    found = service.database.call(find_scored_snapshot,
                                  assessment_id=ok["assessment"]["assessment_id"], now=utc_now())
    assert found.snapshot_json == items[3]  # its spacing and key order, as sent


def test_items_msgspec_refuses_are_written_out_from_the_parse() -> None:
    parsed = [{"account_id": "a"}, [1, 2]]
    assert _items_json(b'{"snapshots": [{"account_id": "a"}, [1,2]]}', parsed) == [
        b'{"account_id": "a"}', b"[1,2]"]
    assert _items_json(b"not what was parsed", parsed) == [orjson.dumps(p) for p in parsed]


def test_an_item_repeating_a_key_fails_the_whole_envelope(service: Service,
                                                          platform_key: str) -> None:
    """What lets items skip their own repeated-key check: the envelope is refused first."""
    item = orjson.dumps(unique_snapshot())
    repeated = item.replace(b'{"account_id":', b'{"account_id":"x","account_id":', 1)
    assert repeated != item
    with service.client(platform_key) as client:
        response = client.post("/v1/score/batch", content=b'{"snapshots": [' + repeated + b"]}",
                               headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and "Traceback" not in response.text
