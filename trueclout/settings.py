"""All configuration in one place, read from ``TRUECLOUT_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from trueclout.errors import UserError


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
    # HMAC key for model cards (models/signing.py): with it set, models are signed when saved
    # and only models signed with it load; at least 32 characters so it cannot be guessed.
    model_signing_key: SecretStr | None = Field(default=None, min_length=32)

    # --- the scoring service (service/; documented in docs/API.md) ---
    # Production refuses the SQLite default unless this opts in explicitly.
    allow_sqlite: bool = False
    # Requests with a larger body get 413 before anything parses them.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=100, ge=1, le=10_000)
    # Token bucket per API key and worker process; 0 turns limiting off.
    # A key created with ``--rate`` overrides the per-second rate.
    rate_limit_per_second: float = Field(default=20.0, ge=0)
    rate_limit_burst_seconds: float = Field(default=2.0, gt=0)
    # Requests without a valid key, per client address and worker process: past this
    # rate they get 429 before any database look-up (an unknown key costs one).
    unauthenticated_rate_per_second: float = Field(default=1.0, ge=0)
    # How long a worker trusts a looked-up key: a revoked key stops working
    # within this many seconds.
    key_cache_seconds: float = Field(default=5.0, ge=0)
    # How long a write waits for a locked database (SQLite busy timeout,
    # PostgreSQL lock_timeout) before the request fails with 503.
    database_timeout_ms: int = Field(default=5_000, ge=1)

    # --- stored snapshots and the recruiter's trust check (docs/TRUST_CHECK.md) ---
    # How long the snapshot behind a stored assessment is kept (for trust checks
    # by assessment id and for analysts' feedback); 0 keeps no snapshots at all.
    snapshot_retention_days: int = Field(default=90, ge=0, le=3650)
    # How long a trust-check report (and its link) stays readable.
    trust_report_ttl_days: int = Field(default=30, ge=1, le=3650)
    # Who to contact to dispute a verdict (an e-mail address or a URL), shown on
    # every report page; None: the page tells people to contact the operator.
    trust_dispute_contact: str | None = Field(default=None, max_length=200)

    # --- analysts' loop: disputes, purges, drift (docs/ANALYSTS.md) ---
    # Disputes a client address may send per hour through the public form on a
    # report page (per worker process; 0 turns the limit off), and how many
    # open disputes one report may collect before further ones wait.
    dispute_rate_per_hour: float = Field(default=20.0, ge=0)
    dispute_max_open_per_report: int = Field(default=3, ge=1, le=100)
    # The server purges expired snapshots and trust reports at start-up and
    # then every this many hours; 0 leaves purging to `trueclout purge --expired`.
    purge_interval_hours: float = Field(default=6.0, ge=0)
    # Recent assessments whose feature distributions /metrics compares with the
    # model's training data (0 turns the drift gauges off), and how often the
    # gauges are brought up to date.
    drift_window_accounts: int = Field(default=1_000, ge=0, le=100_000)
    drift_refresh_seconds: float = Field(default=30.0, gt=0)
    # Requests one server process validates and scores at once (threads); 0: the
    # cores it may run on.  `trueclout serve --workers N` gives each worker its share
    # of the cores unless this is set.
    scoring_threads: int = Field(default=0, ge=0, le=256)

    # --- rings across accounts, looked up at scoring time (docs/API.md) ---
    # The Parquet ring table `trueclout rings` writes; default <data_dir>/ring_table.parquet.
    # Servers check it for changes at most every ring_table_check_seconds.
    ring_table: Path | None = None
    ring_table_check_seconds: float = Field(default=5.0, ge=0)
    # The server recomputes that table from the edge store (everything scored and
    # stored) when the store changed: each worker checks every this many seconds and
    # one at a time refreshes (`trueclout rings refresh`, a child process); 0 turns
    # it off, leaving the table to `trueclout rings`.  With a Dask scheduler address
    # the store is read on that cluster.
    ring_refresh_seconds: float = Field(default=600.0, ge=0)
    ring_refresh_scheduler: str | None = None

    @property
    def resolved_ring_table(self) -> Path:
        return self.ring_table or (self.data_dir / "ring_table.parquet")

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or (self.data_dir / "models")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trueclout.db'}"

    def unsafe_for_production(self) -> list[str]:
        """What a production server must not run with; empty when the settings are safe.

        Checked by the commands that serve or manage keys rather than on every
        construction, so that offline commands keep working in any mode.
        """
        if self.mode != "production":
            return []
        problems = []
        if self.resolved_database_url.startswith("sqlite") and not self.allow_sqlite:
            problems.append(
                "production mode needs TRUECLOUT_DATABASE_URL (PostgreSQL); "
                "set TRUECLOUT_ALLOW_SQLITE=1 to accept a SQLite file knowingly, "
                "or run in local mode (--local)"
            )
        return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment; a bad variable is the user's error, named."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TRUECLOUT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise UserError(f"invalid settings: {problems}") from exc
