"""Keys and scopes: 401 without a valid key, 403 without the scope, 429 over the rate.

Nothing is stored for a refused request.
"""

from __future__ import annotations

import pytest

from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.service.db.keys import revoke_key


def _revoke(service: Service, secret: str) -> None:
    from sqlalchemy import select

    from trueclout.service.db.keys import hash_secret
    from trueclout.service.db.models import ApiKey

    def revoke(*, session):  # type: ignore[no-untyped-def]
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_secret(secret)))
        revoke_key(session=session, key_id=key_id)

    service.database.call(revoke)


@pytest.mark.parametrize("header", [None, "Bearer tc_not-a-real-key", "Basic dXNlcjpwYXNz",
                                    "Bearer"])
def test_missing_or_unknown_keys_are_401(service: Service, header: str | None) -> None:
    before = service.count()
    headers = {"Authorization": header} if header else {}
    with service.client() as client:
        response = client.post("/v1/score", json=unique_snapshot(), headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert service.count() == before


def test_a_revoked_key_is_401(service: Service) -> None:
    key = service.new_key("platform")
    with service.client(key) as client:
        assert client.post("/v1/score?store=false", json=unique_snapshot()).status_code == 200
        _revoke(service, key)
        assert_error(client.post("/v1/score", json=unique_snapshot()), 401, "unauthorized")


@pytest.mark.parametrize(("scopes", "method", "path", "allowed"), [
    (("recruiter",), "POST", "/v1/score", False),
    (("analyst",), "POST", "/v1/score", False),
    (("analyst",), "POST", "/v1/score/batch", False),
    (("recruiter",), "GET", "/v1/accounts/twitter/acct-1/history", False),
    (("analyst",), "GET", "/v1/accounts/twitter/acct-1/history", True),
    (("platform",), "GET", "/v1/accounts/twitter/acct-1/history", True),
    (("recruiter",), "GET", "/v1/models/active", True),
])
def test_scopes(service: Service, scopes: tuple[str, ...], method: str, path: str,
                allowed: bool) -> None:
    before = service.count()
    body = {"snapshots": [unique_snapshot()]} if path.endswith("batch") else unique_snapshot()
    with service.client(service.new_key(*scopes)) as client:
        response = client.request(method, path, json=body if method == "POST" else None)
    if allowed:
        assert response.status_code == 200, response.text
    else:
        error = assert_error(response, 403, "forbidden")
        assert "scope" in error["message"]
        assert service.count() == before


def test_rate_limit_answers_429_with_retry_after(sqlite_service: Service) -> None:
    # 0.5 requests/s with a 2 s burst: one request, then a wait of two seconds.
    key = sqlite_service.new_key("platform", rate=0.5)
    before = sqlite_service.count()
    with sqlite_service.client(key) as client:
        assert client.post("/v1/score", json=unique_snapshot()).status_code == 200
        response = client.post("/v1/score", json=unique_snapshot())
    error = assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "2"
    assert "retry in 2 s" in error["message"]
    assert sqlite_service.count() == before + 1


def test_each_key_has_its_own_bucket(sqlite_service: Service) -> None:
    slow = sqlite_service.new_key("platform", rate=0.5)
    other = sqlite_service.new_key("platform", rate=0.5)
    with sqlite_service.client(slow) as a, sqlite_service.client(other) as b:
        assert a.post("/v1/score?store=false", json=unique_snapshot()).status_code == 200
        assert a.post("/v1/score?store=false", json=unique_snapshot()).status_code == 429
        assert b.post("/v1/score?store=false", json=unique_snapshot()).status_code == 200
