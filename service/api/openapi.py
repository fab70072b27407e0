"""The published OpenAPI document.

Scoring routes read their body raw and validate it with
``AccountSnapshot.model_validate_json`` (fast, exact field paths), so FastAPI
cannot see their body model; this module publishes it: the snapshot schema
goes into ``components`` and each such route's ``requestBody`` points at it,
with examples from ``data/samples``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from trueclout.contract import AccountSnapshot

COMPONENTS = "#/components/schemas/"
SNAPSHOT_REF = COMPONENTS + "AccountSnapshot"
BATCH_REF = COMPONENTS + "ScoreBatchRequest"


def json_request_body(schema: str | dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body raw: the component ``schema``
    names (a ``$ref``), or the JSON Schema itself."""
    if isinstance(schema, str):
        schema = {"$ref": schema}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _input_components(max_batch_items: int) -> dict[str, Any]:
    _, top = models_json_schema([(AccountSnapshot, "validation")],
                                ref_template=COMPONENTS + "{model}")
    components = dict(top["$defs"])
    components["ScoreBatchRequest"] = {
        "title": "ScoreBatchRequest",
        "type": "object",
        "additionalProperties": False,
        "required": ["snapshots"],
        "properties": {"snapshots": {"type": "array", "items": {"$ref": SNAPSHOT_REF},
                                     "minItems": 1, "maxItems": max_batch_items}},
    }
    return components


def build_openapi(
    app: FastAPI, *, max_batch_items: int, examples: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes, tags=app.openapi_tags)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _input_components(max_batch_items).items():
        if name in schemas and schemas[name] != schema:
            raise RuntimeError(f"two different OpenAPI schemas are both called {name!r}")
        schemas[name] = schema
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json")
            if not body or not examples:
                continue
            ref = body.get("schema", {}).get("$ref")
            if ref == SNAPSHOT_REF:
                body["examples"] = examples
            elif ref == BATCH_REF:
                body["examples"] = {
                    "samples": {"summary": "every sample in data/samples",
                                "value": {"snapshots": [e["value"] for e in examples.values()]
                                          [:max_batch_items]}}}
    app.openapi_schema = doc
    return doc
