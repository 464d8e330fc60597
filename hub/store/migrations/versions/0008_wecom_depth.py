"""automations: rule and journey ledgers, journey enrollments, automation approvals (issue 19)

Revision ID: 0008
Revises: 0007

Reserved in order so work on parallel issues chains linearly (the file keeps its reserved
name). Three tables, all SQL so nothing of an automation lives only in Redis:

* ``automation_states`` — an automation an operator approved, paused or resumed; an
  automation without a row is in preview (its actions are recorded, not sent).
* ``automation_actions`` — every action an automation took or would have taken, unique per
  ``key`` (automation, contact, trigger, action): re-processing never acts twice.
* ``journey_enrollments`` — one contact's progress through a journey: the next step and
  when it is due; the worker's ticker advances due rows.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import hub.store.types  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "automation_states",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_at", hub.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_automation_states")),
    )
    op.create_table(
        "automation_actions",
        sa.Column("id", hub.store.types.BigId, autoincrement=True, nullable=False),
        sa.Column("automation", sa.String(length=100), nullable=False),
        sa.Column("contact_id", hub.store.types.BigId, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_message", sa.Boolean(), nullable=False),
        sa.Column("outbox_id", hub.store.types.BigId, nullable=True),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_automation_actions_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_actions")),
        sa.UniqueConstraint("key", name=op.f("uq_automation_actions_key")),
    )
    op.create_index("ix_automation_actions_contact_created", "automation_actions", ["contact_id", "created_at"], unique=False)
    op.create_index(op.f("ix_automation_actions_automation"), "automation_actions", ["automation"], unique=False)
    op.create_table(
        "journey_enrollments",
        sa.Column("id", hub.store.types.BigId, autoincrement=True, nullable=False),
        sa.Column("journey", sa.String(length=100), nullable=False),
        sa.Column("contact_id", hub.store.types.BigId, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_due_at", hub.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enrolled_values", JSON, nullable=True),
        sa.Column("exit_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_journey_enrollments_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_enrollments")),
        sa.UniqueConstraint("journey", "contact_id", name=op.f("uq_journey_enrollments_journey_contact_id")),
    )
    op.create_index("ix_journey_enrollments_status_due", "journey_enrollments", ["status", "next_due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_journey_enrollments_status_due", table_name="journey_enrollments")
    op.drop_table("journey_enrollments")
    op.drop_index(op.f("ix_automation_actions_automation"), table_name="automation_actions")
    op.drop_index("ix_automation_actions_contact_created", table_name="automation_actions")
    op.drop_table("automation_actions")
    op.drop_table("automation_states")
