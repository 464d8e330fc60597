"""Ingest: raw native records into the inbox, deduped, before anyone is told "received".

Rule 1 of the pipeline: verify → parse → insert into ``inbox`` with a unique dedupe key →
commit → enqueue processing → answer. A duplicate insert is a no-op, so a webhook retried
by the sender or a page re-read after a crash stores nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

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
    rows = []
    seen: set[str] = set()
    duplicates = 0
    for record in records:
        payload, key = _payload_and_key(record)
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
    # One cached executemany; SQLAlchemy splits it under each dialect's parameter limit.
    got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id])
    inserted = sorted(r[0] for r in got)
    duplicates += len(rows) - len(inserted)
    return inserted, duplicates
