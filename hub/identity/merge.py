"""Merging two contacts in the store, and the strong-id / limit check that guards it.

Shared by the batch resolver, the conflict review and the lost-claim path. Identity,
link and event rows move to the survivor (their ``origin_contact_id`` stays, so unmerge
can move them back); the merged contact stays as a redirect (``merged_into``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hub.identity.rules import Rules
from hub.store.models import (AutomationAction, Contact, ContactTag, Event, Identity, JourneyEnrollment, Link, MergeEdge,
                              OutboxRow)
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

Held = set[tuple[str, str]]


@dataclass(frozen=True)
class Compat:
    ok: bool
    strong_conflict: bool = False
    kind: str | None = None
    reason: str = ""


_COMPATIBLE = Compat(True)


def check_compatible(rules: Rules, a: Held, b: Held) -> Compat:
    """May two identity sets live on one contact?

    Strong kinds: never two different values per scope (``crm_id`` scopes per CRM
    instance) beyond ``max_per_contact``. Weak kinds: the merged count must stay within
    ``max_per_contact``. A set that already contains the other's values (a manual merge
    kept both) is always compatible with it.
    """
    if not a or not b:  # nothing to collide with (a new contact's first identifier: the common case)
        return _COMPATIBLE
    by_scope_a = _by_scope(rules, a)
    by_scope_b = _by_scope(rules, b)
    for scope in sorted(set(by_scope_a) & set(by_scope_b)):
        kind, va = by_scope_a[scope]
        _, vb = by_scope_b[scope]
        if va <= vb or vb <= va:
            continue
        rule = rules.kinds.get(kind)
        maximum = rule.max_per_contact if rule else 1
        union = va | vb
        if len(union) <= maximum:
            continue
        if rule is None or rule.strong:
            return Compat(False, True, kind, f"different {kind} values: {', '.join(sorted(va))} vs {', '.join(sorted(vb))}")
        return Compat(False, False, kind, f"merged contact would hold {len(union)} {kind} identifiers (max_per_contact {maximum})")
    return Compat(True)


def _by_scope(rules: Rules, held: Iterable[tuple[str, str]]) -> dict[str, tuple[str, set[str]]]:
    out: dict[str, tuple[str, set[str]]] = {}
    for kind, value in held:
        out.setdefault(rules.scope(kind, value), (kind, set()))[1].add(value)
    return out


_CREATE = Contact.__table__.insert().returning(Contact.__table__.c.id)


def create_contact(session: Session) -> int:
    now = utcnow()
    return session.execute(_CREATE, {"created_at": now, "updated_at": now}).scalar_one()


def create_contacts(session: Session, n: int) -> list[int]:
    """``n`` new contacts in one round trip (a multi-row ``INSERT … RETURNING id``), ids ascending.

    Rows rather than bare sequence values (``nextval``) because identities, links, merge
    edges and conflicts reference them as soon as the batch writes; ids a batch does not use
    are deleted again before it commits (:func:`delete_unused_contacts`)."""
    if n <= 0:
        return []
    if n == 1:
        return [create_contact(session)]
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        from hub.identity import pglookups  # one generate_series statement, whatever n is

        return pglookups.create_contacts(session, n, now)
    rows = session.execute(_CREATE, [{"created_at": now, "updated_at": now} for _ in range(n)]).all()
    return sorted(r[0] for r in rows)


def delete_unused_contacts(session: Session, ids: Iterable[int]) -> None:
    """Remove contacts reserved by :func:`create_contacts` that nothing references."""
    ids = sorted(ids)
    for start in range(0, len(ids), 500):
        session.execute(delete(Contact).where(column_in(session, Contact.id, ids[start:start + 500])))


def root_of(session: Session, contact_id: int) -> int | None:
    """Follow ``merged_into`` redirects to the surviving contact (None if unknown)."""
    seen = set()
    current = contact_id
    while current is not None and current not in seen:
        seen.add(current)
        row = session.execute(select(Contact.id, Contact.merged_into).where(Contact.id == current)).first()
        if row is None:
            return None
        if row.merged_into is None:
            return row.id
        current = row.merged_into
    return current


def roots_of(session: Session, contact_ids: Iterable[int]) -> dict[int, int]:
    """:func:`root_of` for many contacts in one query per redirect hop (not one per contact):
    ``{contact: survivor}``, unknown ids left out."""
    asked = set(contact_ids)
    parent: dict[int, int | None] = {}
    todo = set(asked)
    while todo:
        ids = sorted(todo)
        for start in range(0, len(ids), 500):
            rows = session.execute(select(Contact.id, Contact.merged_into).where(column_in(session, Contact.id, ids[start:start + 500])))
            parent.update((cid, merged_into) for cid, merged_into in rows)
        todo = {t for cid in ids if (t := parent.get(cid)) is not None and t not in parent}
    out: dict[int, int] = {}
    for cid in asked:
        if cid not in parent:
            continue
        seen = set()
        current = cid
        while parent.get(current) is not None and current not in seen:  # a cycle stops where root_of stops
            seen.add(current)
            current = parent[current]
        out[cid] = current
    return out


def held_identities(session: Session, contact_ids: Iterable[int]) -> dict[int, Held]:
    out: dict[int, Held] = {}
    ids = list(set(contact_ids))
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        rows = session.execute(select(Identity.contact_id, Identity.kind, Identity.value).where(column_in(session, Identity.contact_id, part)))
        for cid, kind, value in rows:
            out.setdefault(cid, set()).add((kind, value))
    return out


def move_rows(session: Session, survivor: int, merged: int, *, fresh: bool = False) -> None:
    """Move identities, links, events, tags and writes of ``merged`` to ``survivor`` and
    redirect it.

    The outbox rows move too: the survivor's next rendering for a destination must see the
    merged contact's unsent one (and supersede it) and its in-flight one (and wait for it),
    or both are written — two records in the destination for one person.

    ``fresh`` (created in the current batch, nothing flushed yet) skips the row moves.
    Attributes are the caller's job: they need the field policy.
    """
    if not fresh:
        session.execute(update(Identity).where(Identity.contact_id == merged).values(contact_id=survivor))
        session.execute(update(Link).where(Link.contact_id == merged).values(contact_id=survivor))
        session.execute(update(Event).where(Event.contact_id == merged).values(contact_id=survivor))
        session.execute(update(OutboxRow).where(OutboxRow.contact_id == merged).values(contact_id=survivor))
        _move_automations(session, survivor, merged)
        tags = session.execute(select(ContactTag.tag, ContactTag.connector, ContactTag.created_at).where(ContactTag.contact_id == merged)).all()
        insert_ignore(
            session, ContactTag,
            [{"contact_id": survivor, "tag": t.tag, "connector": t.connector, "created_at": t.created_at} for t in tags],
            keys=("contact_id", "tag"),
        )
        session.execute(delete(ContactTag).where(ContactTag.contact_id == merged))
    now = utcnow()
    session.execute(
        update(Contact).where(or_(Contact.id == merged, Contact.merged_into == merged)).values(merged_into=survivor, updated_at=now)
    )
    session.execute(update(Contact).where(Contact.id == survivor).values(updated_at=now))


def _move_automations(session: Session, survivor: int, merged: int) -> None:
    """One person, one enrollment per journey, whichever contact survives: the merged
    contact's enrollment moves to the survivor; when both are in a journey, the survivor's
    row keeps the further one — active before finished, then the later step — in a new
    round (its step keys are the survivor's own), and the merged one exits, so no step goes
    out twice. What automations did moves too, so the daily cap counts the person once."""
    theirs = {e.journey: e for e in session.scalars(select(JourneyEnrollment).where(JourneyEnrollment.contact_id == merged))}
    if theirs:
        ours = {e.journey: e for e in session.scalars(select(JourneyEnrollment).where(
            JourneyEnrollment.contact_id == survivor, column_in(session, JourneyEnrollment.journey, sorted(theirs))))}
        now = utcnow()
        for journey, moving in theirs.items():
            kept = ours.get(journey)
            if kept is None:
                moving.contact_id, moving.updated_at = survivor, now
                continue
            if _progress(moving) > _progress(kept):
                kept.round, kept.step, kept.status, kept.next_due_at = kept.round + 1, moving.step, moving.status, moving.next_due_at
                kept.enrolled_at, kept.enrolled_values, kept.exit_reason = moving.enrolled_at, moving.enrolled_values, moving.exit_reason
                kept.updated_at = now
            if moving.status == "active":
                moving.status, moving.next_due_at = "exited", None
                moving.exit_reason, moving.updated_at = f"merged into contact {survivor}", now
        session.flush()
    session.execute(update(AutomationAction).where(AutomationAction.contact_id == merged).values(contact_id=survivor))


def _progress(enrollment: JourneyEnrollment) -> tuple:
    return enrollment.status == "active", enrollment.step, -enrollment.enrolled_at.timestamp()


def add_edge(session: Session, survivor: int, merged: int, kind: str, value: str, connector: str) -> int:
    return session.execute(
        MergeEdge.__table__.insert()
        .values(survivor_id=survivor, merged_id=merged, kind=kind, value=value, connector=connector, created_at=utcnow())
        .returning(MergeEdge.id)
    ).scalar_one()


def merge_now(session: Session, rules: Rules, policies, a: int, b: int, kind: str, value: str, connector: str,
              *, force: bool = False) -> tuple[int | None, Compat]:
    """Merge the contacts holding ``a`` and ``b`` directly in the store.

    Returns ``(survivor, compat)``; survivor is None when the check refused the merge.
    ``force`` (a reviewer said "same person") skips the strong-id check.
    """
    from hub.contacts.attributes import merge_attribute_rows

    ra, rb = root_of(session, a), root_of(session, b)
    if ra is None or rb is None:
        raise LookupError(f"no contact {a if ra is None else b}")
    if ra == rb:
        return ra, Compat(True)
    held = held_identities(session, [ra, rb])
    compat = check_compatible(rules, held.get(ra, set()), held.get(rb, set()))
    if not compat.ok and not force:
        return None, compat
    survivor, merged = min(ra, rb), max(ra, rb)
    merge_attribute_rows(session, policies, survivor, merged)
    move_rows(session, survivor, merged)
    add_edge(session, survivor, merged, kind, value, connector)
    return survivor, compat
