"""Real databases for the SQL connector's tests: SQLite always, plus the environment's
PostgreSQL (``HUB_DATABASE_URL``, as in the project's second CI run) and MariaDB when
PyMySQL is importable and a server answers (``HUB_TEST_MYSQL_URL``, default
``mysql+pymysql://root@127.0.0.1:3306/test``).

Each server backend gets its own throw-away database for the test session; every test
starts from freshly created tables. Nothing is mocked.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hub.connector import DictState
from hub.store.db import normalize_url

from connectors.sql.connector import SqlConnector

MYSQL_URL = os.environ.get("HUB_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _backends() -> list[str]:
    names = ["sqlite"]
    if (os.environ.get("HUB_DATABASE_URL") or "").startswith(("postgres://", "postgresql")):
        names.append("postgresql")
    if importlib.util.find_spec("pymysql") is not None:
        names.append("mariadb")
    return names


DDL = {
    "sqlite": [
        """CREATE TABLE customers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            member_no VARCHAR(32) UNIQUE,
            name VARCHAR(64) NOT NULL,
            phone VARCHAR(20),
            tier VARCHAR(16),
            city VARCHAR(16),
            is_deleted INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')))""",
        """CREATE TABLE member_cards (
            card_no VARCHAR(32) PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            points INTEGER NOT NULL DEFAULT 0)""",
        "CREATE TABLE notes (note_id INTEGER, body TEXT, updated_at TEXT)",
    ],
    "postgresql": [
        """CREATE TABLE customers (
            id SERIAL PRIMARY KEY,
            member_no VARCHAR(32) UNIQUE,
            name VARCHAR(64) NOT NULL,
            phone VARCHAR(20),
            tier VARCHAR(16),
            city VARCHAR(16),
            is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
            updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
        """CREATE TABLE member_cards (
            card_no VARCHAR(32) PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            points INTEGER NOT NULL DEFAULT 0)""",
        "CREATE TABLE notes (note_id INTEGER, body TEXT, updated_at TIMESTAMP(6))",
    ],
    "mariadb": [
        """CREATE TABLE customers (
            id INTEGER AUTO_INCREMENT PRIMARY KEY,
            member_no VARCHAR(32) UNIQUE,
            name VARCHAR(64) NOT NULL,
            phone VARCHAR(20),
            tier VARCHAR(16),
            city VARCHAR(16),
            is_deleted TINYINT(1) NOT NULL DEFAULT 0,
            updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) CHARACTER SET utf8mb4""",
        """CREATE TABLE member_cards (
            card_no VARCHAR(32) PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            points INTEGER NOT NULL DEFAULT 0) CHARACTER SET utf8mb4""",
        "CREATE TABLE notes (note_id INTEGER, body TEXT, updated_at DATETIME(6)) CHARACTER SET utf8mb4",
    ],
}
TABLES = ["customers", "member_cards", "notes", "hub_applied_writes"]


@dataclass
class Crm:
    """A CRM database on one backend, and helpers to act as its users."""

    backend: str
    url: str
    engine: Engine
    connectors: list[SqlConnector] = field(default_factory=list)

    def ts(self, value: str) -> Any:
        """A timestamp as this backend's applications store it: text in SQLite, a real
        TIMESTAMP / DATETIME elsewhere."""
        return value if self.backend == "sqlite" else datetime.fromisoformat(value)

    def execute(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(sql), params or {})
            return result.all() if result.returns_rows else []

    def add_customers(self, rows: list[dict[str, Any]]) -> list[str]:
        """Insert customers (``updated_at`` given as ISO text); return their ids in order."""
        ids = []
        for row in rows:
            data = {"tier": "银卡", "city": "上海", "phone": None, "member_no": None, **row}
            data["updated_at"] = self.ts(data["updated_at"])
            self.execute(
                "INSERT INTO customers (member_no, name, phone, tier, city, updated_at) "
                "VALUES (:member_no, :name, :phone, :tier, :city, :updated_at)",
                data,
            )
            ids.append(str(self.execute("SELECT MAX(id) FROM customers")[0][0]))
        return ids

    def customer(self, native_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM customers WHERE id = :i"), {"i": int(native_id)}).mappings().first()
        return dict(row) if row else None

    def count(self, table: str) -> int:
        return self.execute(f"SELECT COUNT(*) FROM {table}")[0][0]

    def connector(self, streams: dict | None = None, sinks: dict | None = None, **options: Any) -> SqlConnector:
        raw = {"url": self.url, "streams": streams or {}, "sinks": sinks or {}, **options}
        connector = SqlConnector("crm_main", SqlConnector.validate_config(raw), state=DictState())
        self.connectors.append(connector)
        return connector


def _server_database(backend: str) -> tuple[str, Callable[[], None]]:
    """A throw-away database on the backend's server, and how to drop it."""
    name = f"hub_sqlconn_{uuid.uuid4().hex[:10]}"
    if backend == "postgresql":
        base = make_url(normalize_url(os.environ["HUB_DATABASE_URL"]))
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    else:
        base = make_url(MYSQL_URL)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        create, drop = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4", f"DROP DATABASE IF EXISTS `{name}`"
    try:
        with admin.connect() as conn:
            conn.execute(text(create))
    except Exception as exc:  # a MariaDB that isn't running: skip, don't fail
        admin.dispose()
        if backend == "mariadb":
            pytest.skip(f"MariaDB not reachable at {base.render_as_string(hide_password=True)}: {type(exc).__name__}")
        raise

    def dropper() -> None:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), dropper


@pytest.fixture(scope="session", params=_backends())
def crm_url(request, tmp_path_factory):
    """``(backend, url)`` of an empty database for this session."""
    backend = request.param
    if backend == "sqlite":
        yield backend, f"sqlite:///{tmp_path_factory.mktemp('crm') / 'crm.db'}"
        return
    url, drop = _server_database(backend)
    yield backend, url
    drop()


@pytest.fixture
def crm(crm_url) -> Crm:
    backend, url = crm_url
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        for statement in DDL[backend]:
            conn.execute(text(statement))
    db = Crm(backend=backend, url=url, engine=engine)
    yield db
    for connector in db.connectors:
        connector.close()
    engine.dispose()


@pytest.fixture
def customers_stream() -> dict[str, Any]:
    return {"table": "customers", "key": "id", "cursor_column": "updated_at", "deleted_column": "is_deleted"}


@pytest.fixture
def customers_sink() -> dict[str, Any]:
    return {
        "table": "customers",
        "key": "id",
        "columns": ["member_no", "name", "phone", "tier", "city"],
        "updated_at_column": "updated_at",
    }
