"""sms and whatsapp: opt-outs, inbound media, delivery status of texts

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tiket.model.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_opt_outs",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_text_opt_outs")),
    )
    op.create_table(
        "inbound_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_inbound_media_inbound_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_media")),
        sa.UniqueConstraint("inbound_id", "position", name=op.f("uq_inbound_media_inbound_id")),
    )
    op.create_index(
        op.f("ix_inbound_media_inbound_id"), "inbound_media", ["inbound_id"], unique=False
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("delivery_status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("delivery_error", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("delivery_updated_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("delivery_updated_at")
        batch.drop_column("delivery_error")
        batch.drop_column("delivery_status")
    op.drop_index(op.f("ix_inbound_media_inbound_id"), table_name="inbound_media")
    op.drop_table("inbound_media")
    op.drop_table("text_opt_outs")
