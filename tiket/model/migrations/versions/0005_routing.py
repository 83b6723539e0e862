"""routing rules, shares, watchers, technician addresses, merged and follow-up tickets

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tiket.model.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("match", JSON, nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("stop", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_rules_name")),
    )
    op.create_index(op.f("ix_rules_position"), "rules", ["position"])
    op.create_table(
        "ticket_shares",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name=op.f("fk_ticket_shares_ticket_id_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            ondelete="CASCADE",
            name=op.f("fk_ticket_shares_team_id_teams"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", "team_id", name=op.f("pk_ticket_shares")),
    )
    op.create_table(
        "watchers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name=op.f("fk_watchers_ticket_id_tickets"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", "address", name=op.f("pk_watchers")),
    )
    op.create_table(
        "technician_addresses",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["technicians.id"],
            ondelete="CASCADE",
            name=op.f("fk_technician_addresses_technician_id_technicians"),
        ),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_technician_addresses")),
    )
    op.create_index(
        op.f("ix_technician_addresses_technician_id"), "technician_addresses", ["technician_id"]
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("follows_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_tickets_merged_into_id_tickets"), "tickets", ["merged_into_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_tickets_follows_id_tickets"), "tickets", ["follows_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_follows_id_tickets"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey")
        batch.drop_column("follows_id")
        batch.drop_column("merged_into_id")
    op.drop_index(op.f("ix_technician_addresses_technician_id"), "technician_addresses")
    op.drop_table("technician_addresses")
    op.drop_table("watchers")
    op.drop_table("ticket_shares")
    op.drop_index(op.f("ix_rules_position"), "rules")
    op.drop_table("rules")
