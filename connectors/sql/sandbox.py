"""A real (temporary) SQLite CRM database for demos and the standard connector suite.

The remote system of the SQL connector is a database, not an HTTP API, so this sandbox
serves no blueprint: it creates a throw-away SQLite file holding a ``customers`` table the
way a small CRM would (Chinese names, mobile numbers, membership tiers, cities, a
soft-delete flag and a text ``updated_at`` in SQLite's usual ``YYYY-MM-DD HH:MM:SS`` form)
and plays the CRM's users: adding and editing customers through plain SQL.

Effects of the connector's writes are read from ``customers_audit``, filled by the CRM's own
triggers on every INSERT and UPDATE of ``customers`` — the database's record of what was
really applied, whatever the connector believes it did. Rows the sandbox's own "users"
caused are left out, so ``effects()`` lists exactly the changes made through the sink.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import weakref
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

from hub.connector.sandbox import Sandbox

SCHEMA = """
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    phone       TEXT,
    tier        TEXT NOT NULL DEFAULT '普通会员',
    city        TEXT,
    is_deleted  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX customers_updated_at_id ON customers (updated_at, id);

CREATE TABLE customers_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL,
    op           TEXT NOT NULL,
    name         TEXT,
    phone        TEXT,
    tier         TEXT,
    city         TEXT,
    is_deleted   INTEGER,
    updated_at   TEXT
);
CREATE TRIGGER customers_audit_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_audit (customer_id, op, name, phone, tier, city, is_deleted, updated_at)
    VALUES (NEW.id, 'insert', NEW.name, NEW.phone, NEW.tier, NEW.city, NEW.is_deleted, NEW.updated_at);
END;
CREATE TRIGGER customers_audit_update AFTER UPDATE ON customers BEGIN
    INSERT INTO customers_audit (customer_id, op, name, phone, tier, city, is_deleted, updated_at)
    VALUES (NEW.id, 'update', NEW.name, NEW.phone, NEW.tier, NEW.city, NEW.is_deleted, NEW.updated_at);
END;
"""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "晓东", "雨欣"]
CITIES = ["上海", "杭州", "深圳", "北京", "成都", "广州", "南京", "武汉", "苏州", "西安"]
TIERS = ["普通会员", "银卡", "金卡", "钻石卡"]
PREFIXES = ["139", "138", "137", "186", "158", "152", "135", "188", "177", "150"]
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


class SqlSandbox(Sandbox):
    """One throw-away CRM database; the file is removed when the sandbox is collected."""

    #: The stream and sink names the sandbox's config uses (the connector's defaults).
    STREAM = SINK = "rows"

    def __init__(self, seed_count: int = 5) -> None:
        self.directory = tempfile.mkdtemp(prefix="hub-sql-sandbox-")
        self.path = os.path.join(self.directory, "crm.db")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self._clock = datetime(2026, 1, 5, 9, 0, 0)
        self._serial = 0
        #: audit rows caused by the sandbox's own users, not by the connector's sink
        self._own_audit: set[int] = set()
        with self.connect() as conn:
            conn.executescript(SCHEMA)
        if seed_count:
            self.add_records(self.STREAM, seed_count)

    # -- plumbing -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success and is always closed."""
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def execute(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        """Run SQL as one of the CRM's own users would (their changes are not sink effects)."""
        with self.connect() as conn:
            before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM customers_audit").fetchone()[0]
            rows = conn.execute(sql, params).fetchall()
            after = conn.execute("SELECT COALESCE(MAX(id), 0) FROM customers_audit").fetchone()[0]
        self._own_audit.update(range(before + 1, after + 1))
        return rows

    def _tick(self, advance: bool = False) -> str:
        """The CRM's clock. Several rows share each second, as in a bulk import; it never
        runs behind a newer ``updated_at`` already in the table (e.g. from a sink write)."""
        with self.connect() as conn:
            newest = conn.execute("SELECT MAX(updated_at) FROM customers").fetchone()[0]
        if newest and newest > self._clock.strftime(TS_FORMAT):
            self._clock = datetime.fromisoformat(newest).replace(microsecond=0) + timedelta(seconds=1)
        elif advance or self._serial % 3 == 0:
            self._clock += timedelta(seconds=1)
        self._serial += 1
        return self._clock.strftime(TS_FORMAT)

    def _person(self, n: int) -> dict[str, Any]:
        return {
            "name": SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)],
            "phone": f"{PREFIXES[n % len(PREFIXES)]}{(n * 7919) % 10**8:08d}",
            "tier": TIERS[n % 3],
            "city": CITIES[(n * 3) % len(CITIES)],
        }

    # -- the CRM's users ------------------------------------------------------------------
    def add_records(self, stream: str, count: int) -> list[str]:
        assert stream == self.STREAM, stream
        ids: list[str] = []
        for _ in range(count):
            person = self._person(self._serial + 1)
            (row,) = self.execute(
                "INSERT INTO customers (name, phone, tier, city, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (person["name"], person["phone"], person["tier"], person["city"], self._tick()),
            )
            ids.append(str(row[0]))
        return ids

    def update_record(self, stream: str, native_id: str) -> None:
        assert stream == self.STREAM, stream
        self.execute(
            "UPDATE customers SET tier = '钻石卡', updated_at = ? WHERE id = ?", (self._tick(advance=True), int(native_id))
        )

    def soft_delete(self, native_id: str) -> None:
        """The CRM's "delete" button: flag the row and stamp it."""
        self.execute("UPDATE customers SET is_deleted = 1, updated_at = ? WHERE id = ?", (self._tick(advance=True), int(native_id)))

    def row(self, native_id: str) -> dict[str, Any] | None:
        with self.connect() as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute("SELECT * FROM customers WHERE id = ?", (int(native_id),)).fetchone()
        return dict(found) if found else None

    # -- what the suite inspects ----------------------------------------------------------
    def blueprint(self):
        return None  # reached through a database file, not HTTP

    def config_for(self, base_url: str) -> dict[str, Any]:
        """A config on this database file (``base_url`` does not apply: no HTTP)."""
        return {
            "url": self.url,
            "streams": {
                self.STREAM: {
                    "table": "customers",
                    "key": "id",
                    "cursor_column": "updated_at",
                    "cursor_type": "timestamp",
                    "deleted_column": "is_deleted",
                }
            },
            "sinks": {
                self.SINK: {
                    "table": "customers",
                    "key": "id",
                    "columns": ["name", "phone", "tier", "city"],
                    "updated_at_column": "updated_at",
                }
            },
            "batch_size": 10,
            "timezone": "Asia/Shanghai",
        }

    def sample_payload(self, sink: str) -> dict[str, Any]:
        assert sink == self.SINK, sink
        return {"name": "王小明", "phone": "13912345678", "tier": "金卡", "city": "杭州"}

    def effects(self, sink: str) -> list[dict[str, Any]]:
        assert sink == self.SINK, sink
        with self.connect() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM customers_audit ORDER BY id").fetchall()
        return [dict(r) for r in rows if r["id"] not in self._own_audit]
