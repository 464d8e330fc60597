"""departure hand-over: departures, and the departure of a transfer action (issue 19)

Revision ID: 0009
Revises: 0008

* ``departures`` — a member who left, per departure automation (unique per automation,
  instance and member, so a re-signalled departure is one row); ``next_due_at`` is when
  the ticker's departures job looks at it again. SQL, so nothing lives only in Redis.
* ``automation_actions.departure_id`` — the per-customer transfer actions of a departure.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import hub.store.types  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departures",
        sa.Column("id", hub.store.types.BigId, autoincrement=True, nullable=False),
        sa.Column("automation", sa.String(length=100), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("next_due_at", hub.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("signalled_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departures")),
        sa.UniqueConstraint("automation", "connector", "member", name=op.f("uq_departures_automation_connector_member")),
    )
    op.create_index("ix_departures_status_due", "departures", ["status", "next_due_at"], unique=False)
    with op.batch_alter_table("automation_actions") as batch:
        batch.add_column(sa.Column("departure_id", hub.store.types.BigId, nullable=True))
        batch.create_foreign_key(op.f("fk_automation_actions_departure_id_departures"), "departures", ["departure_id"], ["id"])
        batch.create_index(op.f("ix_automation_actions_departure_id"), ["departure_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("automation_actions") as batch:
        batch.drop_index(op.f("ix_automation_actions_departure_id"))
        batch.drop_constraint(op.f("fk_automation_actions_departure_id_departures"), type_="foreignkey")
        batch.drop_column("departure_id")
    op.drop_index("ix_departures_status_due", table_name="departures")
    op.drop_table("departures")
