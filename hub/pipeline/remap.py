"""Remap: re-process stored raw records through the current mapping, without pulling again.

The fix after a wrong mapping: correct the YAML, then ``hub remap crm_a.customers``. Every
stored inbox row of the stream (optionally since a date) goes back to pending and through
processing; processing is idempotent (events are unique per native id, attributes only
change when the value does), so remapping twice is the same as once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from hub.store.models import InboxRow


def remap(runtime, instance: str, stream: str, *, since: datetime | None = None, inline: bool = False) -> int:
    with runtime.db.session() as s:
        q = select(InboxRow.id).where(InboxRow.connector == instance, InboxRow.stream == stream, InboxRow.status.in_(["processed", "rejected", "echo"]))
        if since is not None:
            q = q.where(InboxRow.received_at >= since)
        ids = list(s.scalars(q.order_by(InboxRow.id)))
        for start in range(0, len(ids), 1000):
            s.execute(update(InboxRow).where(InboxRow.id.in_(ids[start : start + 1000])).values(status="pending", error=None))
    if not ids:
        return 0
    if inline:
        from hub.pipeline.inline import run_inline

        run_inline(runtime, inbox_ids=ids)
    else:
        from hub.pipeline.jobs import _safely, enqueue_process

        _safely("processing", lambda: enqueue_process(runtime, ids, fresh=True))
    return len(ids)
