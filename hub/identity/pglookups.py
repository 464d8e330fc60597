"""Resolution's batch lookups on PostgreSQL: one join against the batch's keys each.

The portable path asks ``kind = ? AND value IN (…500 values…)`` per kind and chunk. Here the
whole batch's identifiers go as two arrays, ``unnest``-ed into a relation and joined to
``identities`` on its ``(kind, value)`` unique index — one statement whose text never
changes (prepared once per connection), planned as an index nested loop whatever the
statistics say, because the row source is the small unnested batch. Links likewise join
on ``(connector, stream, native_id)``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from hub.store import pgbulk

_OWNERS = (
    "SELECT i.kind, i.value, i.contact_id FROM unnest(%b::text[], %b::text[]) AS k(kind, value) "
    "JOIN identities i ON i.kind = k.kind AND i.value = k.value"
)
_LINK_COLUMNS = ("id", "connector", "stream", "native_id", "contact_id", "state", "last_read_hash",
                 "origin_contact_id", "attributes", "tags", "source_ts")
_LINKS = (
    "SELECT " + ", ".join(f"l.{c}" for c in _LINK_COLUMNS) + " FROM unnest(%b::text[], %b::text[], %b::text[]) "
    "AS k(connector, stream, native_id) JOIN links l ON l.connector = k.connector AND l.stream = k.stream "
    "AND l.native_id = k.native_id"
)
_CREATE_CONTACTS = (
    "INSERT INTO contacts (created_at, updated_at) SELECT %s, %s FROM generate_series(1, %s) RETURNING id"
)


def owners(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """``{(kind, value): contact_id}`` of the stored identities among ``keys``."""
    rows = pgbulk.lookup(session, _OWNERS, [k for k, _ in keys], [v for _, v in keys])
    return {(kind, value): cid for kind, value, cid in rows}


def links(session: Session, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The stored links among ``(connector, stream, native_id)`` keys, as the resolver's dicts."""
    rows = pgbulk.lookup(session, _LINKS, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        link = dict(zip(_LINK_COLUMNS, row))
        link["source_ts"] = pgbulk.utc(link["source_ts"])
        link["exists"] = True
        out[(link["connector"], link["stream"], link["native_id"])] = link
    return out


def create_contacts(session: Session, n: int, now: datetime | None = None) -> list[int]:
    """``n`` new contacts in one statement whose text does not depend on ``n``; ids ascending."""
    now = now or datetime.now(timezone.utc)
    return sorted(r[0] for r in pgbulk.fetch(session, _CREATE_CONTACTS, (now, now, n)))
