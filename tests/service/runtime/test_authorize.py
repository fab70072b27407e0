"""``authorize``: the one gate for a key, from a bearer header (API) or a form field (pages)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from trueclout.service.db.keys import KeyInfo
from trueclout.service.runtime.auth import KeyRefused, authorize
from trueclout.service.runtime.ratelimit import RateLimiter

KEYS = {"tc_platform": KeyInfo(7, "p", frozenset({"platform"}), 0.5)}


class FakeKeys:
    def __init__(self) -> None:
        self.lookups = 0

    def cached(self, secret: str) -> KeyInfo | None:
        return None

    async def lookup(self, secret: str) -> KeyInfo | None:
        self.lookups += 1
        return KEYS.get(secret)


def request(unauthenticated_rate: float = 0.0, address: str = "192.0.2.1") -> Any:
    limiter = RateLimiter(default_rate=100.0, burst_seconds=2.0, clock=lambda: 1000.0,
                          unauthenticated_rate=unauthenticated_rate)
    state = SimpleNamespace(keys=FakeKeys(), limiter=limiter)
    return SimpleNamespace(app=SimpleNamespace(state=state), state=SimpleNamespace(),
                           client=SimpleNamespace(host=address))


def refusal(req: Any, secret: str | None, scopes: tuple[str, ...]) -> KeyRefused:
    with pytest.raises(KeyRefused) as caught:
        asyncio.run(authorize(req, secret, scopes))
    return caught.value


@pytest.mark.parametrize(("secret", "scopes", "reason", "status", "code"), [
    (None, ("platform",), "missing", 401, "unauthorized"),
    ("", ("platform",), "missing", 401, "unauthorized"),
    ("tc_unknown", ("platform",), "invalid", 401, "unauthorized"),
    ("tc_platform", ("recruiter",), "scope", 403, "forbidden"),
])
def test_refusals_carry_the_api_error_and_a_reason_for_pages(
    secret: str | None, scopes: tuple[str, ...], reason: str, status: int, code: str
) -> None:
    refused = refusal(request(), secret, scopes)
    assert (refused.reason, refused.status, refused.code) == (reason, status, code)
    if status == 401:
        assert refused.headers == {"WWW-Authenticate": "Bearer"}


def test_the_key_is_known_to_the_request_before_its_scope_is_checked() -> None:
    req = request()
    refusal(req, "tc_platform", ("analyst", "recruiter"))
    assert req.state.key_id == 7


def test_the_rate_is_the_keys_own_and_says_how_long_to_wait() -> None:
    req = request()
    assert asyncio.run(authorize(req, "tc_platform", ("platform",))).id == 7
    refused = refusal(req, "tc_platform", ("platform",))
    assert (refused.reason, refused.status, refused.retry_after) == ("rate", 429, 2)
    assert refused.headers == {"Retry-After": "2"}
    assert "retry in 2 s" in refused.message


def test_requests_without_a_valid_key_are_limited_per_address_before_any_lookup() -> None:
    req = request(unauthenticated_rate=1.0)  # burst 2 s: two failures, then 429
    for _ in range(2):
        assert refusal(req, "tc_guess", ("platform",)).status == 401
    lookups = req.app.state.keys.lookups
    refused = refusal(req, "tc_another_guess", ("platform",))
    assert (refused.reason, refused.status, refused.headers["Retry-After"]) == ("rate", 429, "1")
    assert req.app.state.keys.lookups == lookups  # refused without asking the database
    assert refusal(req, None, ("platform",)).status == 429
    other = request(unauthenticated_rate=1.0, address="192.0.2.2")
    assert refusal(other, "tc_guess", ("platform",)).status == 401
