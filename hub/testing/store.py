"""Store helpers for tests that run against a real database."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.store import Database
from hub.store.db import normalize_url
from hub.store.models import Base


def throwaway_database(server_url: str | None, directory: Path, prefix: str = "hub_test") -> tuple[str, Callable[[], None]]:
    """A fresh, empty database for one test session or benchmark run, and how to drop it.

    With a PostgreSQL ``server_url`` a new database is created next to the given one (so
    parallel runs never collide); otherwise (None or SQLite) a SQLite file in ``directory``."""
    if not server_url or server_url.startswith("sqlite"):
        return f"sqlite:///{Path(directory) / 'hub.db'}", lambda: None
    parsed = make_url(normalize_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), drop


def truncate(database: Database) -> None:
    """Empty every hub table, children first (PostgreSQL: one TRUNCATE, ids restarted)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
