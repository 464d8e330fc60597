"""delivery bookkeeping: echo-suppression values on links, claims and values on outbox

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

import hub.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("last_written_values", JSON, nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_at", hub.store.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("written_values", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("written_values")
        batch.drop_column("claimed_at")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("last_written_values")
