"""Dead letters live in SQL (not RQ's failed registry) so they survive Redis loss and can
be listed and replayed from the CLI and the UI.

Two kinds: outbox rows that are ``dead`` (retry budget spent, or a permanent error) and
inbox rows that are ``rejected`` (a mapping or resolution failure, with the field and value).
Replaying resets them to pending with a fresh budget; every replay is audited.

A dead delivery is usually a mapping bug (a column the sink refuses, a value in the wrong
format). Fixing the mapping must fix the dead letter, so a replay **re-renders** the write
from the contact's current state with the current outbound mapping (new payload, new
idempotency key); ``as_was=True`` re-sends the stored payload unchanged (a remote that was
down). Rejected records are always re-processed from their raw payload with the current
inbound mapping. Dead letters nobody wants are **discarded** (status ``discarded``, audited).
The CLI (``hub dlq``) and the UI call the functions below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def _select(s, refs: list[str] | None) -> tuple[list[int], list[int]]:
    """Ids of dead outbox rows and rejected inbox rows: all, or those ``refs`` name (each
    must be a current dead letter)."""
    if refs is None:
        return (list(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "dead").order_by(OutboxRow.id))),
                list(s.scalars(select(InboxRow.id).where(InboxRow.status == "rejected").order_by(InboxRow.id))))
    wanted_out, wanted_in = _parse(refs)
    outbox_ids = list(s.scalars(select(OutboxRow.id).where(OutboxRow.id.in_(wanted_out), OutboxRow.status == "dead").order_by(OutboxRow.id)))
    inbox_ids = list(s.scalars(select(InboxRow.id).where(InboxRow.id.in_(wanted_in), InboxRow.status == "rejected").order_by(InboxRow.id)))
    missing = sorted(set(wanted_out) - set(outbox_ids)) + sorted(set(wanted_in) - set(inbox_ids))
    if missing:
        raise ValueError(f"not dead letters (already replayed, discarded or unknown): {missing}")
    return outbox_ids, inbox_ids


@dataclass
class Rerendered:
    """What re-rendering dead deliveries did."""

    renewed: list[int] = field(default_factory=list)      # new payload (or the same), ready to send
    superseded: dict[int, int] = field(default_factory=dict)  # dead id → the row already holding that write
    failed: dict[int, str] = field(default_factory=dict)  # dead id → why it cannot be rendered now


def rerender(session, runtime, outbox_ids: list[int]) -> Rerendered:
    """Render each dead row again from its contact's current state with the current outbound
    mapping. A rendering that another row already carries (same idempotency key) supersedes
    this one; a contact the mapping now cannot render (or renders as nothing) keeps its row
    dead with the reason. Rows without a contact keep their payload."""
    from hub.mapping import MappingError, MappingRecordError, canonical_view
    from hub.pipeline.hashing import payload_hash
    from hub.pipeline.links import destination_native_id
    from hub.pipeline.views import load_views

    out = Rerendered()
    rows = list(session.scalars(select(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).order_by(OutboxRow.id)))
    views = load_views(session, [r.contact_id for r in rows if r.contact_id is not None])
    for row in rows:
        if row.contact_id is None or row.contact_id not in views:
            out.renewed.append(row.id)
            continue
        try:
            mapping = runtime.mapping(row.connector, sink=row.sink)
        except (MappingError, KeyError) as exc:
            reason = "; ".join(exc.errors) if isinstance(exc, MappingError) else f"{row.connector}.{row.sink} is not configured"
            out.failed[row.id] = f"mapping unavailable: {reason}"
            continue
        view = views[row.contact_id]
        native_id = destination_native_id(session, row.connector, row.sink, row.contact_id) or row.native_id
        names = sorted([*view["attributes"], "tags", "identities"])
        try:
            payload = mapping.apply(canonical_view(row.contact_id, view["attributes"], view["identities"], view["tags"], native_id, names))
        except MappingRecordError as exc:
            out.failed[row.id] = f"the current mapping cannot render contact {row.contact_id}: {exc.message}"
            continue
        if not payload:
            out.failed[row.id] = f"the current mapping renders nothing for contact {row.contact_id}"
            continue
        digest = payload_hash(payload)
        key = f"{row.connector}:{row.sink}:{row.contact_id}:{digest[:24]}"
        if key != row.idempotency_key:
            other = session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key))
            if other is not None:
                out.superseded[row.id] = other
                continue
        row.payload, row.payload_hash, row.idempotency_key, row.native_id = payload, digest, key, native_id
        row.written_values = {**view["attributes"], "__tags__": view["tags"]}
        out.renewed.append(row.id)
    return out


def replay(runtime, refs: list[str] | None, *, actor: str, inline: bool = False, as_was: bool = False) -> dict[str, Any]:
    """Retry the given dead letters (or all of them with ``refs=None``) with a fresh budget.

    Dead deliveries are re-rendered with the current mapping unless ``as_was``; see
    :func:`rerender` for the rows that stay dead (``failed``) or are ``superseded`` (then
    discarded: their write is already owed by another row). Returns the counts and those
    details."""
    db = runtime.db
    failed: dict[int, str] = {}
    superseded: dict[int, int] = {}
    with db.session() as s:
        outbox_ids, inbox_ids = _select(s, refs)
        if outbox_ids and not as_was:
            done = rerender(s, runtime, outbox_ids)
            failed, superseded = done.failed, done.superseded
            outbox_ids = done.renewed
            if superseded:
                s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(superseded))).values(status="discarded"))
        if outbox_ids:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).values(status="pending", attempts=0, next_attempt_at=utcnow()))
        if inbox_ids:
            s.execute(update(InboxRow).where(InboxRow.id.in_(inbox_ids)).values(status="pending", error=None))
        mode = "as_was" if as_was else "rerendered"
        for kind, ids in (("outbox", outbox_ids), ("inbox", inbox_ids)):
            for row_id in ids:
                s.add(AuditEntry(actor=actor, action="dlq.replay", target=f"{kind}:{row_id}", detail={"mode": mode} if kind == "outbox" else {}))
        for row_id, other in superseded.items():
            s.add(AuditEntry(actor=actor, action="dlq.replay", target=f"outbox:{row_id}", detail={"superseded_by": other}))
    if inline:
        from hub.pipeline.inline import run_inline

        run_inline(runtime, inbox_ids=inbox_ids, outbox_ids=outbox_ids)
    else:
        from hub.pipeline.jobs import _safely, enqueue_deliver, enqueue_process

        if outbox_ids:
            _safely("delivery", lambda: enqueue_deliver(runtime, outbox_ids, fresh=True))
        if inbox_ids:
            _safely("processing", lambda: enqueue_process(runtime, inbox_ids, fresh=True))
    return {"outbox": len(outbox_ids), "inbox": len(inbox_ids), "failed": failed, "superseded": superseded}


def discard(runtime_or_db, refs: list[str] | None, *, actor: str) -> dict[str, int]:
    """Give up on the given dead letters (or all with ``refs=None``): status ``discarded``,
    kept for the record, no longer listed or replayed. Audited per row."""
    db = getattr(runtime_or_db, "db", runtime_or_db)
    with db.session() as s:
        outbox_ids, inbox_ids = _select(s, refs)
        if outbox_ids:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).values(status="discarded"))
        if inbox_ids:
            s.execute(update(InboxRow).where(InboxRow.id.in_(inbox_ids)).values(status="discarded"))
        for kind, ids in (("outbox", outbox_ids), ("inbox", inbox_ids)):
            for row_id in ids:
                s.add(AuditEntry(actor=actor, action="dlq.discard", target=f"{kind}:{row_id}", detail={}))
    return {"outbox": len(outbox_ids), "inbox": len(inbox_ids)}
