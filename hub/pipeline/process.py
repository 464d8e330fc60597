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
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import update

from hub.contacts.apply import ApplyItem, apply_batch
from hub.mapping import MappingError, MappingRecordError, canonical_view
from hub.pipeline.claims import claim_inbox
from hub.pipeline.hashing import payload_hash
from hub.pipeline.preview import hold_status
from hub.pipeline.links import destination_native_ids, last_written_hashes, written_values
from hub.pipeline.views import load_views
from hub.store.models import InboxRow, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

#: The inbox columns processing reads (plain rows: no ORM objects on the hot path).
_INBOX_COLUMNS = (InboxRow.id, InboxRow.connector, InboxRow.stream, InboxRow.native_id, InboxRow.payload,
                  InboxRow.source_updated_at, InboxRow.deleted)

log = logging.getLogger(__name__)


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


def _destinations(runtime, origins: set[str]) -> list[tuple[str, str]]:
    """``(instance, sink)`` pairs that receive a change made at ``origins``. A change never
    goes back to its origin; when several systems changed the contact in one batch, each
    of them still receives what the others changed."""
    out = []
    for name, inst in runtime.config.enabled_connectors().items():
        if origins == {name}:
            continue
        for sink in inst.sinks.values():
            if sink.enabled and (sink.sources is None or origins & set(sink.sources) - {name}):
                out.append((name, sink.name))
    return out


def _write_outbox(session, runtime, changed: dict[int, tuple[set[str], set[str]]], outcome: ProcessOutcome) -> None:
    """One outbox row per (changed contact, destination sink) whose payload is new.

    Everything it reads is read per batch, not per contact: the views, each destination's
    native ids of the contacts, and the hashes last written to those records."""
    if not changed:
        return
    views = load_views(session, changed)
    destinations: dict[frozenset[str], list[tuple[str, str]]] = {}
    planned: list[tuple[int, str, str, str, dict]] = []  # contact, origin, dest, sink, view
    wanted: dict[str, tuple[set[str], set[int]]] = {}  # dest -> (sinks, contacts)
    for contact_id, (origins, names) in changed.items():
        view = views.get(contact_id)
        if view is None:
            continue
        key = frozenset(origins)
        if key not in destinations:
            destinations[key] = _destinations(runtime, origins)
        origin = ",".join(sorted(origins))
        for dest, sink in destinations[key]:
            planned.append((contact_id, origin, dest, sink, view))
            sinks, contacts = wanted.setdefault(dest, (set(), set()))
            sinks.add(sink)
            contacts.add(contact_id)
    native_ids: dict[tuple[str, str, int], str] = {}
    for dest, (sinks, contacts) in wanted.items():
        for (sink, contact_id), native_id in destination_native_ids(session, dest, sinks, contacts).items():
            native_ids[(dest, sink, contact_id)] = native_id
    rendered: list[tuple[int, str, str, str, dict, str | None, dict, str]] = []
    known: dict[tuple[str, str], set[str]] = {}
    #: Contacts a destination's mapping cannot render (e.g. no WeCom id for the tags sink):
    #: usually expected, so one line per destination and batch, not one per contact.
    unrenderable: dict[tuple[str, str], list] = {}
    for contact_id, origin, dest, sink, view in planned:
        mapping = runtime.mapping(dest, sink=sink)
        native_id = native_ids.get((dest, sink, contact_id))
        names = changed[contact_id][1]
        full = canonical_view(contact_id, view["attributes"], view["identities"], view["tags"], native_id, sorted(names))
        try:
            payload = mapping.apply(full)
        except MappingRecordError as exc:
            seen = unrenderable.setdefault((dest, sink), [0, contact_id, exc.message])
            seen[0] += 1
            continue
        if not payload:
            continue
        rendered.append((contact_id, origin, dest, sink, view, native_id, payload, payload_hash(payload)))
        if native_id is not None:
            known.setdefault((dest, sink), set()).add(native_id)
    for (dest, sink), (count, example, message) in unrenderable.items():
        log.info("outbound mapping %s.%s skipped %d contact(s) it cannot render, e.g. contact %s: %s", dest, sink, count, example, message)
    last: dict[tuple[str, str], dict[str, str | None]] = {
        (dest, sink): last_written_hashes(session, dest, sink, natives) for (dest, sink), natives in known.items()
    }
    rows = []
    now = utcnow()
    for contact_id, origin, dest, sink, view, native_id, payload, digest in rendered:
        if native_id is not None and last[(dest, sink)].get(native_id) == digest:
            continue  # the destination already holds exactly this
        rows.append(
            {
                "connector": dest,
                "sink": sink,
                "contact_id": contact_id,
                "origin": origin,
                "idempotency_key": f"{dest}:{sink}:{contact_id}:{digest[:24]}",
                "payload": payload,
                "payload_hash": digest,
                "written_values": {**view["attributes"], "__tags__": view["tags"]},
                "native_id": native_id,
                "status": hold_status(runtime, session, dest, sink),  # 'held' until a preview sink is approved
                "next_attempt_at": now,
            }
        )
    got = insert_ignore(session, OutboxRow, rows, ["idempotency_key"], returning=[OutboxRow.id])
    outcome.outbox_ids.extend(sorted(r[0] for r in got))


def _apply(session, runtime, items: list[tuple[Any, ApplyItem]], outcome: ProcessOutcome) -> None:
    results = apply_batch(session, runtime.rules, runtime.config.fields, [item for _, item in items])
    changed: dict[int, tuple[set[str], set[str]]] = {}
    for (row, _), result in zip(items, results):
        if result.contact_id is None:
            continue
        names = set(result.attributes_changed) | ({"tags"} if result.tags_added else set())
        if result.created or result.merged_ids:
            names.add("identities")
        if names:
            origins, seen = changed.get(result.contact_id, (set(), set()))
            changed[result.contact_id] = (origins | {row.connector}, seen | names)
    outcome.contacts_changed += len(changed)
    _write_outbox(session, runtime, changed, outcome)


def process_inbox(runtime, inbox_ids: list[int] | None = None, *, stream: tuple[str, str] | None = None,
                  limit: int | None = None, on_claimed: Callable[[int], Any] | None = None) -> ProcessOutcome:
    """Process the pending rows among ``inbox_ids``, or the oldest ``limit`` pending rows of
    ``stream`` (``(instance, stream)``: a push job). The rows are claimed first
    (:mod:`hub.pipeline.claims`), so concurrent jobs never process one row twice;
    ``on_claimed(n)`` hears how many before the work starts (a push job with a full batch
    queues the next one then, for another worker to claim the following rows meanwhile)."""
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
            except Exception:
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
                        _mark(session, [row.id], "rejected", f"processing failed: {type(exc).__name__}: {exc}"[:2000])
                        outcome.rejected += 1
    return outcome
