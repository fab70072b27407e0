"""Structured logs: one JSON object per line on stderr, fields passed as ``extra={"fields": ...}``.

Nothing here ever logs a request or response body; callers pass identifiers
and measurements only.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

_MARK = "_trueclout_json"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """Route the ``trueclout`` loggers to stderr as JSON lines (once per process)."""
    logger = logging.getLogger("trueclout")
    logger.setLevel(level.upper())
    if any(getattr(h, _MARK, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _MARK, True)
    logger.addHandler(handler)


def uvicorn_log_config(level: str = "INFO") -> dict:
    """uvicorn's own lines (startup, shutdown, errors) as JSON too, so every line parses."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "loggers": {"uvicorn": {"handlers": ["stderr"], "level": level.upper(),
                                "propagate": False}},
    }
