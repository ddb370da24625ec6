"""inbox queues: each update is filed on receipt for the citizens' worker or the operators' groups'

Rows already stored stay with the citizens; at startup Okno moves the pending ones of its operators'
groups to the desk's queue (only the running settings know which chats those are).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-17 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queue", sa.String(length=16), server_default="citizens", nullable=False)
        )
        batch_op.create_index("ix_inbox_updates_queue", ["queue", "done", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_updates_queue")
        batch_op.drop_column("queue")
