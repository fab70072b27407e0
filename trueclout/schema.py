"""The published JSON Schemas (data/schema/), generated from the pydantic models.

Regenerate them with ``trueclout dev schema`` (``--check`` only compares).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot

PUBLISHED: dict[str, type[BaseModel]] = {
    "account_snapshot.v1.json": AccountSnapshot,
    "assessment.v1.json": Assessment,
}


def render(model: type[BaseModel], mode: str) -> str:
    schema = model.model_json_schema(mode=mode)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def generated() -> dict[str, str]:
    """File name -> schema text; snapshots are inputs, assessments outputs."""
    return {
        name: render(model, "validation" if model is AccountSnapshot else "serialization")
        for name, model in PUBLISHED.items()
    }


def write(directory: Path) -> list[Path]:
    """Write every published schema into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """Names of the published schemas missing from ``directory`` or differing from the models."""
    out = []
    for name, text in generated().items():
        path = directory / name
        if not path.is_file() or path.read_text() != text:
            out.append(name)
    return out
