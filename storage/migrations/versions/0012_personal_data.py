"""personal data: when a contact was forgotten, and who saw or exported whose data

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "personal_data_access",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_access_contact", ["contact_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_personal_data_access_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_access_at"))
        batch_op.drop_index("ix_personal_data_access_contact")
    op.drop_table("personal_data_access")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("forgotten_at")
