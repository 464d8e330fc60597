"""Batched, incremental identity resolution.

For a batch of records: look every identifier up in one query per kind (and every link in
one query per stream), then walk the records in order and union the contacts they touch.
A union happens only if the merged contact would still hold at most ``max_per_contact``
values of every kind — so two different strong ids (two CRM ids of one CRM, two unionids)
never end up on one contact: that case becomes a :class:`MergeConflict` for review and the
contacts stay apart. The survivor is the oldest (smallest) contact id; every union writes
a :class:`MergeEdge` naming the identifier that caused it, so unmerge can undo it.

New identifier claims are written at the end of the batch with ``INSERT … ON CONFLICT DO
NOTHING``; a claim lost to a concurrent worker is resolved by merging with the winner (or
recording a conflict) instead of failing the batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.identity.merge import (
    Compat,
    Held,
    add_edge,
    check_compatible,
    create_contacts,
    delete_unused_contacts,
    held_identities,
    merge_now,
    move_rows,
    root_of,
    roots_of,
)
from hub.identity import pglookups
from hub.identity.rules import Rules, mask_value
from hub.store import pgbulk
from hub.store.models import Contact, Identity, Link, MergeConflict
from hub.store.types import utcnow
from hub.contacts.bulk import insert_ignore_many
from hub.store.upsert import column_in

log = logging.getLogger(__name__)

CHUNK = 500
LinkKey = tuple[str, str, str]


@dataclass
class PreparedItem:
    """One record with its identifiers normalised, block-listed ones removed, sorted by priority."""

    index: int
    instance: str
    stream: str
    native_id: str
    identities: list[tuple[str, str]]
    dropped: list[tuple[str, str]]
    deleted: bool = False
    record: Any = None
    read_hash: str | None = None

    @property
    def link_key(self) -> LinkKey:
        return (self.instance, self.stream, self.native_id)


@dataclass
class Resolution:
    target: int | None
    created: bool = False
    merged_ids: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


def prepare_item(rules: Rules, index: int, instance: str, stream: str, native_id: str, record, read_hash: str | None = None) -> PreparedItem:
    """Normalise and filter a record's identifiers (unknown kind, invalid, block-listed)."""
    kept: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    for kind, raw in record.identities:
        if kind not in rules.kinds:
            dropped.append((kind, "unknown identity kind"))
            continue
        value = rules.normalize(kind, raw, instance)
        if value is None:
            dropped.append((kind, "not a valid value"))
            continue
        if rules.blocked(kind, raw, value):
            dropped.append((kind, "block-listed value"))
            log.debug("%s/%s/%s: ignoring block-listed %s", instance, stream, native_id, kind)
            continue
        if (kind, value) not in kept:
            kept.append((kind, value))
    kept.sort(key=lambda kv: rules.sort_key(kv[0]))
    return PreparedItem(index, instance, stream, str(native_id), kept, dropped, bool(record.deleted), record, read_hash)


