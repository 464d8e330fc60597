"""Apply canonical records to the store: the entry point the sync pipeline calls.

``apply_batch`` resolves identities for the whole batch (see :mod:`hub.identity.resolver`),
then applies attributes under the field policy with provenance, tags, events and links, and
writes everything in a few multi-row statements. It is idempotent: applying the same item
twice changes nothing the second time (same link hash, same values, events and tags unique).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, NamedTuple, Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from hub.canonical import CanonicalRecord
from hub.contacts.bulk import insert_ignore_many, upsert_many
from hub.contacts.attributes import load_attributes, merge_attribute_maps, write_attributes
from hub.contacts.policy import AttrValue, Policies, policy_for, wins
from hub.identity.resolver import BatchResolver, PreparedItem, prepare_item
from hub.identity.rules import Rules
from hub.pipeline.hashing import jsonable, payload_hash
from hub.store.models import ContactAttribute, ContactTag, Event, Link
from hub.store.types import utcnow

DELETED_EVENT = "record_deleted"
ATTRIBUTE_EVENT = "attribute_changed"


class ApplyItem(NamedTuple):
    """One mapped record: where it came from and what it says. ``read_hash`` defaults to a
    hash of the canonical record."""

    instance: str
    stream: str
    native_id: str
    record: CanonicalRecord
    read_hash: str | None = None


@dataclass
class ApplyResult:
    instance: str
    stream: str
    native_id: str
    #: The surviving contact after the whole batch (None: a deletion of an unknown record).
    contact_id: int | None
    created: bool = False
    attributes_changed: list[str] = field(default_factory=list)
    tags_added: list[str] = field(default_factory=list)
    events_added: int = 0
    merged_ids: list[int] = field(default_factory=list)
    conflicts_opened: list[int] = field(default_factory=list)
    #: Identifiers not attached, as ``(kind, reason)`` — values left out on purpose (PII).
    dropped: list[tuple[str, str]] = field(default_factory=list)
    link_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.attributes_changed or self.tags_added or self.events_added
                    or self.merged_ids or self.conflicts_opened or self.link_changed)


def record_hash(record: CanonicalRecord) -> str:
    """Stable hash of a canonical record (the link's ``last_read_hash``).

    The hash of ``dataclasses.asdict(record)``, without its deep copy: the JSON of the
    fields is the same (tuples and lists serialise alike). Values that only ``asdict``
    knows how to turn into JSON (nested dataclasses) take the original path."""
    try:
        return payload_hash({
            "identities": record.identities,
            "attributes": record.attributes,
            "tags": record.tags,
            "events": [{"kind": ev.kind, "occurred_at": ev.occurred_at, "summary": ev.summary, "data": ev.data,
                        "native_id": ev.native_id} for ev in record.events],
            "source_updated_at": record.source_updated_at,
            "deleted": record.deleted,
        })
    except TypeError:
        return payload_hash(dataclasses.asdict(record))


def apply_batch(session: Session, rules: Rules, policies: Policies,
                items: Iterable[ApplyItem | Sequence[Any]], *, notable: Iterable[str] = ()) -> list[ApplyResult]:
    """Apply ``(instance, stream, native_id, record[, read_hash])`` items in one transaction.

    ``policies`` is ``HubConfig.fields`` (a name → FieldPolicy mapping with optional
    ``default``), a ``HubConfig``, or a callable. A change of a ``notable`` attribute from
    one value to another becomes an ``attribute_changed`` event on the timeline. The caller
    commits.
    """
    prepared = [prepare_item(rules, i, *tuple(item)) for i, item in enumerate(items)]
    if not prepared:
        return []
    applier = _Applier(session, rules, policies)
    applier.notable = frozenset(notable)
    return applier.run(prepared)


class _Applier:
    def __init__(self, session: Session, rules: Rules, policies: Policies):
        self.session = session
        self.rules = rules
        self.policies = policies
        self.resolver = BatchResolver(session, rules, policies, on_merge=self._on_merge)
        self.attrs: dict[int, dict[str, AttrValue]] = {}
        self.dirty_attrs: set[tuple[int, str]] = set()
        self.dirty_links: set[tuple[str, str, str]] = set()
        self.events: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.tags: list[tuple[int, int, str, str]] = []
        self.touched_contacts: set[int] = set()
        self.notable: frozenset[str] = frozenset()

    def _on_merge(self, survivor: int, merged: int, fresh: bool) -> None:
        target = self.attrs.setdefault(survivor, {})
        for name in merge_attribute_maps(self.policies, target, self.attrs.pop(merged, {})):
            self.dirty_attrs.add((survivor, name))
        if not fresh:
            self.session.execute(delete(ContactAttribute).where(ContactAttribute.contact_id == merged))

    def run(self, prepared: list[PreparedItem]) -> list[ApplyResult]:
        self.resolver.prepare(prepared)
        self.attrs = load_attributes(self.session, self.resolver.touched)
        results: list[ApplyResult] = []
        targets: list[int | None] = []
        now = utcnow()
        for it in prepared:
            res = self.resolver.resolve(it)
            result = ApplyResult(it.instance, it.stream, it.native_id, None, created=res.created,
                                 merged_ids=res.merged_ids, conflicts_opened=res.conflicts, dropped=res.dropped)
            results.append(result)
            targets.append(res.target)
            if res.target is None:
                continue
            self._apply_link(it, res.target, result, now)
            if not it.deleted:
                self._apply_attributes(it, res.target, result)
                for tag in dict.fromkeys(str(t) for t in it.record.tags if str(t).strip()):
                    self.tags.append((it.index, res.target, tag, it.instance))
            self._collect_events(it, res.target, now)
        self.resolver.release_reserved()
        self._flush(results)
        redirects = self.resolver.flush_claims()
        for result, target in zip(results, targets):
            if target is not None:
                cid = self.resolver.root(target)
                while cid in redirects:
                    cid = redirects[cid]
                result.contact_id = cid
        return results

    # -- per record ---------------------------------------------------------------
    def _apply_link(self, it: PreparedItem, target: int, result: ApplyResult, now: datetime) -> None:
        record = it.record
        read_hash = it.read_hash or record_hash(record)
        state = "deleted" if it.deleted else "active"
        link = self.resolver.links.get(it.link_key)
        if link is None:
            link = {"exists": False, "connector": it.instance, "stream": it.stream, "native_id": it.native_id,
                    "contact_id": target, "origin_contact_id": target, "state": None, "last_read_hash": None,
                    "attributes": None, "tags": None, "source_ts": None}
            self.resolver.links[it.link_key] = link
        if link["last_read_hash"] == read_hash and link["state"] == state:
            return
        link.update(contact_id=target, state=state, last_read_hash=read_hash, last_read_at=now)
        if not it.deleted:
            link.update(attributes=jsonable(record.attributes), tags=[str(t) for t in record.tags],
                        source_ts=record.source_updated_at)
        self.dirty_links.add(it.link_key)
        result.link_changed = True

    def _apply_attributes(self, it: PreparedItem, target: int, result: ApplyResult) -> None:
        current_map = self.attrs.setdefault(target, {})
        for name, raw in it.record.attributes.items():
            policy = policy_for(self.policies, name)
            incoming = AttrValue(jsonable(raw), it.instance, it.record.source_updated_at)
            current = current_map.get(name)
            if current == incoming or not wins(policy, current, incoming):
                continue
            current_map[name] = incoming
            self.dirty_attrs.add((target, name))
            if current is None or current.value != incoming.value:
                result.attributes_changed.append(name)
                if name in self.notable and current is not None and current.value is not None:
                    self._attribute_event(it, target, name, current.value, incoming.value)

    def _attribute_event(self, it: PreparedItem, target: int, name: str, old: Any, new: Any) -> None:
        """``tier: 普通会员 → 金卡`` on the timeline, with the system that changed it. Its
        native id is the change itself, so re-processing the same record adds nothing."""
        when = it.record.source_updated_at or utcnow()
        native = f"attr:{target}:{name}:{payload_hash([old, new, when])[:24]}"
        key = (it.instance, native)
        if key not in self.events:
            self.events[key] = (it.index, {
                "connector": it.instance, "native_id": native, "kind": ATTRIBUTE_EVENT, "occurred_at": when,
                "summary": f"{name}: {old} → {new}", "data": jsonable({"attribute": name, "old": old, "new": new, "source": it.instance}),
                "contact_id": target, "origin_contact_id": target, "created_at": utcnow()})

    def _collect_events(self, it: PreparedItem, target: int, now: datetime) -> None:
        record = it.record
        rows = []
        for ev in record.events:
            native = ev.native_id or f"{it.native_id}:{ev.kind}"
            rows.append((native, ev.kind, ev.occurred_at or record.source_updated_at or now, ev.summary or "", ev.data or {}))
        if it.deleted:
            rows.append((f"{it.stream}:{it.native_id}:deleted", DELETED_EVENT, record.source_updated_at or now,
                         f"{it.stream} record {it.native_id} deleted in {it.instance}",
                         {"stream": it.stream, "native_id": it.native_id}))
        for native, kind, occurred, summary, data in rows:
            key = (it.instance, str(native))
            if key in self.events:
                continue
            self.events[key] = (it.index, {"connector": it.instance, "native_id": str(native), "kind": kind,
                                           "occurred_at": occurred, "summary": summary, "data": jsonable(data),
                                           "contact_id": target, "origin_contact_id": target, "created_at": now})

    # -- end of batch -------------------------------------------------------------
    def _flush(self, results: list[ApplyResult]) -> None:
        root = self.resolver.root
        attr_rows = {}
        for cid, name in self.dirty_attrs:
            r = root(cid)
            attr_rows[(r, name)] = self.attrs[r][name]
        write_attributes(self.session, attr_rows)

        link_rows = []
        for key in self.dirty_links:
            link = self.resolver.links[key]
            link_rows.append({
                "connector": link["connector"], "stream": link["stream"], "native_id": link["native_id"],
                "contact_id": root(link["contact_id"]), "origin_contact_id": link["origin_contact_id"],
                "state": link["state"], "last_read_hash": link["last_read_hash"], "last_read_at": link.get("last_read_at"),
                "attributes": link["attributes"], "tags": link["tags"], "source_ts": link["source_ts"],
            })
        upsert_many(self.session, Link, link_rows, keys=("connector", "stream", "native_id"),
                    update=("contact_id", "state", "last_read_hash", "last_read_at", "attributes", "tags", "source_ts"))

        event_rows = []
        owner_of_event: dict[tuple[str, str], int] = {}
        for key, (index, row) in self.events.items():
            row["contact_id"] = root(row["contact_id"])
            event_rows.append(row)
            owner_of_event[key] = index
        for connector, native in insert_ignore_many(self.session, Event, event_rows, keys=("connector", "native_id"),
                                                    returning=(Event.connector, Event.native_id)):
            results[owner_of_event[(connector, native)]].events_added += 1

        tag_rows: dict[tuple[int, str], tuple[int, dict[str, Any]]] = {}
        now = utcnow()
        for index, cid, tag, connector in self.tags:
            key = (root(cid), tag)
            if key not in tag_rows:
                tag_rows[key] = (index, {"contact_id": key[0], "tag": tag, "connector": connector, "created_at": now})
        for cid, tag in insert_ignore_many(self.session, ContactTag, [row for _, row in tag_rows.values()],
                                           keys=("contact_id", "tag"), returning=(ContactTag.contact_id, ContactTag.tag)):
            results[tag_rows[(cid, tag)][0]].tags_added.append(tag)
