"""Canonical views of contacts, loaded in bulk for outbound mappings."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import select

from hub.store.models import ContactAttribute, ContactTag, Identity
from hub.store.upsert import column_in


def load_views(session, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{contact_id: {"attributes", "identities", "tags"}}`` in three queries."""
    ids = sorted(set(contact_ids))
    views: dict[int, dict[str, Any]] = {cid: {"attributes": {}, "identities": defaultdict(list), "tags": []} for cid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for cid, name, value in session.execute(
            select(ContactAttribute.contact_id, ContactAttribute.name, ContactAttribute.value).where(column_in(session, ContactAttribute.contact_id, chunk))
        ):
            views[cid]["attributes"][name] = value
        for cid, kind, value in session.execute(
            select(Identity.contact_id, Identity.kind, Identity.value).where(column_in(session, Identity.contact_id, chunk)).order_by(Identity.id)
        ):
            views[cid]["identities"][kind].append(value)
        for cid, tag in session.execute(
            select(ContactTag.contact_id, ContactTag.tag).where(column_in(session, ContactTag.contact_id, chunk)).order_by(ContactTag.tag)
        ):
            views[cid]["tags"].append(tag)
    for view in views.values():
        view["identities"] = dict(view["identities"])
    return views