class BatchResolver:
    """Resolves the records of one batch against the store and each other.

    ``on_merge(survivor, merged, fresh)`` lets the caller fold in-memory state (attributes)
    of a merged contact into the survivor.
    """

    def __init__(self, session: Session, rules: Rules, policies=None,
                 on_merge: Callable[[int, int, bool], None] | None = None):
        self.session = session
        self.rules = rules
        self.policies = policies
        self.on_merge = on_merge
        self.parent: dict[int, int] = {}
        self.owner: dict[tuple[str, str], int] = {}
        self.links: dict[LinkKey, dict[str, Any]] = {}
        self.held: dict[int, Held] = {}
        self.fresh: set[int] = set()
        self.touched: set[int] = set()
        self.conflict_pairs: set[frozenset[int]] = set()
        self.kept_apart: list[tuple[int, int]] = []
        self.claims: list[dict[str, Any]] = []
        #: Contact ids reserved in bulk for records that will need a new contact (ascending),
        #: and per prepared item whether it is expected to create one (``_expect_creations``).
        self.reserved: list[int] = []
        self.expect_new: dict[int, bool] = {}
        self.remaining_expected = 0

    # -- union-find ---------------------------------------------------------------
    def root(self, cid: int) -> int:
        while cid in self.parent:
            cid = self.parent[cid]
        return cid

    # -- batch lookups ------------------------------------------------------------
    def prepare(self, items: list[PreparedItem]) -> None:
        """One query per identity kind and per stream (on PostgreSQL: one join
        each for the whole batch, :mod:`hub.identity.pglookups`), then lock the touched contacts."""
        by_kind: dict[str, set[str]] = {}
        for it in items:
            for kind, value in it.identities:
                by_kind.setdefault(kind, set()).add(value)
        by_stream: dict[tuple[str, str], set[str]] = {}
        for it in items:
            by_stream.setdefault((it.instance, it.stream), set()).add(it.native_id)
        for _attempt in range(5):
            self.owner = self._lookup_owners(by_kind)
            self.links = self._lookup_links(by_stream)
            touched = set(self.owner.values()) | {link["contact_id"] for link in self.links.values()}
            if self._lock_roots(touched):
                break
        else:  # pragma: no cover - only under extreme merge contention
            self.owner = {key: root_of(self.session, cid) or cid for key, cid in self.owner.items()}
            for link in self.links.values():
                link["contact_id"] = root_of(self.session, link["contact_id"]) or link["contact_id"]
            touched = set(self.owner.values()) | {link["contact_id"] for link in self.links.values()}
        self.touched = touched
        self.held = {cid: set() for cid in touched}
        self.held.update(held_identities(self.session, touched))
        self._load_conflicts(touched)
        self._expect_creations(items)

    def _expect_creations(self, items: list[PreparedItem]) -> None:
        """Which records will create a contact: not deleted, no link (stored, or made by an
        earlier record of the batch with the same native id), and none of their identifiers
        known to the store or carried by an earlier record of the batch.

        Such a record always creates one, so the reservation is never too large. It may be
        too small — limits or strong-id conflicts make extra contacts — and then reserves
        again on demand; :meth:`release_reserved` removes anything left over."""
        claimed: set[tuple[str, str]] = set()
        linked: set[LinkKey] = set(self.links)
        for it in items:
            new = not it.deleted and it.link_key not in linked and not any(
                key in self.owner or key in claimed for key in it.identities
            )
            linked.add(it.link_key)
            if not it.deleted:
                claimed.update(it.identities)
            self.expect_new[it.index] = new
            self.remaining_expected += new

    def _lookup_owners(self, by_kind: dict[str, set[str]]) -> dict[tuple[str, str], int]:
        if pgbulk.is_postgres(self.session):  # one join against the whole batch
            return pglookups.owners(self.session, sorted((k, v) for k, values in by_kind.items() for v in values))
        owners: dict[tuple[str, str], int] = {}
        for kind, values in by_kind.items():
            values_list = sorted(values)
            for start in range(0, len(values_list), CHUNK):
                part = values_list[start:start + CHUNK]
                rows = self.session.execute(
                    select(Identity.value, Identity.contact_id).where(Identity.kind == kind, column_in(self.session, Identity.value, part))
                )
                for value, cid in rows:
                    owners[(kind, value)] = cid
        return owners

    def _lookup_links(self, by_stream: dict[tuple[str, str], set[str]]) -> dict[LinkKey, dict[str, Any]]:
        if pgbulk.is_postgres(self.session):
            return pglookups.links(self.session, sorted((i, s, n) for (i, s), natives in by_stream.items() for n in natives))
        links: dict[LinkKey, dict[str, Any]] = {}
        cols = [Link.id, Link.connector, Link.stream, Link.native_id, Link.contact_id, Link.state, Link.last_read_hash,
                Link.origin_contact_id, Link.attributes, Link.tags, Link.source_ts]
        for (instance, stream), natives in by_stream.items():
            natives_list = sorted(natives)
            for start in range(0, len(natives_list), CHUNK):
                part = natives_list[start:start + CHUNK]
                rows = self.session.execute(
                    select(*cols).where(Link.connector == instance, Link.stream == stream, column_in(self.session, Link.native_id, part))
                ).mappings()
                for row in rows:
                    links[(instance, stream, row["native_id"])] = dict(row) | {"exists": True}
        return links

    def _lock_roots(self, touched: set[int]) -> bool:
        """Lock the touched contacts (PostgreSQL) and confirm none was merged meanwhile."""
        ids = sorted(touched)
        postgres = self.session.get_bind().dialect.name == "postgresql"
        for start in range(0, len(ids), CHUNK):
            stmt = select(Contact.id, Contact.merged_into).where(column_in(self.session, Contact.id, ids[start:start + CHUNK])).order_by(Contact.id)
            if postgres:
                stmt = stmt.with_for_update()
            for _cid, merged_into in self.session.execute(stmt):
                if merged_into is not None:
                    return False
        return True

    def _load_conflicts(self, touched: set[int]) -> None:
        ids = sorted(touched)
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            rows = self.session.execute(
                select(MergeConflict.contact_a, MergeConflict.contact_b, MergeConflict.status).where(
                    MergeConflict.status.in_(("open", "kept_apart")),
                    or_(column_in(self.session, MergeConflict.contact_a, part), column_in(self.session, MergeConflict.contact_b, part)),
                )
            )
            rows = rows.all()
            roots = roots_of(self.session, [c for a, b, _status in rows for c in (a, b)])
            for a, b, status in rows:
                ra, rb = roots.get(a, a), roots.get(b, b)
                self.conflict_pairs.add(frozenset((ra, rb)))
                if status == "kept_apart":
                    self.kept_apart.append((ra, rb))

    # -- per record ---------------------------------------------------------------
    def _new_contact(self, it: PreparedItem) -> int:
        """A fresh contact id for ``it``, from the bulk reservation."""
        if not self.reserved:
            # Everything expected for the records after this one, plus this one.
            self.reserved = create_contacts(self.session, self.remaining_expected + 1)
        return self.reserved.pop(0)

    def release_reserved(self) -> None:
        """Delete reserved contacts no record needed (call once resolution is done)."""
        if self.reserved:
            delete_unused_contacts(self.session, self.reserved)
            self.reserved = []

    def resolve(self, it: PreparedItem) -> Resolution:
        """Find (or create) the contact for one record, merging what it connects."""
        if self.expect_new.pop(it.index, False):
            self.remaining_expected -= 1
        res = Resolution(target=None, dropped=list(it.dropped))
        link = self.links.get(it.link_key)
        target = self.root(link["contact_id"]) if link else None
        if it.deleted:
            # A deletion attaches to what we know; it never claims or merges anything.
            if target is None:
                for key in it.identities:
                    if key in self.owner:
                        target = self.root(self.owner[key])
                        break
            res.target = target
            return res

        pending: list[tuple[str, str]] = []
        deferred: list[tuple[int, str, str, str]] = []
        for kind, value in it.identities:
            key = (kind, value)
            owner = self.owner.get(key)
            owner = self.root(owner) if owner is not None else None
            current = (self.held.get(target, set()) if target is not None else set()) | set(pending)
            if owner is None:
                compat = check_compatible(self.rules, current, {key})
                if compat.ok:
                    pending.append(key)
                else:
                    self._drop(res, it, kind, value, target, compat)
            elif owner == target:
                continue
            elif target is None:
                compat = check_compatible(self.rules, current, self.held.get(owner, set()))
                if compat.ok:
                    target = owner
                elif compat.strong_conflict:
                    deferred.append((owner, kind, value, compat.reason))
                else:
                    self._drop(res, it, kind, value, owner, compat)
            else:
                compat = check_compatible(self.rules, current, self.held.get(owner, set()))
                if compat.ok and not self._kept_apart(target, owner):
                    merged = max(target, owner)
                    target = self._merge(target, owner, kind, value, it.instance)
                    res.merged_ids.append(merged)
                elif compat.ok or not compat.strong_conflict:
                    why = "kept apart by a reviewer" if compat.ok else compat.reason
                    log.info("%s/%s/%s: not merging contacts %s and %s through %s %s: %s", it.instance, it.stream,
                             it.native_id, target, owner, kind, mask_value(kind, value), why)
                else:
                    conflict = self._conflict(target, owner, kind, value, compat.reason)
                    if conflict is not None:
                        res.conflicts.append(conflict)
        if target is None:
            target = self._new_contact(it)
            self.fresh.add(target)
            self.held[target] = set()
            res.created = True
        for owner, kind, value, reason in deferred:
            conflict = self._conflict(target, self.root(owner), kind, value, reason)
            if conflict is not None:
                res.conflicts.append(conflict)
        for key in pending:
            self.owner[key] = target
            self.held.setdefault(target, set()).add(key)
            self.claims.append({"kind": key[0], "value": key[1], "contact_id": target, "origin_contact_id": target,
                                "connector": it.instance})
        res.target = target
        return res

    def _drop(self, res: Resolution, it: PreparedItem, kind: str, value: str, target: int | None, compat: Compat) -> None:
        res.dropped.append((kind, compat.reason))
        log.info("%s/%s/%s: not attaching %s %s to contact %s: %s", it.instance, it.stream, it.native_id, kind,
                 mask_value(kind, value), target if target is not None else "(new)", compat.reason)

    def _kept_apart(self, a: int, b: int) -> bool:
        wanted = {a, b}
        return any({self.root(x), self.root(y)} == wanted for x, y in self.kept_apart)

    def _merge(self, a: int, b: int, kind: str, value: str, connector: str) -> int:
        survivor, merged = min(a, b), max(a, b)
        fresh = merged in self.fresh
        move_rows(self.session, survivor, merged, fresh=fresh)
        add_edge(self.session, survivor, merged, kind, value, connector)
        self.parent[merged] = survivor
        self.held[survivor] = self.held.get(survivor, set()) | self.held.pop(merged, set())
        if self.on_merge is not None:
            self.on_merge(survivor, merged, fresh)
        log.info("merged contact %s into %s through %s %s (%s)", merged, survivor, kind, mask_value(kind, value), connector)
        return survivor

    def _conflict(self, a: int, b: int, kind: str, value: str, reason: str) -> int | None:
        pair = frozenset((a, b))
        if pair in self.conflict_pairs:
            return None
        self.conflict_pairs.add(pair)
        conflict_id = self.session.execute(
            MergeConflict.__table__.insert()
            .values(contact_a=min(a, b), contact_b=max(a, b), kind=kind, value=value, reason=reason, status="open",
                    created_at=utcnow())
            .returning(MergeConflict.id)
        ).scalar_one()
        log.info("merge conflict #%s: contacts %s and %s share %s %s but %s", conflict_id, min(a, b), max(a, b), kind,
                 mask_value(kind, value), reason)
        return conflict_id

    # -- end of batch -------------------------------------------------------------
    def flush_claims(self) -> dict[int, int]:
        """Write new identity claims atomically; settle claims lost to a concurrent worker.

        Returns redirects ``{contact: survivor}`` caused by settling lost claims.
        """
        now = utcnow()
        rows = []
        # In the order the records gave them (identity ids keep that order: a contact's
        # "first phone" is the first one seen). Two workers claiming overlapping identifiers
        # in different orders can deadlock; PostgreSQL then aborts one batch, which is redone.
        for claim in self.claims:
            rows.append(claim | {"contact_id": self.root(claim["contact_id"]), "created_at": now})
        won: set[tuple[str, str]] = set()
        won.update((k, v) for k, v in insert_ignore_many(self.session, Identity, rows, keys=("kind", "value"),
                                                           returning=(Identity.kind, Identity.value)))
        redirects: dict[int, int] = {}
        for row in rows:
            key = (row["kind"], row["value"])
            if key in won:
                continue
            ours = redirects.get(row["contact_id"], row["contact_id"])
            theirs = self.session.execute(
                select(Identity.contact_id).where(Identity.kind == key[0], Identity.value == key[1])
            ).scalar_one()
            survivor, compat = merge_now(self.session, self.rules, self.policies, ours, theirs, key[0], key[1], row["connector"])
            if survivor is None:
                if compat.strong_conflict:
                    self._conflict(root_of(self.session, ours) or ours, root_of(self.session, theirs) or theirs,
                                   key[0], key[1], compat.reason)
                continue
            for cid in (ours, theirs):
                if cid != survivor:
                    redirects[cid] = survivor
        self.claims = []
        return redirects
