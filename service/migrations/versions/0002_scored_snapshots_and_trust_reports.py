"""Scored snapshots (kept for a retention period) and trust-check reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scored_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("assessment_id", sa.String(64),
                  sa.ForeignKey("assessments.assessment_id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("stored_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("content_encoding", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
    )
    op.create_index("ix_scored_snapshots_account", "scored_snapshots",
                    ["platform", "account_id"])
    op.create_index("ix_scored_snapshots_expires_at", "scored_snapshots", ["expires_at"])
    op.create_index("ix_scored_snapshots_api_key_id", "scored_snapshots", ["api_key_id"])

    op.create_table(
        "trust_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("handle", sa.String(128), nullable=False),
        sa.Column("claimed_score", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("assessment_id", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
    )
    op.create_index("ix_trust_reports_expires_at", "trust_reports", ["expires_at"])
    op.create_index("ix_trust_reports_api_key_id", "trust_reports", ["api_key_id"])


def downgrade() -> None:
    op.drop_index("ix_trust_reports_api_key_id", table_name="trust_reports")
    op.drop_index("ix_trust_reports_expires_at", table_name="trust_reports")
    op.drop_table("trust_reports")
    op.drop_index("ix_scored_snapshots_api_key_id", table_name="scored_snapshots")
    op.drop_index("ix_scored_snapshots_expires_at", table_name="scored_snapshots")
    op.drop_index("ix_scored_snapshots_account", table_name="scored_snapshots")
    op.drop_table("scored_snapshots")
