"""Process: inbox rows → mapping → identity resolution → store → outbox, in one transaction.

Pipeline rule 2. For a batch of pending inbox rows:

1. map each raw payload with its stream's inbound mapping; a record the mapping rejects is
   marked ``rejected`` with the field and value, and the rest of the batch continues;
2. drop values that are our own echo (equal to what the hub last wrote to that record);
3. resolve identities and apply attributes, tags, events and links (``hub.contacts``);
4. for every contact whose data changed, render each destination's outbound mapping and
   write an outbox row — never back to the origin, and not when the payload equals what
   the destination already has from us;
5. commit all of it together (transactional outbox), then delivery is enqueued.

Re-processing a row is harmless: attributes change only when values do, events are unique
per native id, and outbox idempotency keys are unique.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import update

from hub.contacts.apply import ApplyItem, apply_batch
from hub.mapping import MappingError, MappingRecordError, canonical_view
from hub.pipeline.claims import claim_inbox
from hub.pipeline.hashing import jsonable, payload_hash
from hub.pipeline.preview import hold_status
from hub.pipeline import outbound
from hub.pipeline.links import last_written_hashes, written_values
from hub.pipeline.outbound import Change
from hub.pipeline.reviews import open_duplicate_reviews
from hub.pipeline.views import load_views
from hub.contacts.queries import OUTBOUND_WRITE
from hub.store import transient
from hub.store.models import Event, InboxRow, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

#: The inbox columns processing reads (plain rows: no ORM objects on the hot path).
_INBOX_COLUMNS = (InboxRow.id, InboxRow.connector, InboxRow.stream, InboxRow.native_id, InboxRow.payload,
                  InboxRow.source_updated_at, InboxRow.deleted)

log = logging.getLogger(__name__)

_MISSING = object()


@dataclass
class ProcessOutcome:
    processed: int = 0
    rejected: int = 0
    echoes: int = 0
    outbox_ids: list[int] = field(default_factory=list)
    contacts_changed: int = 0

    def summary(self) -> dict[str, Any]:
        return {"processed": self.processed, "rejected": self.rejected, "echoes": self.echoes, "outbox": len(self.outbox_ids)}


def _strip_echo(record, written: dict[str, Any], preferred: Callable[[str], bool] = lambda name: False) -> bool:
    """Remove attributes equal to what the hub last wrote to this record; True if any.

    An attribute whose policy prefers this very source is kept: its value is the same, but
    applying it makes the preferred system its recorded source, so a less preferred
    system can no longer override it (a CRM row the hub created from a lead becomes the
    CRM's own once read back)."""
    if not written:
        return False
    echoed = [name for name, value in record.attributes.items() if name in written and written[name] == value and not preferred(name)]
    for name in echoed:
        del record.attributes[name]
    if "__tags__" in written and record.tags and set(record.tags) <= set(written["__tags__"]):
        record.tags = []
        echoed.append("tags")
    return bool(echoed)


def _mark(session, ids: list[int], status: str, error: str | None = None) -> None:
    if ids:
        session.execute(
            update(InboxRow).where(column_in(session, InboxRow.id, ids)).values(status=status, error=error, processed_at=utcnow(), attempts=InboxRow.attempts + 1)
        )


def _destinations(runtime) -> list[tuple[str, str, list[str] | None]]:
    """Every enabled ``(instance, sink, sources)``: each may hold any changed contact
    (:mod:`hub.pipeline.outbound` decides which and what)."""
    out = []
    for name, inst in runtime.config.enabled_connectors().items():
        for sink in inst.sinks.values():
            if sink.enabled:
                out.append((name, sink.name, sink.sources))
    return out


def _sink(runtime, dest: str, sink: str, cache: dict) -> Any:
    """The destination's sink object (once per batch), or None when the connector cannot be
    built — its writes then fail visibly in delivery."""
    if (dest, sink) not in cache:
        try:
            cache[(dest, sink)] = runtime.connector(dest).sink(sink)
        except Exception:
            cache[(dest, sink)] = None
    return cache[(dest, sink)]


def _renders(mapping, contact_id: int, view: dict[str, Any], native_id: str | None, names: list[str]) -> Any:
    try:
        return mapping.apply(canonical_view(contact_id, view["attributes"], view["identities"], view["tags"], native_id, names))
    except MappingRecordError:
        return None


def _write_outbox(session, runtime, changed: dict[int, Change], views: dict[int, dict[str, Any]], outcome: ProcessOutcome) -> None:
    """One outbox row per (changed contact, destination sink) that needs a new rendering.

    Convergent (:mod:`hub.pipeline.outbound`): every decision reads the contact's current
    state, its links and its rendering history for the destination, all loaded per batch,
    not per contact."""
    if not changed:
        return
    destinations = _destinations(runtime)
    links = outbound.contact_links(session, changed, values_of={dest for dest, _sink, _sources in destinations})
    history = outbound.histories(session, changed)
    superseded: list[int] = []
    rendered: list[tuple[int, str, str, str, dict, str | None, dict, str, list[str]]] = []
    known: dict[tuple[str, str], set[str]] = {}
    sinks: dict[tuple[str, str], Any] = {}
    #: Contacts a destination's mapping cannot render (e.g. no WeCom id for the tags sink):
    #: usually expected, so one line per destination and batch, not one per contact.
    unrenderable: dict[tuple[str, str], list] = {}
    for contact_id, change in changed.items():
        view = views.get(contact_id)
        if view is None:
            continue
        contact_links = links.get(contact_id, [])
        origin = ",".join(sorted(change.origins))
        for dest, sink, sources in destinations:
            if not outbound.in_scope(sources, contact_links):
                continue
            past = history.get((dest, sink, contact_id))
            names = sorted(outbound.names_to_render(change, dest, past, view["attributes"]))
            mapping = runtime.mapping(dest, sink=sink)
            record = outbound.record_for(contact_links, dest, sink)
            native_id = record.native_id if record is not None else None
            full = canonical_view(contact_id, view["attributes"], view["identities"], view["tags"], native_id, names)
            try:
                payload = mapping.apply(full)
            except MappingRecordError as exc:
                seen = unrenderable.setdefault((dest, sink), [0, contact_id, exc.message])
                seen[0] += 1
                continue
            if not payload:
                continue
            digest = payload_hash(payload)
            if past is not None and past.latest_hash == digest and past.latest_status in outbound.LIVE_STATES:
                continue  # this very rendering is already on its way, or there
            held = outbound.as_held_by(view, record)
            if held is not None and _renders(mapping, contact_id, held, native_id, names) == payload:
                # The destination's own record already says exactly this: nothing to write,
                # and a pending rendering (a create a pull has since linked) is moot.
                if past is not None:
                    superseded.extend(past.pending_ids)
                continue
            rendered.append((contact_id, origin, dest, sink, view, native_id, payload, digest, names))
            if native_id is not None:
                known.setdefault((dest, sink), set()).add(native_id)
    for (dest, sink), (count, example, message) in unrenderable.items():
        log.info("outbound mapping %s.%s skipped %d contact(s) it cannot render, e.g. contact %s: %s", dest, sink, count, example, message)
    last: dict[tuple[str, str], dict[str, str | None]] = {
        (dest, sink): last_written_hashes(session, dest, sink, natives) for (dest, sink), natives in known.items()
    }
    rows = []
    now = utcnow()
    for contact_id, origin, dest, sink, view, native_id, payload, digest, names in rendered:
        past = history.get((dest, sink, contact_id))
        if native_id is not None and last[(dest, sink)].get(native_id) == digest:
            continue  # the destination already holds exactly this
        due = now
        if native_id is None:  # a create: wait for the settle window, then match first
            matches = bool(getattr(_sink(runtime, dest, sink, sinks), "matches", False))
            due = now + timedelta(seconds=outbound.create_delay(runtime, dest, sink, matches))
            if past is not None and past.pending_due is not None:
                due = min(due, past.pending_due)
        after = past.latest_id if past is not None else 0
        rows.append(
            {
                "connector": dest,
                "sink": sink,
                "contact_id": contact_id,
                "origin": origin[:64],
                # Unique per rendering *after* the destination's latest one: the same change
                # processed twice is one row, but A → B → A is three writes.
                "idempotency_key": f"{dest}:{sink}:{contact_id}:{digest[:24]}:{after}",
                "payload": payload,
                "payload_hash": digest,
                "written_values": {**view["attributes"], "__tags__": view["tags"]},
                "changed": names,
                "native_id": native_id,
                "status": hold_status(runtime, session, dest, sink),  # 'held' until a preview sink is approved
                "next_attempt_at": due,
            }
        )
        if past is not None:
            superseded.extend(past.pending_ids)
    if superseded:
        session.execute(update(OutboxRow).where(column_in(session, OutboxRow.id, superseded), OutboxRow.status.in_(outbound.UNSENT_STATES))
                        .values(status="superseded"))
    got = insert_ignore(session, OutboxRow, rows, ["idempotency_key"], returning=[OutboxRow.id, OutboxRow.idempotency_key])
    outcome.outbox_ids.extend(sorted(r[0] for r in got))
    _timeline_writes(session, runtime, rows, got, now, sinks)


def _timeline_writes(session, runtime, rows: list[dict[str, Any]], got, now, sinks: dict) -> None:
    """Each new outbox row on its contact's timeline: destination, what it does (the
    sink's own words, ``Sink.describe``) and — filled in when read — its delivery state."""
    by_key = {row["idempotency_key"]: row for row in rows}
    events = []
    for outbox_id, key in got:
        row = by_key.get(key)
        if row is None or row["contact_id"] is None:
            continue
        dest, sink = row["connector"], row["sink"]
        target = _sink(runtime, dest, sink, sinks)
        described = target.describe(row["payload"]) if target is not None else ", ".join(sorted(row["payload"]))
        events.append({
            "connector": dest, "native_id": f"outbox:{outbox_id}", "kind": OUTBOUND_WRITE, "occurred_at": now,
            "summary": f"{dest}.{sink}: {described}"[:500], "contact_id": row["contact_id"], "origin_contact_id": row["contact_id"],
            "created_at": now,
            "data": {"destination": dest, "sink": sink, "outbox_id": outbox_id, "origin": row["origin"],
                     "action": "create" if row["native_id"] is None else "update", "record_id": row["native_id"],
                     "delivery": row["status"]},
        })
    if events:
        insert_ignore(session, Event, events, ["connector", "native_id"])


def _lost_values(runtime, items: list[tuple[Any, ApplyItem]], results, views: dict[int, dict[str, Any]]) -> dict[int, dict[str, set[str]]]:
    """Per contact and origin: the attributes the origin sent that lost under the field
    policy (the contact holds another value), so the origin gets the winning one."""
    lost: dict[int, dict[str, set[str]]] = {}
    for (row, item), result in zip(items, results):
        view = views.get(result.contact_id) if result.contact_id is not None else None
        if view is None or item.record.deleted:
            continue
        for name, value in item.record.attributes.items():
            if runtime.config.field_policy(name).policy == "none":
                continue
            if view["attributes"].get(name, _MISSING) != jsonable(value):
                lost.setdefault(result.contact_id, {}).setdefault(row.connector, set()).add(name)
    return lost


def _apply(session, runtime, items: list[tuple[Any, ApplyItem]], outcome: ProcessOutcome) -> None:
    results = apply_batch(session, runtime.rules, runtime.config.fields, [item for _, item in items],
                          notable=runtime.config.hub.timeline_attributes)
    changed: dict[int, Change] = {}
    for (row, _), result in zip(items, results):
        if result.contact_id is None:
            continue
        change = changed.setdefault(result.contact_id, Change())
        change.origins.add(row.connector)
        change.names.update(result.attributes_changed)
        if result.tags_added:
            change.names.add("tags")
        if result.created or result.merged_ids:
            change.names.add("identities")
    if runtime.config.automations:  # departures signal members, not contacts (hub.automations.departure)
        from hub.automations.departure import signal

        signal(session, runtime, items)
    if not changed:
        return
    # Lock before reading: of two workers changing one contact, the later renders both.
    outbound.lock_contacts(session, changed)
    views = load_views(session, changed)
    for contact_id, per_origin in _lost_values(runtime, items, results, views).items():
        changed[contact_id].lost = per_origin
    open_duplicate_reviews(session, runtime, {r.contact_id for r in results if r.merged_ids and r.contact_id is not None})
    outcome.contacts_changed += sum(1 for c in changed.values() if c.names or c.lost)
    _write_outbox(session, runtime, changed, views, outcome)
    if runtime.config.automations:  # rules and journey enroll/exit (docs/automations.md)
        from hub.automations.rules import evaluate

        outcome.outbox_ids.extend(evaluate(session, runtime, items, results, views))


def process_inbox(runtime, inbox_ids: list[int] | None = None, *, stream: tuple[str, str] | None = None,
                  limit: int | None = None, on_claimed: Callable[[int], Any] | None = None) -> ProcessOutcome:
    """Process the pending rows among ``inbox_ids``, or the oldest ``limit`` pending rows of
    ``stream`` (``(instance, stream)``: a push job). The rows are claimed first
    (:mod:`hub.pipeline.claims`), so concurrent jobs never process one row twice;
    ``on_claimed(n)`` hears how many before the work starts (a push job with a full batch
    queues the next one then, for another worker to claim the following rows meanwhile).

    A transient database error — a deadlock with another worker's batch, say
    (:mod:`hub.store.transient`) — is nobody's record's fault: the whole transaction rolls
    back, its rows are pending again, and it runs again after a jittered wait, up to
    :data:`~hub.store.transient.ATTEMPTS` times; then the error is raised and the rows wait
    for the reconciler. No record is rejected for it."""
    attempt = 1
    while True:
        try:
            return _process_once(runtime, inbox_ids, stream, limit, on_claimed)
        except Exception as exc:
            if attempt >= transient.ATTEMPTS or not transient.is_transient(exc):
                raise
            delay = transient.retry_delay(attempt)
            attempt += 1
            log.warning("processing rolled back (%s); attempt %d of %d in %.2f s",
                        transient.describe(exc), attempt, transient.ATTEMPTS, delay)
            time.sleep(delay)


def _process_once(runtime, inbox_ids, stream, limit, on_claimed) -> ProcessOutcome:
    """One attempt of :func:`process_inbox`: one transaction."""
    outcome = ProcessOutcome()
    with runtime.db.session() as session:
        rows = claim_inbox(session, _INBOX_COLUMNS, ids=inbox_ids, stream=stream, limit=limit)
        if on_claimed is not None:
            on_claimed(len(rows))
        if not rows:
            return outcome
        items: list[tuple[Any, ApplyItem]] = []
        by_stream: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            by_stream.setdefault((row.connector, row.stream), []).append(row)
        for (instance, stream), group in by_stream.items():
            try:
                mapping = runtime.mapping(instance, stream=stream)
            except (MappingError, KeyError) as exc:
                message = "; ".join(exc.errors) if isinstance(exc, MappingError) else f"unknown connector instance or stream: {exc}"
                _mark(session, [r.id for r in group], "rejected", f"mapping unavailable: {message}"[:2000])
                outcome.rejected += len(group)
                continue
            results, rejected = mapping.apply_many([r.payload for r in group])
            written = written_values(session, instance, [r.native_id for r in group])

            def preferred(name: str, instance: str = instance) -> bool:
                policy = runtime.config.field_policy(name)
                return policy.policy == "prefer" and policy.prefer == instance
            for index, error in rejected:
                _mark(session, [group[index].id], "rejected", error.message[:2000])
                outcome.rejected += 1
            for row, record in zip(group, results):
                if record is None:
                    continue
                record.source_updated_at = record.source_updated_at or row.source_updated_at
                record.deleted = record.deleted or row.deleted
                if _strip_echo(record, written.get(row.native_id, {}), preferred):
                    outcome.echoes += 1
                items.append((row, ApplyItem(instance, stream, row.native_id, record)))
        if items:
            try:
                with session.begin_nested():
                    _apply(session, runtime, items, outcome)
                    _mark(session, [row.id for row, _ in items], "processed")
                outcome.processed += len(items)
            except Exception as exc:
                if transient.is_transient(exc):
                    raise  # no record's fault: the whole transaction again (process_inbox)
                # One poison record must not block its batch forever: retry one by one,
                # rejecting only the records that fail on their own.
                log.exception("batch of %d failed; retrying record by record", len(items))
                outcome.outbox_ids.clear()
                for row, item in items:
                    try:
                        with session.begin_nested():
                            _apply(session, runtime, [(row, item)], outcome)
                            _mark(session, [row.id], "processed")
                        outcome.processed += 1
                    except Exception as exc:
                        if transient.is_transient(exc):
                            raise
                        _mark(session, [row.id], "rejected", f"processing failed: {type(exc).__name__}: {exc}"[:2000])
                        outcome.rejected += 1
    return outcome
