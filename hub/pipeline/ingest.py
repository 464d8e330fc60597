"""Ingest: raw native records into the inbox, deduped, before anyone is told "received".

Rule 1 of the pipeline: verify → parse → insert into ``inbox`` with a unique dedupe key →
commit → enqueue processing → answer. A duplicate insert is a no-op, so a webhook retried
by the sender or a page re-read after a crash stores nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.connector import Record
from hub.pipeline.hashing import canonical_json, payload_hash
from hub.store.models import InboxRow
from hub.store.upsert import insert_ignore


def dedupe_key(record: Record, payload: dict) -> str:
    """The record's own event key, or native id + content hash (unchanged re-reads collapse)."""
    if record.dedupe_key:
        return record.dedupe_key[:255]
    return f"{record.native_id[:180]}:{payload_hash([payload, record.deleted])[:32]}"


def _payload_and_key(record: Record) -> tuple[dict, str]:
    """:func:`jsonable` of the record's data and its :func:`dedupe_key`, serialising once:
    ``canonical_json([payload, deleted])`` is ``[<canonical payload>,<true|false>]``."""
    text = canonical_json(record.data)
    payload = json.loads(text)
    if record.dedupe_key:
        return payload, record.dedupe_key[:255]
    digest = hashlib.sha256(f"[{text},{'true' if record.deleted else 'false'}]".encode()).hexdigest()
    return payload, f"{record.native_id[:180]}:{digest[:32]}"


def store_records(session: Session, instance: str, stream: str, records: Iterable[Record], run_id: int | None = None) -> tuple[list[int], int]:
    """Insert records into the inbox; return (new inbox ids, number of duplicates)."""
    rows, duplicates = inbox_rows(instance, [(stream, record) for record in records], run_id)
    if not rows:
        return [], duplicates
    # One cached executemany; SQLAlchemy splits it under each dialect's parameter limit.
    got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id])
    inserted = sorted(r[0] for r in got)
    duplicates += len(rows) - len(inserted)
    return inserted, duplicates


def store_push(db, instance: str, records: Iterable[tuple[str, Record]]) -> dict[str, list[int]]:
    """The webhook door's insert: one autocommitted ``INSERT … ON CONFLICT DO NOTHING``
    for all of a push's records (no BEGIN/COMMIT round trips; the statement is atomic on
    its own). Returns the new inbox ids by stream; a retried push returns none."""
    rows, _ = inbox_rows(instance, records)
    if not rows:
        return {}
    try:
        with db.autocommit() as session:
            got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id, InboxRow.stream])
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # A pooled connection the server had dropped (the door's pool does not pre-ping):
        # the pool is refreshed; the insert is idempotent, so once more. Had the first
        # attempt committed after all, its rows come back as duplicates (no new ids) and
        # the reconciler queues their processing.
        with db.autocommit() as session:
            got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id, InboxRow.stream])
    by_stream: dict[str, list[int]] = {}
    for row_id, stream in sorted(got):
        by_stream.setdefault(stream, []).append(row_id)
    return by_stream


def inbox_rows(instance: str, records: Iterable[tuple[str, Record]], run_id: int | None = None) -> tuple[list[dict], int]:
    """Inbox row values for ``(stream, record)`` pairs, minus in-batch duplicates (and their count)."""
    rows = []
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for stream, record in records:
        payload, key = _payload_and_key(record)
        if (stream, key) in seen:  # the same record twice in one batch
            duplicates += 1
            continue
        seen.add((stream, key))
        rows.append(
            {
                "connector": instance,
                "stream": stream,
                "native_id": str(record.native_id)[:255],
                "dedupe_key": key,
                "payload": payload,
                "source_updated_at": record.updated_at,
                "deleted": record.deleted,
                "status": "pending",
                "run_id": run_id,
            }
        )
    return rows, duplicates
