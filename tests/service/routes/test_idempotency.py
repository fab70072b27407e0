"""`Idempotency-Key`: a retry gets the first answer and stores nothing (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.files import utc_now
from trueclout.service.db.idempotency import IdempotencyRecord
from trueclout.service.db.trust import StoredTrustReport


def new_key() -> str:
    return uuid.uuid4().hex


def reports(service: Service) -> int:
    with service.database.transaction() as session:
        return session.scalar(select(func.count()).select_from(StoredTrustReport)) or 0


def trust_body(document: dict[str, Any]) -> dict[str, Any]:
    return {"claimed_score": 40, "platform": "twitter",
            "handle": "@" + document["profile"]["username"], "snapshot": document}


def test_a_retry_gets_the_first_answer_and_stores_nothing(service: Service,
                                                          platform_key: str) -> None:
    snapshot, key = unique_snapshot(), new_key()
    with service.client(platform_key) as client:
        first = client.post("/v1/score", json=snapshot, headers={"Idempotency-Key": key})
        stored = service.count()
        again = client.post("/v1/score", json=snapshot, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, again.text
    assert again.content == first.content  # the same assessment_id, the same numbers
    assert again.headers["idempotent-replayed"] == "true"
    assert service.count() == stored


def test_the_same_key_with_another_body_is_refused(service: Service, platform_key: str) -> None:
    key = new_key()
    with service.client(platform_key) as client:
        assert client.post("/v1/score", json=unique_snapshot(),
                           headers={"Idempotency-Key": key}).status_code == 200
        stored = service.count()
        response = client.post("/v1/score", json=unique_snapshot(),
                               headers={"Idempotency-Key": key})
    assert_error(response, 422, "idempotency_key_reused", field="header.idempotency-key")
    assert service.count() == stored


def test_keys_belong_to_one_api_key_and_one_route(service: Service, platform_key: str) -> None:
    snapshot, key = unique_snapshot(), new_key()
    other_key = service.new_key("platform")
    bodies = []
    for api_key, path, body in ((platform_key, "/v1/score", snapshot),
                                (other_key, "/v1/score", snapshot),
                                (platform_key, "/v1/score/batch", {"snapshots": [snapshot]})):
        with service.client(api_key) as client:
            response = client.post(path, json=body, headers={"Idempotency-Key": key})
        assert response.status_code == 200, response.text
        bodies.append(response.content)
    assert len(set(bodies)) == 3  # three requests, three answers: none replayed another


def test_concurrent_duplicates_store_once_and_all_get_its_answer(
    service: Service, platform_key: str
) -> None:
    snapshot, key = unique_snapshot(), new_key()
    before = service.count()

    def send(_: int) -> tuple[int, bytes]:
        with service.client(platform_key) as client:
            response = client.post("/v1/score", json=snapshot, headers={"Idempotency-Key": key})
        return response.status_code, response.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {status for status, _ in answers} == {200}, answers
    assert len({body for _, body in answers}) == 1
    assert service.count() == before + 1


def test_batch_and_trust_check_replay_too(service: Service, platform_key: str) -> None:
    recruiter = service.new_key("recruiter")
    batch = {"snapshots": [unique_snapshot(), unique_snapshot()]}
    check = trust_body(unique_snapshot())
    with service.client(platform_key) as client:
        key = new_key()
        first = client.post("/v1/score/batch", json=batch, headers={"Idempotency-Key": key})
        stored = service.count()
        again = client.post("/v1/score/batch", json=batch, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert service.count() == stored
    with service.client(recruiter) as client:
        key = new_key()
        first = client.post("/v1/trust-check", json=check, headers={"Idempotency-Key": key})
        kept = reports(service)
        again = client.post("/v1/trust-check", json=check, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201, again.text
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert reports(service) == kept


def test_an_expired_key_scores_and_stores_again(service: Service, platform_key: str) -> None:
    snapshot, key = unique_snapshot(), new_key()
    with service.client(platform_key) as client:
        first = client.post("/v1/score", json=snapshot, headers={"Idempotency-Key": key})
        with service.database.transaction() as session:
            session.execute(update(IdempotencyRecord)
                            .where(IdempotencyRecord.idempotency_key == key)
                            .values(expires_at=utc_now() - timedelta(seconds=1)))
        stored = service.count()
        again = client.post("/v1/score", json=snapshot, headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert orjson.loads(again.content)["assessment_id"] != orjson.loads(first.content)[
        "assessment_id"]
    assert service.count() == stored + 1


def test_dry_runs_are_not_recorded(service: Service, platform_key: str) -> None:
    snapshot, key = unique_snapshot(), new_key()
    with service.client(platform_key) as client:
        for _ in range(2):
            response = client.post("/v1/score", params={"store": "false"}, json=snapshot,
                                   headers={"Idempotency-Key": key})
            assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    with service.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord).where(
            IdempotencyRecord.idempotency_key == key)) == 0


@pytest.mark.parametrize("bad", ["", "x" * 256, "with space", "caf\u00e9"])
def test_a_malformed_key_is_a_client_error(service: Service, platform_key: str,
                                           bad: str) -> None:
    with service.client(platform_key) as client:
        response = client.post("/v1/score", json=unique_snapshot(),
                               headers={"Idempotency-Key": bad.encode("utf-8")})
    assert response.status_code == 422, response.text
