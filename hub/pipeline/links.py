"""Links remember what the hub last wrote to each native record, for echo suppression.

When a sink write succeeds, the destination record's link stores the hash of the payload
and the canonical values it carried. When that record is read back, values equal to what we
wrote are our own echo, not a change made by a person in that system — applying them as
"latest" would undo any newer change made elsewhere meanwhile.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select

from hub.store.models import Link
from hub.store.types import utcnow
from hub.store.upsert import column_in, upsert


def record_write(session, connector: str, stream: str, native_id: str, contact_id: int, payload_hash: str, values: dict[str, Any] | None) -> None:
    """Upsert the destination link after a successful write."""
    record_writes(session, [(connector, stream, native_id, contact_id, payload_hash, values)])


def record_writes(session, writes: list[tuple[str, str, str, int, str, dict[str, Any] | None]]) -> None:
    """:func:`record_write` for many ``(connector, stream, native_id, contact_id, payload_hash,
    values)`` at once (one executemany); a record written twice keeps the last write."""
    from hub.identity.merge import roots_of

    now = utcnow()
    # A write is claimed with its contact; if that contact was merged while the write was in
    # flight, its new link belongs to the survivor (where the merge moved the others), or the
    # survivor's own create would find no record there and write a second one.
    roots = roots_of(session, {w[3] for w in writes if w[3] is not None})
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for connector, stream, native_id, contact_id, digest, values in writes:
        rows[(connector, stream, native_id)] = {
            "connector": connector, "stream": stream, "native_id": native_id, "contact_id": roots.get(contact_id, contact_id), "state": "active",
            "last_written_hash": digest, "last_written_values": values or {}, "last_written_at": now,
        }
    if rows:
        upsert(session, Link, list(rows.values()), ["connector", "stream", "native_id"],
               ["last_written_hash", "last_written_values", "last_written_at"])


def written_values(session, connector: str, native_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What the hub last wrote to each of these native records (across the connector's
    sinks): ``{native_id: {attribute: value, "__tags__": [...]}}``."""
    merged: dict[str, dict[str, Any]] = {}
    unique = sorted(set(native_ids))
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(Link.native_id, Link.last_written_values).where(
                Link.connector == connector, column_in(session, Link.native_id, unique[start : start + 500]), Link.last_written_at.is_not(None)
            )
        )
        for native_id, values in rows:
            merged.setdefault(native_id, {}).update(values or {})
    return merged


def destination_native_id(session, connector: str, sink: str, contact_id: int) -> str | None:
    """The contact's record in ``connector``: the sink's own link first, else any link."""
    rows = session.execute(
        select(Link.stream, Link.native_id).where(Link.connector == connector, Link.contact_id == contact_id, Link.state == "active")
    ).all()
    for stream, native_id in rows:
        if stream == sink:
            return native_id
    return rows[0][1] if rows else None


def last_written_hashes(session, connector: str, sink: str, native_ids: Iterable[str]) -> dict[str, str | None]:
    """``{native_id: last_written_hash}`` of the sink's links to these records."""
    out: dict[str, str | None] = {}
    unique = sorted(set(native_ids))
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(Link.native_id, Link.last_written_hash).where(
                Link.connector == connector, Link.stream == sink, column_in(session, Link.native_id, unique[start : start + 500])
            )
        )
        out.update((native_id, digest) for native_id, digest in rows)
    return out
