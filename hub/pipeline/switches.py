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


class NotSyncable(ValueError):
    """Why "sync now" cannot run for an instance (switched off, disabled in the config, no stream)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason  # switched_off | config | no_streams


def queue_sync(runtime, instance: str, *, actor: str) -> list[str]:
    """"Sync now": queue a pull of every enabled stream of ``instance`` for the workers, and
    audit it (``connector.sync``). Returns the streams; raises :class:`KeyError` for an
    unknown instance, :class:`NotSyncable` when there is nothing it may pull, and whatever
    Redis raises when the queue is down (nothing is audited then)."""
    inst = runtime.config.connectors[instance]
    if not inst.enabled:
        raise NotSyncable(f"{instance} is disabled in the config file", "config")
    if is_switched_off(runtime.db, instance):
        raise NotSyncable(f"{instance} is switched off; switch it on first", "switched_off")
    streams = sorted(st.name for st in inst.streams.values() if st.enabled)
    if not streams:
        raise NotSyncable(f"{instance} has no enabled stream to pull", "no_streams")
    from hub.pipeline.jobs import enqueue_pull

    for stream in streams:
        enqueue_pull(runtime, instance, stream)
    with runtime.db.session() as s:
        s.add(AuditEntry(actor=actor[:100], action="connector.sync", target=f"connector:{instance}", at=utcnow(),
                         detail={"streams": streams}))
    return streams


def worker_count(runtime) -> int:
    """RQ workers registered in this hub's Redis (0: a queued sync waits for one)."""
    from rq import Worker

    return Worker.count(connection=runtime.redis)
