"""Undo a wrong merge by rebuilding the contact's component without the bad edge.

A merged contact is a tree of original contacts ("atoms") joined by :class:`MergeEdge`
rows. Unmerge marks the chosen edge(s) undone, recomputes the groups of atoms connected by
the remaining edges, and gives each group back its own identities, links and events (by
``origin_contact_id``) and attributes/tags recomputed from its links under the field policy.
The split pair is recorded as a ``kept_apart`` conflict so the next re-read of the record
that caused the merge does not merge them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.contacts.attributes import write_attributes
from hub.contacts.policy import AttrValue, Policies, policy_for, wins
from hub.identity.merge import root_of
from hub.identity.rules import Rules
from hub.store.models import AuditEntry, Contact, ContactAttribute, ContactTag, Event, Identity, Link, MergeConflict, MergeEdge
from hub.store.types import utcnow
from hub.store.upsert import insert_ignore

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UnmergeError(LookupError):
    """Unknown contact, or no active merge edge matches what was asked."""


@dataclass
class UnmergeResult:
    root: int
    edges_undone: list[int]
    #: Atoms (original contact ids) per resulting contact; the first of each is its survivor.
    groups: list[list[int]]

    @property
    def survivors(self) -> list[int]:
        return [g[0] for g in self.groups]


def component(session: Session, root: int) -> list[int]:
    """The root and every contact redirected to it (redirects are kept one hop deep)."""
    merged = session.execute(select(Contact.id).where(Contact.merged_into == root)).scalars().all()
    return sorted({root, *merged})


def unmerge(session: Session, contact_id: int, *, edge_id: int | None = None, identity: str | tuple[str, str] | None = None,
            rules: Rules | None = None, policies: Policies = None, actor: str = "system") -> UnmergeResult:
    """Split ``contact_id`` by undoing ``edge_id``, or every active edge through ``identity``."""
    if (edge_id is None) == (identity is None):
        raise ValueError("give exactly one of edge_id or identity")
    root = root_of(session, contact_id)
    if root is None:
        raise UnmergeError(f"no contact {contact_id}")
    atoms = component(session, root)
    edges = session.execute(
        select(MergeEdge).where(MergeEdge.merged_id.in_(atoms), MergeEdge.undone_at.is_(None)).order_by(MergeEdge.id)
    ).scalars().all()
    if edge_id is not None:
        chosen = [e for e in edges if e.id == edge_id]
        what = f"edge {edge_id}"
    else:
        if isinstance(identity, str):
            if rules is None:
                from hub.identity.rules import build_rules

                rules = build_rules()
            identity = rules.parse(identity)
        chosen = [e for e in edges if (e.kind, e.value) == tuple(identity)]
        what = f"identity {identity[0]}:{identity[1]}"
    if not chosen:
        raise UnmergeError(f"contact {root} has no active merge through {what}")

    now = utcnow()
    for edge in chosen:
        edge.undone_at = now
    remaining = [e for e in edges if e not in chosen]
    groups = _groups(atoms, remaining)
    survivor_of = {atom: group[0] for group in groups for atom in group}

    for group in groups:
        survivor = group[0]
        session.execute(update(Contact).where(Contact.id == survivor).values(merged_into=None, updated_at=now))
        others = group[1:]
        if others:
            session.execute(update(Contact).where(Contact.id.in_(others)).values(merged_into=survivor, updated_at=now))
        for model in (Identity, Link, Event):
            session.execute(
                update(model).where(model.contact_id.in_(atoms), model.origin_contact_id.in_(group)).values(contact_id=survivor)
            )
    _rebuild_attributes_and_tags(session, atoms, [g[0] for g in groups], policies)

    for edge in chosen:
        a, b = survivor_of[edge.survivor_id], survivor_of[edge.merged_id]
        if a != b:
            session.add(MergeConflict(contact_a=min(a, b), contact_b=max(a, b), kind=edge.kind, value=edge.value,
                                      reason=f"unmerged by {actor} (merge edge #{edge.id})", status="kept_apart",
                                      created_at=now, resolved_at=now, resolved_by=actor))
    session.add(AuditEntry(actor=actor, action="contact.unmerge", target=f"contact:{root}", at=now,
                           detail={"edges": [e.id for e in chosen], "groups": groups}))
    session.flush()
    return UnmergeResult(root=root, edges_undone=[e.id for e in chosen], groups=groups)


def _groups(atoms: list[int], edges: list[MergeEdge]) -> list[list[int]]:
    parent = {a: a for a in atoms}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for edge in edges:
        if edge.survivor_id in parent and edge.merged_id in parent:
            ra, rb = find(edge.survivor_id), find(edge.merged_id)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for atom in atoms:
        out.setdefault(find(atom), []).append(atom)
    return sorted((sorted(g) for g in out.values()), key=lambda g: g[0])


def _rebuild_attributes_and_tags(session: Session, atoms: list[int], survivors: list[int], policies: Policies) -> None:
    """Attributes and tags of each split contact, folded from what its links contributed."""
    session.execute(delete(ContactAttribute).where(ContactAttribute.contact_id.in_(atoms)))
    session.execute(delete(ContactTag).where(ContactTag.contact_id.in_(atoms)))
    links = session.execute(select(Link).where(Link.contact_id.in_(survivors))).scalars().all()
    links = sorted(links, key=lambda l: (l.source_ts is not None, l.source_ts or _EPOCH, l.last_read_at or _EPOCH, l.id))
    attrs: dict[int, dict[str, AttrValue]] = {}
    tags: dict[tuple[int, str], str] = {}
    for link in links:
        current = attrs.setdefault(link.contact_id, {})
        for name, value in (link.attributes or {}).items():
            incoming = AttrValue(value, link.connector, link.source_ts)
            if wins(policy_for(policies, name), current.get(name), incoming):
                current[name] = incoming
        for tag in link.tags or []:
            tags.setdefault((link.contact_id, tag), link.connector)
    write_attributes(session, {(cid, name): av for cid, names in attrs.items() for name, av in names.items()})
    for cid in survivors:
        if "name" not in attrs.get(cid, {}):
            session.execute(update(Contact).where(Contact.id == cid).values(display_name=None))
    now = utcnow()
    insert_ignore(session, ContactTag, [{"contact_id": cid, "tag": tag, "connector": conn, "created_at": now}
                                        for (cid, tag), conn in tags.items()], keys=("contact_id", "tag"))
