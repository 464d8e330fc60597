"""Canonical views of contacts, loaded in bulk for outbound mappings."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import select

from hub.store import pgbulk
from hub.store.models import ContactAttribute, ContactTag, Identity
from hub.store.upsert import column_in


_ATTRIBUTES = "SELECT contact_id, name, value, connector FROM contact_attributes WHERE contact_id = ANY(%b::bigint[])"


def load_views(session, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{contact_id: {"attributes", "identities", "tags", "set_by"}}`` in three queries.

    ``set_by`` is the set of connector instances that supplied the attribute values and
    tags: a destination that supplied all of them already holds them."""
    ids = sorted(set(contact_ids))
    views: dict[int, dict[str, Any]] = {cid: {"attributes": {}, "identities": defaultdict(list), "tags": [], "set_by": set()}
                                        for cid in ids}
    postgres = pgbulk.is_postgres(session)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        if postgres:  # the largest read of a batch (a row per attribute): plain tuples, no ORM rows
            attributes = pgbulk.fetch(session, _ATTRIBUTES, [chunk])
        else:
            attributes = session.execute(
                select(ContactAttribute.contact_id, ContactAttribute.name, ContactAttribute.value, ContactAttribute.connector)
                .where(column_in(session, ContactAttribute.contact_id, chunk)))
        for cid, name, value, connector in attributes:
            views[cid]["attributes"][name] = value
            views[cid]["set_by"].add(connector)
        for cid, kind, value in session.execute(
            select(Identity.contact_id, Identity.kind, Identity.value).where(column_in(session, Identity.contact_id, chunk)).order_by(Identity.id)
        ).all():
            views[cid]["identities"][kind].append(value)
        for cid, tag, connector in session.execute(
            select(ContactTag.contact_id, ContactTag.tag, ContactTag.connector)
            .where(column_in(session, ContactTag.contact_id, chunk)).order_by(ContactTag.tag)
        ).all():
            views[cid]["tags"].append(tag)
            views[cid]["set_by"].add(connector)
    for view in views.values():
        view["identities"] = dict(view["identities"])
    return views
