"""Match before create: a create is the last resort, not the first.

A lead processed before that person's CRM row has been pulled used to become a second CRM
row. Now a create (an outbox row with no native id) for a sink that can match
(``Sink.matches``) waits out the sink's settle window (``create_after``) and, when it
falls due, is re-checked right before it would be written:

1. the contact (after any merge) has meanwhile gained a record in the destination — a pull
   linked it: the create is ``superseded``; the convergent outbound rules have already
   rendered whatever the record lacks as an update;
2. ``sink.match(payload)`` finds existing records (the CRM row with the same phone in
   normalised form): the create becomes ``matched``. Each match is linked to the contact
   and, when the sink names the stream that reads it, stored in the inbox exactly as a
   pull would store it (same dedupe key) and processed, so its ids (the ``crm_id``) join
   the contact under the identity rules — several matches with different CRM ids become a
   review item, as for any strong-id clash;
3. nothing matches: the create is written.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy import select, update

from hub.identity.merge import root_of, roots_of
from hub.pipeline.ingest import store_records
from hub.store.models import Link, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import insert_ignore

log = logging.getLogger(__name__)


def _existing_record(session, instance: str, contact_id: int) -> str | None:
    row = session.execute(
        select(Link.native_id).where(Link.connector == instance, Link.contact_id == contact_id, Link.state == "active").order_by(Link.id)
    ).first()
    return None if row is None else row[0]


def _one_create_per_person(runtime, rows: list[Any], counts: dict[str, int]) -> list[Any]:
    """Of the claimed creates whose contacts are one person now (merged since they were
    rendered, e.g. by a reviewer), only the newest is written; the older ones are
    ``superseded``. Written side by side, none would find the other's record first."""
    creates = [r for r in rows if r.native_id is None and r.contact_id is not None
               and not (r.origin or "").startswith("automation:")]
    if len(creates) < 2:
        return rows
    with runtime.db.session() as s:
        roots = roots_of(s, {r.contact_id for r in creates})
        newest = {(r.connector, r.sink, roots.get(r.contact_id, r.contact_id)): r.id for r in sorted(creates, key=lambda r: r.id)}
        older = {r.id for r in creates} - set(newest.values())
        if not older:
            return rows
        s.execute(update(OutboxRow).where(OutboxRow.id.in_(sorted(older))).values(status="superseded", last_error=None))
    counts["superseded"] += len(older)
    log.info("superseded %d create(s) of contacts merged since they were rendered: outbox %s", len(older), sorted(older))
    return [r for r in rows if r.id not in older]


def settle_creates(runtime, sink, rows: list[Any], enqueue_process: Callable[[list[int]], None] | None = None
                   ) -> tuple[list[Any], list[tuple[Any, Exception]], dict[str, int]]:
    """Re-check claimed ``rows`` (status ``sending``) of one sink before they are written.

    Returns the rows still to write, the rows whose lookup failed (with the error: the
    caller retries them like a failed write, never creates blindly) and counts of the
    ``superseded`` / ``matched`` ones, which are settled here."""
    counts = {"superseded": 0, "matched": 0}
    if not getattr(sink, "matches", False):
        return rows, [], counts
    rows = _one_create_per_person(runtime, rows, counts)
    go = []
    failed: list[tuple[Any, Exception]] = []
    inbox_ids: list[int] = []
    for row in rows:
        if row.native_id is not None or row.contact_id is None:
            go.append(row)
            continue
        with runtime.db.session() as s:
            contact = root_of(s, row.contact_id) or row.contact_id
            linked = _existing_record(s, row.connector, contact)
            if linked is not None:
                s.execute(update(OutboxRow).where(OutboxRow.id == row.id)
                          .values(status="superseded", native_id=linked, last_error=None))
                counts["superseded"] += 1
                continue
        try:
            found = sink.match(row.payload)
        except Exception as exc:  # a failed lookup must not turn into a blind create
            failed.append((row, exc))
            continue
        if not found:
            go.append(row)
            continue
        with runtime.db.session() as s:
            contact = root_of(s, row.contact_id) or row.contact_id
            now = utcnow()
            for match in found:
                stream = match.stream or row.sink
                insert_ignore(s, Link, [{"connector": row.connector, "stream": stream, "native_id": str(match.native_id)[:255],
                                         "contact_id": contact, "origin_contact_id": contact, "state": "active"}],
                              ["connector", "stream", "native_id"])
                if match.stream and match.record is not None:
                    ids, _ = store_records(s, row.connector, match.stream, [match.record])
                    inbox_ids.extend(ids)
            s.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(
                status="matched", native_id=str(found[0].native_id)[:255], delivered_at=now, last_error=None))
        counts["matched"] += 1
        log.info("outbox %s: %s.%s already has %s for contact %s; linked instead of creating",
                 row.id, row.connector, row.sink, ", ".join(str(m.native_id) for m in found), contact)
    if inbox_ids and enqueue_process is not None:
        enqueue_process(inbox_ids)
    return go, failed, counts
