"""Switching a connector instance off and on at run time (the ops UI's 停用 / 启用).

``enabled: false`` in the config takes an instance out entirely and needs a reload. The
switch here is for "stop talking to that system *now*" — a vendor outage, a bad mapping
being fixed, an IT freeze — without editing files or restarting anything. It lives in SQL
(``connector_state``, key :data:`KEY`), so every web process and worker sees it on its
next check; nothing is cached.

While an instance is switched off the hub makes no calls to it: scheduled and manual pulls
are skipped, and its outbox rows are held ``pending`` (not dead-lettered) — they go out
when it is switched back on. Pushes it sends to ``/webhooks/<instance>`` are still stored,
so nothing the remote system reports in the meantime is lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import AuditEntry, ConnectorState, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in, upsert

#: The ``connector_state`` key of the switch. The ``hub.`` prefix keeps it apart from the
#: keys connectors keep there themselves.
KEY = "hub.switch"


def switched_off(db) -> dict[str, dict[str, Any]]:
    """``instance -> {"by", "at"}`` for every instance switched off at run time."""
    with db.session() as s:
        rows = s.execute(select(ConnectorState.connector, ConnectorState.value).where(ConnectorState.key == KEY)).all()
    return {name: value for name, value in rows if isinstance(value, dict) and value.get("enabled") is False}


def is_switched_off(db, instance: str) -> bool:
    with db.session() as s:
        value = s.execute(
            select(ConnectorState.value).where(ConnectorState.connector == instance, ConnectorState.key == KEY)
        ).scalar_one_or_none()
    return isinstance(value, dict) and value.get("enabled") is False


def set_switch(runtime, instance: str, enabled: bool, *, actor: str) -> bool:
    """Switch ``instance`` on or off and audit it (``connector.enable`` / ``connector.disable``).

    Returns whether anything changed. Switching on re-queues the writes held while it was off.
    """
    if instance not in runtime.config.connectors:
        raise KeyError(instance)
    with runtime.db.session() as s:
        current = s.execute(
            select(ConnectorState.value).where(ConnectorState.connector == instance, ConnectorState.key == KEY)
        ).scalar_one_or_none()
        was_enabled = not (isinstance(current, dict) and current.get("enabled") is False)
        if was_enabled == enabled:
            return False
        upsert(s, ConnectorState, {"connector": instance, "key": KEY,
                                   "value": {"enabled": enabled, "by": actor[:100], "at": utcnow().isoformat()}},
               ["connector", "key"], ["value"])
        s.add(AuditEntry(actor=actor[:100], action="connector.enable" if enabled else "connector.disable",
                         target=f"connector:{instance}", at=utcnow(), detail={}))
        held = [] if not enabled else list(s.scalars(
            select(OutboxRow.id).where(OutboxRow.connector == instance, OutboxRow.status == "pending").order_by(OutboxRow.id)))
    if held:
        from hub.pipeline.jobs import _safely, enqueue_deliver

        _safely("delivery", lambda: enqueue_deliver(runtime, held, fresh=True))
    return True


def deliverable(db, outbox_ids: list[int]) -> list[int]:
    """``outbox_ids`` without the rows whose destination is switched off (they stay pending)."""
    ids = list(outbox_ids)
    off = switched_off(db) if ids else {}
    if not off:
        return ids
    held: set[int] = set()
    with db.session() as s:
        for start in range(0, len(ids), 500):
            held.update(s.scalars(select(OutboxRow.id).where(
                column_in(s, OutboxRow.id, ids[start : start + 500]), OutboxRow.connector.in_(sorted(off)))))
    return [i for i in ids if i not in held]
