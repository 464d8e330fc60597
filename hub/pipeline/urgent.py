"""Urgent writes: a push's time-critical writes, delivered from the webhook request itself.

Some pushes carry something that expires: a WeCom ``add_external_contact`` callback's
``WelcomeCode`` can be used for 20 seconds. Queued behind processing and delivery
batches, the welcome would miss that window under load. So a webhook handler may return
:class:`~hub.connector.UrgentWrite` objects; the door then

1. renders each through the sink's outbound mapping (``event`` in the view),
2. inserts the payloads as ordinary outbox rows — idempotency key
   ``<instance>:<sink>:<key>`` (unique), so a retried push writes nothing twice — and
   commits,
3. delivers those rows at once, in this request, with :func:`hub.pipeline.deliver.deliver`
   — the same claim, retry, dead-letter and audit path as every write; a transient
   failure is rescheduled like any other row. A sink still in preview holds the row for
   approval (``hub approve``) and a switched-off destination keeps it pending, as for any
   write: an operator's brakes apply to urgent writes too.

It runs after the push's records are committed and before the sender is answered.
Nothing here is connector-specific; a sink that is not enabled on the instance, or a
mapping that renders nothing for the event, writes nothing.
"""

from __future__ import annotations

import logging
from typing import Sequence

from sqlalchemy import select

from hub.connector import UrgentWrite
from hub.mapping import MappingError, MappingRecordError, canonical_view
from hub.pipeline.hashing import payload_hash
from hub.store.models import OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import insert_ignore

log = logging.getLogger(__name__)


def render(runtime, instance: str, writes: Sequence[UrgentWrite]) -> list[dict]:
    """Outbox rows for the writes whose sink is enabled and whose mapping renders a payload."""
    inst = runtime.config.connectors.get(instance)
    rows = []
    for write in writes:
        sink = inst.sinks.get(write.sink) if inst is not None else None
        if sink is None or not sink.enabled:
            continue
        try:
            payload = runtime.mapping(instance, sink=write.sink).apply(canonical_view(None, event=write.event))
        except MappingError as exc:  # the instance's mapping is broken or missing: say so loudly
            log.warning("urgent write %s.%s: mapping unavailable: %s", instance, write.sink, "; ".join(exc.errors))
            continue
        except MappingRecordError as exc:  # e.g. no welcome text for this channel code: nothing to send
            log.info("urgent write %s.%s not rendered: %s", instance, write.sink, exc.message)
            continue
        if not payload:
            continue
        rows.append({
            "connector": instance, "sink": write.sink, "contact_id": None, "origin": instance,
            "idempotency_key": f"{instance}:{write.sink}:{write.key}"[:255], "payload": payload,
            "payload_hash": payload_hash(payload), "native_id": None, "status": "pending", "next_attempt_at": utcnow(),
        })
    return rows


def deliver_urgent(runtime, instance: str, writes: Sequence[UrgentWrite]) -> list[int]:
    """Store and deliver ``writes`` now; returns the outbox ids created (none for a repeat)."""
    from hub.pipeline.preview import HELD, hold_status
    from hub.pipeline.switches import deliverable

    rows = render(runtime, instance, writes)
    if not rows:
        return []
    with runtime.db.session() as session:
        for row in rows:  # a sink still in preview holds its writes like any other (hub approve)
            row["status"] = hold_status(runtime, session, instance, row["sink"])
        got = insert_ignore(session, OutboxRow, rows, ["idempotency_key"], returning=[OutboxRow.id])
    created = sorted(r[0] for r in got)
    held = {row["idempotency_key"] for row in rows if row["status"] == HELD}
    if held:
        log.info("urgent write %s: %d held for approval (sink in preview)", instance, len(held))
    with runtime.db.session() as session:
        pending = set(session.scalars(select(OutboxRow.id).where(OutboxRow.id.in_(created), OutboxRow.status == "pending"))) if created else set()
    ids = deliverable(runtime.db, sorted(pending))  # a switched-off destination's rows stay pending
    if ids:
        from hub.pipeline.deliver import deliver
        from hub.pipeline.jobs import _safely, enqueue_deliver

        def retry(row_id: int, delay: float) -> None:
            _safely("a retry", enqueue_deliver, runtime, [row_id], delay)

        deliver(runtime, ids, schedule_retry=retry)
    return created
