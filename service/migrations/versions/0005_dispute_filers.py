"""Who holds a report's dispute slots: a per-report digest of the public filer's connection.

A public dispute (sent with the report link only) records ``filer_digest``,
sha256 of the report id and the client's address: one connection may hold
one open dispute per report, and the digest cannot be matched across
reports.  A dispute sent with the key that ran the check records that key in
``api_key_id`` (the column exists) and is never refused for a full report.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_items") as batch:
        batch.add_column(sa.Column("filer_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_items") as batch:
        batch.drop_column("filer_digest")
