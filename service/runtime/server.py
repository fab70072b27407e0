"""What `trueclout serve` does before and around uvicorn: safety checks, migrations, local keys."""

from __future__ import annotations

import os
import shutil
import tempfile

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from trueclout.errors import UserError
from trueclout.service.db import migrate
from trueclout.service.db.engine import Database, normalise_url
from trueclout.service.db.keys import SCOPES, create_key, revoke_keys_named
from trueclout.service.runtime.logs import uvicorn_log_config
from trueclout.service.runtime.metrics import MULTIPROC_ENV
from trueclout.service.scoring.offload import threads_per_worker
from trueclout.settings import Settings

LOCAL_KEY_NAME = "local mode"
SCORING_THREADS_ENV = "TRUECLOUT_SCORING_THREADS"


def describe_database(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(normalise_url(settings.resolved_database_url)).render_as_string(
            hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
        return "(unparseable TRUECLOUT_DATABASE_URL)"


def prepare_database(settings: Settings) -> Database:
    """Refuse unsafe production settings, then bring the database to the newest revision."""
    problems = settings.unsafe_for_production()
    if problems:
        raise UserError("; ".join(problems))
    database = Database.from_settings(settings)
    try:
        migrate.upgrade(database.engine)
    except SQLAlchemyError as exc:
        database.dispose()
        raise UserError(f"cannot reach or upgrade the database {describe_database(settings)}: "
                        f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from exc
    return database


def issue_local_key(database: Database) -> str:
    """A fresh key with every scope; the previous local-mode keys are revoked first."""

    def rotate(*, session) -> str:  # type: ignore[no-untyped-def]
        revoke_keys_named(session=session, name=LOCAL_KEY_NAME)
        _, secret = create_key(session=session, scopes=SCOPES, name=LOCAL_KEY_NAME)
        return secret

    return database.call(rotate)


def run_server(app_factory: str, *, host: str, port: int, workers: int, log_level: str) -> None:
    """uvicorn with ``workers`` processes; several workers share metrics through a temp folder."""
    import uvicorn

    own_metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        own_metrics_dir = tempfile.mkdtemp(prefix="trueclout-metrics-")
        os.environ[MULTIPROC_ENV] = own_metrics_dir
    # Each worker scores on its share of the cores (``offload.threads_per_worker``).
    own_threads = SCORING_THREADS_ENV not in os.environ
    if own_threads:
        os.environ[SCORING_THREADS_ENV] = str(threads_per_worker(workers))
    try:
        # The service logs each request itself (JSON, no payload): no uvicorn access log.
        uvicorn.run(app_factory, factory=True, host=host, port=port, workers=workers,
                    log_config=uvicorn_log_config(log_level), access_log=False)
    finally:
        if own_threads:
            os.environ.pop(SCORING_THREADS_ENV, None)
        if own_metrics_dir is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
