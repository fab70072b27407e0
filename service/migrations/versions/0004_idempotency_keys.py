"""Idempotency keys: a retried POST returns its first answer instead of storing again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.String(300), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("api_key_id", "idempotency_key", "route",
                            name="uq_idempotency_keys_key_route"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.create_table(
        "idempotency_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Integer(),
                  sa.ForeignKey("idempotency_keys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
    )
    op.create_index("ix_idempotency_accounts_record_id", "idempotency_accounts", ["record_id"])
    op.create_index("ix_idempotency_accounts_account", "idempotency_accounts",
                    ["platform", "account_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_accounts_account", table_name="idempotency_accounts")
    op.drop_index("ix_idempotency_accounts_record_id", table_name="idempotency_accounts")
    op.drop_table("idempotency_accounts")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
