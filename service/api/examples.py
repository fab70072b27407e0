"""Request examples for ``/docs``, taken from whatever ``data/samples/*.json`` holds at startup."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from trueclout.contract import AccountSnapshot
from trueclout.data import SAMPLES_DIR

log = logging.getLogger("trueclout.service")

# Bigger samples would make /openapi.json slow to load in a browser.
MAX_EXAMPLE_BYTES = 256 * 1024


def load_examples(directory: Path = SAMPLES_DIR) -> dict[str, dict[str, Any]]:
    """OpenAPI ``examples`` (name -> summary, value) of every valid sample snapshot.

    Files that are missing, too large, not JSON objects or not valid snapshots
    are skipped with a warning: examples must never stop the service starting.
    """
    examples: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return examples
    for path in sorted(directory.glob("*.json")):
        try:
            if path.stat().st_size > MAX_EXAMPLE_BYTES:
                continue
            doc = orjson.loads(path.read_bytes())
            AccountSnapshot.model_validate(doc)
        except (OSError, orjson.JSONDecodeError, ValidationError) as exc:
            log.warning("sample skipped as a docs example", extra={"fields": {
                "file": path.name, "reason": exc.__class__.__name__}})
            continue
        examples[path.stem] = {"summary": f"data/samples/{path.name}", "value": doc}
    return examples
