"""Store helpers for tests that run against a real database."""

from __future__ import annotations

from sqlalchemy import text

from hub.store import Database
from hub.store.models import Base


def truncate(database: Database) -> None:
    """Empty every hub table, children first (PostgreSQL: one TRUNCATE, ids restarted)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
