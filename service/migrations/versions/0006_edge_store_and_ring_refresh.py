"""The graph of everything scored (edge store) and the ring-table refresher's lock row.

``graph_sources`` holds one row per (platform, account) whose newest stored
snapshot contributed edges, with that snapshot's engagements, reposts made
and post times packed in columns (``service/db/edges.py`` says how).
``ring_refresh_state`` holds one row per refresh job: the lease a worker
takes to refresh, and what the last refresh read and wrote.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "graph_sources",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("observed_at", UTC_TIME, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("stored_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("engagements", sa.Integer(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.Column("id_lengths", sa.LargeBinary(), nullable=False),
        sa.Column("kinds", sa.LargeBinary(), nullable=False),
        sa.Column("times_us", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("platform", "account_id", name="uq_graph_sources_account"),
        # Ids are never reused (SQLite AUTOINCREMENT), so (count, max id, sum of ids)
        # changes whenever the set of sources does: the refresher's "anything new?" test.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_graph_sources_expires_at", "graph_sources", ["expires_at"])
    state = op.create_table(
        "ring_refresh_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", UTC_TIME, nullable=True),
        sa.Column("refreshed_at", UTC_TIME, nullable=True),
        sa.Column("signature", sa.String(200), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("accounts", sa.Integer(), nullable=True),
        sa.Column("edges", sa.BigInteger(), nullable=True),
    )
    op.bulk_insert(state, [{"name": "ring_table"}])


def downgrade() -> None:
    op.drop_table("ring_refresh_state")
    op.drop_index("ix_graph_sources_expires_at", table_name="graph_sources")
    op.drop_table("graph_sources")
