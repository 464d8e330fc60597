"""throughput: set-based path support (issue 14)

Revision ID: 0005
Revises: 0004

Reserved in order so work on parallel issues chains linearly; the owner fills it in.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import hub.store.types  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
