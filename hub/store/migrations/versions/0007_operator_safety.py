"""operator safety: held writes, approvals, dead-letter discards (issue 17)

Revision ID: 0007
Revises: 0006

Reserved in order so work on parallel issues chains linearly; the owner fills it in.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import hub.store.types  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # A sink an operator approved (``hub approve``): its writes then flow instead of being
    # held for preview. Held rows themselves are outbox rows with status 'held', and
    # discarded dead letters status 'discarded' (status is a free string column).
    op.create_table(
        "sink_approvals",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("approved_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("connector", "sink", name=op.f("pk_sink_approvals")),
    )


def downgrade() -> None:
    op.drop_table("sink_approvals")
