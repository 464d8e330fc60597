"""The canonical store (SQLAlchemy models + Alembic migrations)."""

from hub.store.db import Database, make_engine, migrate, normalize_url

__all__ = ["Database", "make_engine", "migrate", "normalize_url"]
