"""identity resolution: origin contacts and link snapshots for unmerge

Merges move identities, links and events to the surviving contact; ``origin_contact_id``
remembers where each row first landed so an unmerge can split them back. Links keep the
attributes/tags/source timestamp their record last contributed so split contacts can have
their attributes recomputed under the field policy.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import hub.store.types
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    for table in ('identities', 'links', 'events'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('origin_contact_id', BIG_ID, nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_origin_contact_id_contacts'), 'contacts', ['origin_contact_id'], ['id']
            )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', JSON, nullable=True))
        batch_op.add_column(sa.Column('tags', JSON, nullable=True))
        batch_op.add_column(sa.Column('source_ts', hub.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_column('source_ts')
        batch_op.drop_column('tags')
        batch_op.drop_column('attributes')
    for table in ('events', 'links', 'identities'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_origin_contact_id_contacts'), type_='foreignkey')
            batch_op.drop_column('origin_contact_id')
