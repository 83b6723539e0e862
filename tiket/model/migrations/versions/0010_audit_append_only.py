"""the access audit refuses UPDATE and DELETE in the database itself, not only in the ORM

Revision ID: 0010
Revises: 0009

Triggers are not part of the models' metadata, so `compare_metadata` does not see them. On
SQLite a later batch migration that rebuilds `access_audit` drops them: recreate them there.
TRUNCATE is left to the table owner (PostgreSQL fires no row trigger for it).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "the access audit is append-only"

POSTGRES_UP = (
    f"""
    CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER access_audit_append_only BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_append_only()
    """,
)
POSTGRES_DOWN = (
    "DROP TRIGGER IF EXISTS access_audit_append_only ON access_audit",
    "DROP FUNCTION IF EXISTS access_audit_append_only()",
)
SQLITE_UP = tuple(
    f"""
    CREATE TRIGGER access_audit_no_{verb.lower()} BEFORE {verb} ON access_audit
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({verb} refused)'); END
    """
    for verb in ("UPDATE", "DELETE")
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS access_audit_no_update",
    "DROP TRIGGER IF EXISTS access_audit_no_delete",
)


def _statements(up: bool) -> tuple[str, ...]:
    if op.get_bind().dialect.name == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    return POSTGRES_UP if up else POSTGRES_DOWN


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
