"""The published OpenAPI: request bodies, error responses and examples from data/samples."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from tests.factories import snapshot_dict
from tests.service.conftest import Service
from trueclout.service.api import examples as samples


def _openapi(service: Service) -> dict:
    with service.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_scoring_bodies_are_published_with_the_snapshot_schema(sqlite_service: Service) -> None:
    doc = _openapi(sqlite_service)
    score = doc["paths"]["/v1/score"]["post"]
    body = score["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AccountSnapshot"}
    snapshot = doc["components"]["schemas"]["AccountSnapshot"]
    assert snapshot["additionalProperties"] is False
    assert {"account_id", "platform", "observed_at", "profile"} <= set(snapshot["required"])
    batch = doc["components"]["schemas"]["ScoreBatchRequest"]
    assert batch["properties"]["snapshots"]["maxItems"] == sqlite_service.settings.max_batch_items
    for status in ("401", "403", "413", "422", "429", "503"):
        ref = score["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody"
    assert score["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Assessment"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_docs_page_is_served(sqlite_service: Service) -> None:
    with sqlite_service.client() as client:
        response = client.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"),
                                              ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_only_assets_the_service_serves(sqlite_service: Service, page: str,
                                                        script: str) -> None:
    """Without the internet /docs and /redoc still work: no CDN, every asset same-origin."""
    with sqlite_service.client() as client:
        html = client.get(page).text
        assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        assert any(url.endswith(script) for url in assets), assets
        assert "//" not in "".join(assets) and "cdn" not in html.lower(), assets
        for url in assets:
            response = client.get(url)
            assert response.status_code == 200 and len(response.content) > 100, url


def test_examples_come_from_valid_samples_and_bad_ones_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "small_account.json").write_bytes(orjson.dumps(snapshot_dict()))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "invalid.json").write_bytes(orjson.dumps({"account_id": "x"}))
    (tmp_path / "notes.txt").write_text("not a sample")
    examples = samples.load_examples(tmp_path)
    assert list(examples) == ["small_account"]
    assert examples["small_account"]["value"]["account_id"] == "acct-1"
    assert samples.load_examples(tmp_path / "missing") == {}


@pytest.mark.skipif(not list(samples.SAMPLES_DIR.glob("*.json")),
                    reason="no data/samples/*.json yet")
def test_shipped_samples_appear_in_the_docs(sqlite_service: Service) -> None:
    body = _openapi(sqlite_service)["paths"]["/v1/score"]["post"]["requestBody"]
    examples = body["content"]["application/json"].get("examples", {})
    assert set(examples) == set(samples.load_examples())


def test_sample_files_become_request_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from tests.service.conftest import running
    from tests.service.doubles import DeterministicTestScorer
    from trueclout.service.runtime import app as app_module
    from trueclout.settings import Settings

    (tmp_path / "tiny.json").write_bytes(orjson.dumps(snapshot_dict(account_id="tiny")))
    monkeypatch.setattr(app_module, "load_examples", lambda: samples.load_examples(tmp_path))
    app = app_module.create_app(Settings(data_dir=tmp_path), scorer=DeterministicTestScorer())
    with running(app) as base_url:
        doc = httpx.get(base_url + "/openapi.json").json()
    score = doc["paths"]["/v1/score"]["post"]["requestBody"]["content"]["application/json"]
    assert score["examples"]["tiny"]["value"]["account_id"] == "tiny"
    batch = doc["paths"]["/v1/score/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert [s["account_id"] for s in batch["examples"]["samples"]["value"]["snapshots"]] == [
        "tiny"]
