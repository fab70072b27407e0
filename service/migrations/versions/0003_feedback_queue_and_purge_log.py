"""The analysts' queue (feedback labels and disputes) and the purge log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feedback_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(32), nullable=True),
        sa.Column("tactics", JSON, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("assessment_id", sa.String(64), nullable=True),
        sa.Column("report_id", sa.String(64), nullable=True),
        sa.Column("derived_from", sa.String(32), nullable=True),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("reviewed_by_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"),
                  nullable=True),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_feedback_items_account", "feedback_items", ["platform", "account_id"])
    op.create_index("ix_feedback_items_queue", "feedback_items", ["kind", "status", "created_at"])
    op.create_index("ix_feedback_items_created_at", "feedback_items", ["created_at"])
    op.create_index("ix_feedback_items_assessment_id", "feedback_items", ["assessment_id"])
    op.create_index("ix_feedback_items_report_id", "feedback_items", ["report_id"])
    op.create_index("ix_feedback_items_derived_from", "feedback_items", ["derived_from"])
    op.create_index("ix_feedback_items_api_key_id", "feedback_items", ["api_key_id"])

    op.create_table(
        "purge_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("purge_log")
    for name in ("api_key_id", "derived_from", "report_id", "assessment_id", "created_at",
                 "queue", "account"):
        op.drop_index(f"ix_feedback_items_{name}", table_name="feedback_items")
    op.drop_table("feedback_items")
