"""For any valid snapshot, the API answers with an assessment valid against the published schema.

Scored by the test double: this checks the service's plumbing (parsing,
serialisation, the published schema).  The adjusted-score monotonicity rules
belong to the assessment composition and are tested with it.
"""

from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings

from tests.service.conftest import Service
from tests.strategies import snapshots
from trueclout.contract import AccountSnapshot
from trueclout.data import SCHEMA_DIR

SCHEMA = json.loads((SCHEMA_DIR / "assessment.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(snapshot=snapshots())
def test_every_valid_snapshot_gets_a_schema_valid_assessment(
    sqlite_service: Service, snapshot: AccountSnapshot
) -> None:
    key = _key(sqlite_service)
    with sqlite_service.client(key) as client:
        response = client.post("/v1/score", content=snapshot.model_dump_json())
    assert response.status_code == 200, response.text
    body = response.json()
    VALIDATOR.validate(body)
    assert (body["account_id"], body["platform"], body["raw_score"]) == (
        snapshot.account_id, snapshot.platform, snapshot.raw_score)


_KEYS: dict[str, str] = {}


def _key(service: Service) -> str:
    if service.base_url not in _KEYS:
        _KEYS[service.base_url] = service.new_key("platform")
    return _KEYS[service.base_url]
