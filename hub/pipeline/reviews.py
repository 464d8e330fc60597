"""Review items the pipeline opens when a destination holds one person twice.

Two contacts that each had a record in the same destination (a CRM row each) can still
merge — through a shared phone when the destination's ids are not strong identities, or
when a reviewer merges them. The hub then writes to one of the records (the oldest link)
and must not do so silently: it opens a review item next to the merge conflicts
(``kind = duplicate_record``) naming both native ids and both contacts, so a person can
clean up the destination.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sqlalchemy import select

from hub.store.models import Link, MergeConflict
from hub.store.types import utcnow
from hub.store.upsert import column_in

KIND = "duplicate_record"  # hub.identity.review.DUPLICATE_RECORD


def record_streams(runtime) -> set[tuple[str, str]]:
    """``(instance, stream)`` pairs whose records are people a sink writes: one such
    record per person is expected, two are a duplicate."""
    out: set[tuple[str, str]] = set()
    for name, inst in runtime.config.enabled_connectors().items():
        if not inst.sinks:
            continue
        try:
            connector = runtime.connector(name)
        except Exception:  # unbuildable: its delivery reports that
            continue
        for sink_name in inst.sinks:
            try:
                stream = connector.sink(sink_name).record_stream()
            except (KeyError, AttributeError):
                continue
            if stream:
                out.add((name, stream))
    return out


def open_duplicate_reviews(session, runtime, contact_ids: Iterable[int]) -> list[int]:
    """Open a review item for each merged contact holding two or more records of one
    record stream; returns the new items' ids. An item already open is not repeated."""
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    watched = runtime.__dict__.setdefault("_record_streams", None)
    if watched is None:
        watched = runtime.__dict__["_record_streams"] = record_streams(runtime)
    if not watched:
        return []
    held: dict[tuple[int, str, str], list[tuple[str, int | None]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for contact_id, connector, stream, native_id, origin in session.execute(
            select(Link.contact_id, Link.connector, Link.stream, Link.native_id, Link.origin_contact_id)
            .where(column_in(session, Link.contact_id, ids[start : start + 500]), Link.state == "active")
            .order_by(Link.id)
        ):
            if (connector, stream) in watched:
                held[(contact_id, connector, stream)].append((native_id, origin))
    opened = []
    for (contact_id, connector, stream), records in held.items():
        if len(records) < 2:
            continue
        value = f"{connector}.{stream}"
        exists = session.execute(
            select(MergeConflict.id).where(MergeConflict.contact_a == contact_id, MergeConflict.kind == KIND,
                                           MergeConflict.value == value, MergeConflict.status == "open")
        ).first()
        if exists:
            continue
        other = next((origin for _, origin in records if origin not in (None, contact_id)), contact_id)
        natives = ", ".join(native for native, _ in records)
        item = MergeConflict(contact_a=contact_id, contact_b=other, kind=KIND, value=value[:255], status="open",
                             reason=f"{connector} has {len(records)} records for one person: {natives}", created_at=utcnow())
        session.add(item)
        session.flush()
        opened.append(item.id)
    return opened
