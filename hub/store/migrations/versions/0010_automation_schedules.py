"""automation schedules: a cron rule's last instant and firing progress (issue 19)

Revision ID: 0010
Revises: 0009

One row per schedule (cron) rule, so nothing of a schedule lives only in Redis: the last
instant fired (or skipped), the expression and time zone it was computed from, and while a
firing is under way the last contact done. The row is locked while a batch fires, so two
workers never fire one instant twice (hub.automations.schedule).
"""
from alembic import op
import sqlalchemy as sa

import hub.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_schedules",
        sa.Column("automation", sa.String(length=100), nullable=False),
        sa.Column("schedule", sa.String(length=200), nullable=False),
        sa.Column("instant", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", hub.store.types.BigId, nullable=True),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("started_at", hub.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hub.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("automation", name=op.f("pk_automation_schedules")),
    )


def downgrade() -> None:
    op.drop_table("automation_schedules")
