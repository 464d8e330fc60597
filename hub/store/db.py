"""Engines, sessions and migrations for the canonical store.

``HUB_DATABASE_URL`` selects the database (PostgreSQL in production); the default is a
SQLite file under ``var/`` so the hub runs with nothing installed.
"""

from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # WAL lets the web process read while a worker writes; foreign keys are off by default.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (the only way tables are created)."""
    from alembic import command

    if isinstance(engine_or_url, str):
        url = engine_or_url
        engine = make_engine(url)
    else:
        engine = engine_or_url
        url = engine.url.render_as_string(hide_password=False)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


class Disconnected(Exception):
    """The server had dropped the pooled connection: the statement did not run (or its
    outcome is unknown); the pool has let the connection go, so a retry gets a new one."""


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # RQ forks a child per job. A child must never use the parent's pooled
        # connections (the parent's ticker thread is using them: shared sockets corrupt
        # the wire protocol and hang both); it starts with an empty pool instead.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (db := ref()) is not None and db._forget_connections())

    def _forget_connections(self) -> None:
        self.engine.dispose(close=False)
        if "_autocommit_engine" in self.__dict__:
            self.__dict__["_autocommit_engine"].dispose(close=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as session:
            with session.begin():
                yield session

    def autocommit_engine(self) -> Engine:
        """The autocommit pool (see :meth:`autocommit`), made on first use."""
        engine = self.__dict__.get("_autocommit_engine")
        if engine is None:
            engine = make_engine(self.url, pool_pre_ping=False, isolation_level="AUTOCOMMIT")
            self.__dict__["_autocommit_engine"] = engine
        return engine

    @contextmanager
    def autocommit(self) -> Iterator[Session]:
        """A session whose statements each commit on their own, for one idempotent
        statement on a hot path (the webhook door's inbox insert): one round trip, where
        :meth:`session` costs a pre-ping, ``BEGIN``, the statement and ``COMMIT``.

        Its own pool, in autocommit mode and without pre-ping: a connection the server
        dropped fails the statement instead of being replaced first, so the caller retries
        once (the pool replaces it; see :func:`hub.pipeline.ingest.store_push`). Anything
        that must commit together belongs in :meth:`session`."""
        with Session(self.autocommit_engine(), expire_on_commit=False) as session:
            yield session

    @contextmanager
    def autocommit_cursor(self) -> Iterator[Any]:
        """A DB-API cursor on a connection of the :meth:`autocommit` pool, without a
        session around it: for the webhook door's single-row insert, where the ORM's
        session, connection and result objects cost more CPU than the statement.

        Each statement commits on its own (durably: nothing here changes
        ``synchronous_commit``). A connection the server had dropped is invalidated (the
        pool replaces it) and reported as :class:`Disconnected` for the caller to retry;
        other database errors propagate as the driver raised them."""
        engine = self.autocommit_engine()
        conn = engine.raw_connection()
        cursor = None
        try:
            cursor = conn.cursor()
            yield cursor
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, conn.dbapi_connection, cursor):
                conn.invalidate(exc)
                raise Disconnected(type(exc).__name__) from exc
            raise
        finally:
            if cursor is not None and conn.is_valid:
                cursor.close()
            conn.close()

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
        if "_autocommit_engine" in self.__dict__:
            self.__dict__.pop("_autocommit_engine").dispose()
