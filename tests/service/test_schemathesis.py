"""Schemathesis against /openapi.json of a live server: no input makes it answer 500.

Bounded: a fixed number of generated requests per operation, valid and
invalid ones, with a key that has every scope.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.service.conftest import Service
from trueclout.service.db.keys import SCOPES

EXAMPLES_PER_OPERATION = 15


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(sqlite_service: Service) -> None:
    schema = schemathesis.openapi.from_url(f"{sqlite_service.base_url}/openapi.json")
    key = sqlite_service.new_key(*SCOPES, rate=100_000)
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13  # every endpoint but the docs and trust-check pages
    for operation in operations:
        takes_input = {"parameters", "requestBody"} & set(operation.definition.raw)
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])
        for mode in modes:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(base_url=sqlite_service.base_url, headers=headers)
                case.validate_response(response, checks=[not_a_server_error])

            no_server_error()
