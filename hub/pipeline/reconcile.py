"""The reconciler: SQL says what is unfinished, so a job lost in Redis is found again.

Workers get SIGKILLed, Redis restarts without its last writes, someone runs FLUSHALL. None
of that loses work, because every stage is a row before it is a job: this periodic sweep
re-enqueues inbox rows still pending after the threshold, hands back outbox rows stuck in
``sending`` (their worker died mid-write; the idempotency key makes resending safe) and
re-enqueues outbox rows whose due time passed long ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from hub.store.models import InboxRow, OutboxRow
from hub.store.types import utcnow


@dataclass
class Sweep:
    inbox_ids: list[int]
    outbox_ids: list[int]
    reclaimed: int


def sweep(db, threshold: float, limit: int = 10000) -> Sweep:
    """Find the stragglers older than ``threshold`` seconds; reset stuck sends."""
    cutoff = utcnow() - timedelta(seconds=threshold)
    with db.session() as s:
        reclaimed = s.execute(
            update(OutboxRow).where(OutboxRow.status == "sending", OutboxRow.claimed_at < cutoff).values(status="pending")
        ).rowcount
        inbox_ids = list(
            s.scalars(
                select(InboxRow.id).where(InboxRow.status == "pending", InboxRow.received_at < cutoff).order_by(InboxRow.id).limit(limit)
            )
        )
        outbox_ids = list(
            s.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at < cutoff)
                .order_by(OutboxRow.id)
                .limit(limit)
            )
        )
    return Sweep(inbox_ids=inbox_ids, outbox_ids=outbox_ids, reclaimed=reclaimed)


def expire_raw(db, retention: float) -> int:
    """Drop processed inbox rows older than the raw-payload retention (remap horizon)."""
    cutoff = utcnow() - timedelta(seconds=retention)
    with db.session() as s:
        return s.execute(delete(InboxRow).where(InboxRow.status == "processed", InboxRow.received_at < cutoff)).rowcount
