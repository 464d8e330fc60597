"""convergence: outbox kinds and due times, destination reviews (issue 13)

Revision ID: 0004
Revises: 0003

The outbox remembers which canonical names each rendering covered, so pending renderings of
one contact for one destination collapse into one covering their union; an index finds a
contact's renderings per destination.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import hub.store.types  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("changed", JSON, nullable=True))
        batch.create_index("ix_outbox_destination_contact", ["connector", "sink", "contact_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_destination_contact")
        batch.drop_column("changed")
