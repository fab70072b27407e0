"""Persistence: the ORM tables, the engine per settings, data functions and migrations."""

# Tables defined beside their data functions register on ``models.Base.metadata``
# when imported; importing them here keeps the metadata (migrations, checks) whole.
from trueclout.service.db import edges, feedback, idempotency, snapshots, trust  # noqa: F401
