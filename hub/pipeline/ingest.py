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
from hub.store.db import Disconnected
from hub.store.models import InboxRow
from hub.store.types import utcnow
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
    its own). Returns the new inbox ids by stream; a retried push returns none.

    A push of one record (nearly all of them) goes as a plain single-row ``VALUES``
    statement on a DB-API cursor of the door's pool (:func:`_insert_one`); larger pushes
    as the set-based insert of :func:`insert_ignore`. A pooled connection the server had
    dropped (the door's pool does not pre-ping) is replaced and the insert tried once
    more: it is idempotent, so had the first attempt committed after all, its rows come
    back as duplicates (no new ids) and the reconciler queues their processing."""
    rows, _ = inbox_rows(instance, records)
    if not rows:
        return {}
    if len(rows) == 1:
        try:
            got = _insert_one(db, rows[0])
        except Disconnected:
            got = _insert_one(db, rows[0])
    else:
        try:
            with db.autocommit() as session:
                got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id, InboxRow.stream])
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            with db.autocommit() as session:
                got = insert_ignore(session, InboxRow, rows, ["connector", "stream", "dedupe_key"], returning=[InboxRow.id, InboxRow.stream])
    by_stream: dict[str, list[int]] = {}
    for row_id, stream in sorted(got):
        by_stream.setdefault(stream, []).append(row_id)
    return by_stream


#: The door's single-row insert: every inbox column the ORM would write, Python-side
#: defaults included (``attempts``, ``received_at``).
_ONE_COLUMNS = ("connector", "stream", "native_id", "dedupe_key", "payload", "source_updated_at", "deleted",
                "status", "run_id", "attempts", "received_at")
_ONE_SQL: dict[str, tuple[str, list]] = {}


def _one_statement(dialect) -> tuple[str, list]:
    """``INSERT INTO inbox (…) VALUES (…) ON CONFLICT … DO NOTHING RETURNING id, stream`` in
    the driver's placeholder style, and each column's bind processor for ``dialect`` (the
    conversions SQLAlchemy applies: JSON, UTC times)."""
    hit = _ONE_SQL.get(dialect.name)
    if hit is None:
        table = InboxRow.__table__
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {table.name} ({', '.join(_ONE_COLUMNS)}) VALUES ({', '.join([mark] * len(_ONE_COLUMNS))}) "
               "ON CONFLICT (connector, stream, dedupe_key) DO NOTHING RETURNING id, stream")
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _ONE_COLUMNS]
        hit = _ONE_SQL[dialect.name] = (sql, processors)
    return hit


def _insert_one(db, row: dict) -> list[tuple]:
    """One inbox row in one autocommitted statement on the door's pool, no ORM session:
    ``[(id, stream)]`` if new, ``[]`` if its dedupe key was already there."""
    sql, processors = _one_statement(db.autocommit_engine().dialect)
    values = {**row, "attempts": 0, "received_at": utcnow()}
    params = [value if convert is None else convert(value)
              for value, convert in zip((values[name] for name in _ONE_COLUMNS), processors)]
    with db.autocommit_cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()]


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
