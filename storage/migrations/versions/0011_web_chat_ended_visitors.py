"""web chat hardening: ended visitor tokens, and an index for the files' retention sweep

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_ended_visitors",
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index("ix_web_files_created", "web_files", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_files_created", table_name="web_files")
    op.drop_table("web_ended_visitors")
