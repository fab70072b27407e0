"""Builds the FastAPI application; routes live in their own modules."""

from __future__ import annotations

from fastapi import FastAPI

from trueclout import __version__
from trueclout.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="TrueClout",
        version=__version__,
        description="Is this influence real? Adjusted scores, manipulation risk and reasons.",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app
