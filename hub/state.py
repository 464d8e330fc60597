"""Durable per-connector-instance state in SQL (the ``connector_state`` table).

Connectors keep things here that must survive restarts and be shared by all workers:
the newest rotating OAuth refresh token, persisted WeCom channel-code ``config_id``s.
Each ``set`` commits on its own: a rotated refresh token must not be lost because the
batch that triggered the refresh later failed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import ConnectorState
from hub.store.upsert import insert_ignore, upsert


class SqlState:
    def __init__(self, db, instance: str):
        self.db = db
        self.instance = instance

    def get(self, key: str, default: Any = None) -> Any:
        with self.db.session() as s:
            row = s.execute(
                select(ConnectorState.value).where(ConnectorState.connector == self.instance, ConnectorState.key == key)
            ).scalar_one_or_none()
        return default if row is None else row

    def set(self, key: str, value: Any) -> None:
        with self.db.session() as s:
            upsert(s, ConnectorState, {"connector": self.instance, "key": key, "value": value}, ["connector", "key"], ["value"])

    def setdefault(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` holds one; the stored value either way (the first
        writer wins when workers race: an insert that ignores a conflict, then a read)."""
        with self.db.session() as s:
            insert_ignore(s, ConnectorState, [{"connector": self.instance, "key": key, "value": value}], ["connector", "key"])
        return self.get(key)

    def items(self) -> dict[str, Any]:
        with self.db.session() as s:
            rows = s.execute(select(ConnectorState.key, ConnectorState.value).where(ConnectorState.connector == self.instance))
            return {k: v for k, v in rows}
