"""callbacks, routes and ticket links: a ticket's kind, convenient time, category and identifiers; chats
whose repeated request joined an open ticket

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 12:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

OPEN = ("new", "in_progress", "needs_info")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="question", nullable=False)
        )
        batch_op.add_column(sa.Column("callback_time", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("category_title", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("snils", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_tickets_snils", ["snils", "status"], unique=False)
        batch_op.create_index("ix_tickets_phone", ["phone", "status"], unique=False)
    op.create_table(
        "ticket_links",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("matched", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_links_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_links")),
        sa.UniqueConstraint("ticket_id", "channel", "chat_id", name=op.f("uq_ticket_links_ticket_id")),
    )
    op.create_index("ix_ticket_links_chat", "ticket_links", ["channel", "chat_id"], unique=False)
    _identifiers_of_open_tickets()


def _identifiers_of_open_tickets() -> None:
    """Tickets open at the upgrade get their СНИЛС and phone columns from what the citizen gave, so a
    repeated request from another chat finds them too."""
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("identification", sa.JSON()),
        sa.column("snils", sa.String()),
        sa.column("phone", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(tickets.c.id, tickets.c.identification).where(tickets.c.status.in_(OPEN))
    ).all()
    for ticket_id, identification in rows:
        given = identification if isinstance(identification, dict) else {}
        snils = re.sub(r"\D", "", str(given.get("snils") or ""))
        phone = re.sub(r"\D", "", str(given.get("phone") or ""))
        values = {
            "snils": snils if len(snils) == 11 else None,
            "phone": "+7" + phone[-10:] if len(phone) == 11 else None,
        }
        if any(values.values()):
            connection.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(**values))


def downgrade() -> None:
    op.drop_index("ix_ticket_links_chat", table_name="ticket_links")
    op.drop_table("ticket_links")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_phone")
        batch_op.drop_index("ix_tickets_snils")
        batch_op.drop_column("phone")
        batch_op.drop_column("snils")
        batch_op.drop_column("category_title")
        batch_op.drop_column("category")
        batch_op.drop_column("callback_time")
        batch_op.drop_column("kind")
