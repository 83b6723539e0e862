"""the access audit of who was shown personal data

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tiket.model.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("ticket_number", sa.String(length=16), nullable=True),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_audit")),
    )
    op.create_index("ix_access_audit_ticket", "access_audit", ["ticket_number", "created_at"])
    op.create_index("ix_access_audit_requester", "access_audit", ["requester_id", "created_at"])
    op.create_index(op.f("ix_access_audit_created_at"), "access_audit", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_access_audit_created_at"), table_name="access_audit")
    op.drop_index("ix_access_audit_requester", table_name="access_audit")
    op.drop_index("ix_access_audit_ticket", table_name="access_audit")
    op.drop_table("access_audit")
