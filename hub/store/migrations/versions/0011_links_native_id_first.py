"""links: the unique key ordered (connector, native_id, stream) (issue 14)

Revision ID: 0011
Revises: 0010

What the hub last wrote to a connector's records is looked up by ``connector`` and
``native_id`` across the connector's sinks (``hub.pipeline.links.written_values``, once per
processed batch). With the key ordered (connector, stream, native_id) no index served that
lookup: PostgreSQL scanned every link of the connector per batch, so processing slowed as
links grew (~18 ms per batch at 100 k links, growing with them). The same unique key with
``native_id`` second serves both that lookup and the per-stream ones (all three columns
given), so no index is added: a link insert maintains as many indexes as before.
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_constraint("uq_links_connector_stream_native_id", type_="unique")
        batch_op.create_unique_constraint("uq_links_connector_native_id_stream", ["connector", "native_id", "stream"])


def downgrade() -> None:
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_constraint("uq_links_connector_native_id_stream", type_="unique")
        batch_op.create_unique_constraint("uq_links_connector_stream_native_id", ["connector", "stream", "native_id"])
