"""reports: holidays, SLA targets, ticket metrics and notices, job runs; report indexes

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tiket.model.base import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Reports count tickets by when they came in, were resolved and closed, per team, category,
# channel and requester: covering indexes let them read the index alone, never the rows.
TICKET_INDEXES = (
    ("ix_tickets_report_answered", ["first_response_at", "team_id"]),
    (
        "ix_tickets_report_created",
        ["created_at", "team_id", "category_id", "channel", "requester_id"],
    ),
    ("ix_tickets_report_resolved", ["resolved_at", "team_id"]),
    (
        "ix_tickets_report_closed",
        ["closed_at", "team_id", "category_id", "channel", "requester_id"],
    ),
)
METRIC_INDEXES = (
    (
        "ix_ticket_metrics_first_response",
        ["first_response_at", "team_id", "first_response_minutes", "first_response_met"],
    ),
    (
        "ix_ticket_metrics_resolution",
        ["resolved_at", "team_id", "resolution_minutes", "resolution_met"],
    ),
)


def upgrade() -> None:
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("day", name=op.f("uq_holidays_day")),
    )
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
        sa.UniqueConstraint("category", "priority", name=op.f("uq_sla_targets_category")),
    )
    op.create_table(
        "ticket_metrics",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("first_response_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_metrics_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_metrics")),
    )
    op.create_table(
        "ticket_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_notices_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notices")),
        sa.UniqueConstraint("ticket_id", "notice", name=op.f("uq_ticket_notices_ticket_id")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name=op.f("uq_job_runs_job")),
    )
    op.create_index(op.f("ix_job_runs_started_at"), "job_runs", ["started_at"])
    op.create_table(
        "job_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_job_sends_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_sends")),
        sa.UniqueConstraint("job", "period", "recipient", name=op.f("uq_job_sends_job")),
    )
    for name, columns in TICKET_INDEXES:
        op.create_index(name, "tickets", columns)
    for name, columns in METRIC_INDEXES:
        op.create_index(name, "ticket_metrics", columns)
    op.create_index("ix_events_kind_created_at", "events", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_kind_created_at", table_name="events")
    for name, _ in TICKET_INDEXES:
        op.drop_index(name, table_name="tickets")
    for name, _ in METRIC_INDEXES:
        op.drop_index(name, table_name="ticket_metrics")
    op.drop_table("job_sends")
    op.drop_index(op.f("ix_job_runs_started_at"), table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("ticket_notices")
    op.drop_table("ticket_metrics")
    op.drop_table("sla_targets")
    op.drop_table("holidays")
