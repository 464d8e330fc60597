"""Ingest: raw native records into the inbox, deduped, before anyone is told "received".

Rule 1 of the pipeline: verify → parse → insert into ``inbox`` with a unique dedupe key →
commit → enqueue processing → answer. A duplicate insert is a no-op, so a webhook retried
by the sender or a page re-read after a crash stores nothing twice.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from hub.connector import Record
from hub.pipeline.hashing import jsonable, payload_hash
from hub.store.models import InboxRow
from hub.store.upsert import insert_ignore


def dedupe_key(record: Record, payload: dict) -> str:
    """The record's own event key, or native id + content hash (unchanged re-reads collapse)."""
    if record.dedupe_key:
        return record.dedupe_key[:255]
    return f"{record.native_id[:180]}:{payload_hash([payload, record.deleted])[:32]}"


def store_records(session: Session, instance: str, stream: str, records: Iterable[Record], run_id: int | None = None) -> tuple[list[int], int]:
    """Insert records into the inbox; return (new inbox ids, number of duplicates)."""
    rows = []
    seen: set[str] = set()
    duplicates = 0
    for record in records:
        payload = jsonable(record.data)
        key = dedupe_key(record, payload)
        if key in seen:  # the same record twice in one batch
            duplicates += 1
            continue
        seen.add(key)
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
    if not rows:
        return [], duplicates
    inserted: list[int] = []
    # Chunk to stay under SQLite's bound-parameter limit.
    for start in range(0, len(rows), 200):
        chunk = rows[start : start + 200]
        got = insert_ignore(session, InboxRow, chunk, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id])
        inserted.extend(r[0] for r in got)
    duplicates += len(rows) - len(inserted)
    return inserted, duplicates
