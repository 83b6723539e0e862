"""on SQLite, inbound_messages.raw becomes the table's last column

Revision ID: 0011
Revises: 0010

SQLite writes a zeroblob without building it in memory only when it is the last value of the
record: that is how a 25 MB mail goes in a megabyte at a time (model/blobs.py). Anywhere else
the insert builds the whole record, 70 MB for a 34 MB mail. PostgreSQL keeps large values out
of line whatever their place, so only SQLite changes. The column is moved by adding a new one
and dropping the old (SQLite >= 3.35), not by rebuilding the table: dropping a table that other
rows reference would run their ON DELETE actions (foreign keys are on). A later migration that
adds a column to inbound_messages on SQLite must move raw last again
(tests/integration/test_migrations.py checks it).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    "ALTER TABLE inbound_messages ADD COLUMN raw_last BLOB",
    "UPDATE inbound_messages SET raw_last = raw WHERE raw IS NOT NULL",
    "ALTER TABLE inbound_messages DROP COLUMN raw",
    "ALTER TABLE inbound_messages RENAME COLUMN raw_last TO raw",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    pass  # the order of columns means nothing to the schema: nothing to undo
