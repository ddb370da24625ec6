"""partitions: each queue row carries its chat's partition, so that processes can share the work

The pending rows already stored get theirs here (done rows keep 0: nobody reads them again).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:00:00
"""

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

PARTITIONS = 32  # storage.partitions.PARTITIONS, copied: a migration must not change with the code
TABLES = ("inbox_updates", "outbox_messages", "handoff_jobs")
PENDING = {
    "inbox_updates": "SELECT id, chat_key FROM inbox_updates WHERE NOT done",
    "outbox_messages": (
        "SELECT id, channel || ':' || chat_id FROM outbox_messages WHERE NOT sent AND failed IS NULL"
    ),
    "handoff_jobs": "SELECT id, channel || ':' || chat_id FROM handoff_jobs WHERE NOT done",
}


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("part", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_table(
        "partition_handovers",
        sa.Column("part", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("part"),
    )
    connection = op.get_bind()
    for name, query in PENDING.items():
        rows = connection.execute(sa.text(query)).all()
        values = [
            {"id": row_id, "part": zlib.crc32(str(key).encode("utf-8", "replace")) % PARTITIONS}
            for row_id, key in rows
        ]
        if values:
            connection.execute(sa.text(f"UPDATE {name} SET part = :part WHERE id = :id"), values)


def downgrade() -> None:
    op.drop_table("partition_handovers")
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("part")
