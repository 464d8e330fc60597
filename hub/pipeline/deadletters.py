"""Dead letters live in SQL (not RQ's failed registry) so they survive Redis loss and can
be listed and replayed from the CLI and the UI.

Two kinds: outbox rows that are ``dead`` (retry budget spent, or a permanent error) and
inbox rows that are ``rejected`` (a mapping or resolution failure, with the field and value).
Replaying resets them to pending with a fresh budget; every replay is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from hub.store.models import AuditEntry, InboxRow, OutboxRow
from hub.store.types import utcnow


@dataclass
class DeadLetter:
    kind: str  # outbox | inbox
    id: int
    target: str
    attempts: int
    error: str
    at: object

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.id}"


def list_dead(db, limit: int = 50) -> list[DeadLetter]:
    with db.session() as s:
        out = [
            DeadLetter("outbox", r.id, f"{r.connector}.{r.sink}", r.attempts, r.last_error or "", r.created_at)
            for r in s.scalars(select(OutboxRow).where(OutboxRow.status == "dead").order_by(OutboxRow.id.desc()).limit(limit))
        ]
        out += [
            DeadLetter("inbox", r.id, f"{r.connector}.{r.stream}:{r.native_id}", r.attempts, r.error or "", r.received_at)
            for r in s.scalars(select(InboxRow).where(InboxRow.status == "rejected").order_by(InboxRow.id.desc()).limit(limit))
        ]
    return out


def _parse(refs: list[str]) -> tuple[list[int], list[int]]:
    outbox, inbox = [], []
    for ref in refs:
        kind, _, raw = ref.rpartition(":")
        kind = kind or "outbox"
        if kind not in ("outbox", "inbox") or not raw.isdigit():
            raise ValueError(f"not a dead-letter reference: {ref!r} (use outbox:ID or inbox:ID)")
        (outbox if kind == "outbox" else inbox).append(int(raw))
    return outbox, inbox


def replay(runtime, refs: list[str] | None, *, actor: str, inline: bool = False) -> dict[str, int]:
    """Reset the given dead letters (or all of them with ``refs=None``) and enqueue them."""
    db = runtime.db
    with db.session() as s:
        if refs is None:
            outbox_ids = list(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "dead")))
            inbox_ids = list(s.scalars(select(InboxRow.id).where(InboxRow.status == "rejected")))
        else:
            wanted_out, wanted_in = _parse(refs)
            outbox_ids = list(s.scalars(select(OutboxRow.id).where(OutboxRow.id.in_(wanted_out), OutboxRow.status == "dead")))
            inbox_ids = list(s.scalars(select(InboxRow.id).where(InboxRow.id.in_(wanted_in), InboxRow.status == "rejected")))
            missing = sorted(set(wanted_out) - set(outbox_ids)) + sorted(set(wanted_in) - set(inbox_ids))
            if missing:
                raise ValueError(f"not dead letters (already replayed or unknown): {missing}")
        if outbox_ids:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).values(status="pending", attempts=0, next_attempt_at=utcnow()))
        if inbox_ids:
            s.execute(update(InboxRow).where(InboxRow.id.in_(inbox_ids)).values(status="pending", error=None))
        for kind, ids in (("outbox", outbox_ids), ("inbox", inbox_ids)):
            for row_id in ids:
                s.add(AuditEntry(actor=actor, action="dlq.replay", target=f"{kind}:{row_id}", detail={}))
    if inline:
        from hub.pipeline.inline import run_inline

        run_inline(runtime, inbox_ids=inbox_ids, outbox_ids=outbox_ids)
    else:
        from hub.pipeline.jobs import _safely, enqueue_deliver, enqueue_process

        if outbox_ids:
            _safely("delivery", lambda: enqueue_deliver(runtime, outbox_ids, fresh=True))
        if inbox_ids:
            _safely("processing", lambda: enqueue_process(runtime, inbox_ids, fresh=True))
    return {"outbox": len(outbox_ids), "inbox": len(inbox_ids)}
