"""Read side of the contact store: find by any identity, the contact view, unified history.

This is the API the web layer and the CLI share. Nothing is masked here — masking PII for
support agents is the web layer's job — so callers must not log what they get at INFO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hub.identity.merge import root_of
from hub.identity.rules import Rules
from hub.store.models import Contact, ContactAttribute, ContactTag, Event, Identity, Link, MergeConflict, MergeEdge, OutboxRow


@dataclass
class AttributeView:
    name: str
    value: Any
    connector: str
    source_ts: datetime | None
    updated_at: datetime | None


@dataclass
class IdentityView:
    kind: str
    value: str
    connector: str
    created_at: datetime | None

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass
class LinkView:
    connector: str
    stream: str
    native_id: str
    state: str
    last_read_at: datetime | None
    last_written_at: datetime | None


@dataclass
class ConflictView:
    id: int
    contact_a: int
    contact_b: int
    kind: str
    value: str
    reason: str
    status: str
    created_at: datetime | None
    resolved_at: datetime | None = None
    resolved_by: str | None = None


@dataclass
class EdgeView:
    id: int
    survivor_id: int
    merged_id: int
    kind: str
    value: str
    connector: str
    created_at: datetime | None


@dataclass
class ContactView:
    id: int
    display_name: str | None
    created_at: datetime | None
    updated_at: datetime | None
    #: The id that was asked for, when it redirected (it was merged into ``id``).
    requested_id: int | None = None
    merged_ids: list[int] = field(default_factory=list)
    attributes: list[AttributeView] = field(default_factory=list)
    identities: list[IdentityView] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    open_conflicts: list[ConflictView] = field(default_factory=list)
    merge_edges: list[EdgeView] = field(default_factory=list)


@dataclass
class EventView:
    id: int
    contact_id: int
    connector: str
    native_id: str
    kind: str
    occurred_at: datetime
    summary: str
    data: Any


@dataclass
class HistoryPage:
    events: list[EventView]
    #: Pass as ``before`` for the next (older) page; None on the last page.
    next_cursor: str | None


class CursorError(ValueError):
    """A ``before`` cursor that this module did not produce."""


def conflict_view(c: MergeConflict) -> ConflictView:
    return ConflictView(c.id, c.contact_a, c.contact_b, c.kind, c.value, c.reason, c.status, c.created_at,
                        c.resolved_at, c.resolved_by)


def find_contact(session: Session, rules: Rules, text: str) -> int | None:
    """The surviving contact holding ``kind:value`` (IdentityError if malformed)."""
    kind, value = rules.parse(text)
    cid = session.execute(select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value)).scalar()
    return root_of(session, cid) if cid is not None else None


def contact_view(session: Session, contact_id: int) -> ContactView | None:
    """Everything support needs about one contact; merged ids redirect to the survivor."""
    root = root_of(session, contact_id)
    if root is None:
        return None
    contact = session.get(Contact, root)
    merged = session.execute(select(Contact.id).where(Contact.merged_into == root).order_by(Contact.id)).scalars().all()
    atoms = [root, *merged]
    view = ContactView(root, contact.display_name, contact.created_at, contact.updated_at,
                       requested_id=contact_id if contact_id != root else None, merged_ids=list(merged))
    for a in session.execute(select(ContactAttribute).where(ContactAttribute.contact_id == root).order_by(ContactAttribute.name)).scalars():
        view.attributes.append(AttributeView(a.name, a.value, a.connector, a.source_ts, a.updated_at))
    for i in session.execute(select(Identity).where(Identity.contact_id == root).order_by(Identity.kind, Identity.value)).scalars():
        view.identities.append(IdentityView(i.kind, i.value, i.connector, i.created_at))
    view.tags = list(session.execute(select(ContactTag.tag).where(ContactTag.contact_id == root).order_by(ContactTag.tag)).scalars())
    for link in session.execute(select(Link).where(Link.contact_id == root).order_by(Link.connector, Link.stream, Link.native_id)).scalars():
        view.links.append(LinkView(link.connector, link.stream, link.native_id, link.state, link.last_read_at, link.last_written_at))
    conflicts = session.execute(
        select(MergeConflict).where(MergeConflict.status == "open",
                                    or_(MergeConflict.contact_a.in_(atoms), MergeConflict.contact_b.in_(atoms)))
        .order_by(MergeConflict.id)
    ).scalars()
    view.open_conflicts = [conflict_view(c) for c in conflicts]
    edges = session.execute(
        select(MergeEdge).where(MergeEdge.merged_id.in_(atoms), MergeEdge.undone_at.is_(None)).order_by(MergeEdge.id)
    ).scalars()
    view.merge_edges = [EdgeView(e.id, e.survivor_id, e.merged_id, e.kind, e.value, e.connector, e.created_at) for e in edges]
    return view


#: ``<microseconds since 1970>-<event id>``; the id part may be left out (``before=0``, or a
#: moment to read back from). Every string of this form is a readable cursor, so the API's
#: OpenAPI pattern and this parser accept exactly the same strings.
_CURSOR = re.compile(r"([0-9]{1,16})(?:-([0-9]{1,18}))?\n?", re.ASCII)  # "\n": as a pattern's "$" allows
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def encode_cursor(occurred_at: datetime, event_id: int) -> str:
    micros = (occurred_at.astimezone(timezone.utc) - _EPOCH) // timedelta(microseconds=1)
    return f"{max(0, micros)}-{event_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """``(occurred_at, event id)`` of a cursor; the page holds what is strictly older."""
    match = _CURSOR.fullmatch(cursor or "")
    if not match:
        raise CursorError(f"not a history cursor: {str(cursor)[:60]!r}")
    return _EPOCH + timedelta(microseconds=int(match[1])), int(match[2] or 0)


def history(session: Session, contact_id: int, *, kinds: Iterable[str] | None = None, connectors: Iterable[str] | None = None,
            limit: int = 50, before: str | None = None) -> HistoryPage:
    """The contact's timeline across every connector, newest first, keyset-paginated.

    Keyset (``occurred_at, id`` below the cursor) rather than OFFSET: pages stay stable
    while new events arrive and deep pages cost the same as the first.
    """
    limit = max(1, min(int(limit), 1000))
    root = root_of(session, contact_id)
    if root is None:
        return HistoryPage([], None)
    stmt = select(Event).where(Event.contact_id == root)
    kinds = [k for k in (kinds or []) if k]
    connectors = [c for c in (connectors or []) if c]
    if kinds:
        stmt = stmt.where(Event.kind.in_(kinds))
    if connectors:
        stmt = stmt.where(Event.connector.in_(connectors))
    if before:
        at, ident = decode_cursor(before)
        stmt = stmt.where(or_(Event.occurred_at < at, and_(Event.occurred_at == at, Event.id < ident)))
    rows = session.execute(stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit + 1)).scalars().all()
    page = [EventView(e.id, e.contact_id, e.connector, e.native_id, e.kind, e.occurred_at, e.summary, e.data) for e in rows[:limit]]
    next_cursor = encode_cursor(page[-1].occurred_at, page[-1].id) if len(rows) > limit else None
    return HistoryPage(_with_delivery_states(session, page), next_cursor)


#: The timeline kind of the hub's own writes (see ``hub.pipeline.process``).
OUTBOUND_WRITE = "outbound_write"


def _with_delivery_states(session: Session, page: list[EventView]) -> list[EventView]:
    """Fill each of the hub's own writes with its delivery state as it is *now* (pending,
    delivered, dead, matched — linked to an existing record instead of creating one) and
    the destination's record id; a write superseded by a newer rendering is left out."""
    ids = [int(e.data["outbox_id"]) for e in page if e.kind == OUTBOUND_WRITE and isinstance(e.data, dict) and "outbox_id" in e.data]
    if not ids:
        return page
    states = {row.id: row for row in session.execute(
        select(OutboxRow.id, OutboxRow.status, OutboxRow.native_id, OutboxRow.last_error, OutboxRow.attempts)
        .where(OutboxRow.id.in_(ids)))}
    out = []
    for e in page:
        if e.kind == OUTBOUND_WRITE and isinstance(e.data, dict) and "outbox_id" in e.data:
            row = states.get(int(e.data["outbox_id"]))
            if row is not None and row.status == "superseded":
                continue
            data = dict(e.data)
            if row is not None:
                data.update(delivery=row.status, record_id=row.native_id, attempts=row.attempts, error=row.last_error)
            e = EventView(e.id, e.contact_id, e.connector, e.native_id, e.kind, e.occurred_at, e.summary, data)
        out.append(e)
    return out
