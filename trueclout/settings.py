"""All configuration in one place, read from ``TRUECLOUT_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trueclout"


class Settings(BaseSettings):
    """Every command (serve, keys, score, train, ...) reads the same settings.

    ``data_dir`` holds the SQLite database, the model registry and stored
    reports; ``database_url`` overrides the database (PostgreSQL in production).
    """

    model_config = SettingsConfigDict(env_prefix="TRUECLOUT_", extra="ignore")

    mode: Literal["local", "production"] = "local"
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    models_dir: Path | None = None
    log_level: str = "INFO"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or (self.data_dir / "models")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trueclout.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
