"""``outbound.contact_links``: processing loads the record values of destination links only."""

from __future__ import annotations

from hub.identity.merge import create_contacts
from hub.pipeline import outbound
from hub.store.models import Link
from hub.store.upsert import insert_ignore
from hub.store.types import utcnow


def test_values_travel_only_for_the_instances_asked(db):
    with db.session() as s:
        (cid,) = create_contacts(s, 1)
        now = utcnow()
        for row in ({"connector": "crm", "stream": "rows", "native_id": "1", "contact_id": cid, "origin_contact_id": cid,
                     "state": "active", "attributes": {"tier": "金卡"}, "last_read_at": now},
                    {"connector": "members", "stream": "rows", "native_id": "9", "contact_id": cid, "origin_contact_id": cid,
                     "state": "active", "attributes": {"tier": "银卡"}, "last_written_values": {"tier": "普通会员"}, "last_written_at": now}):
            insert_ignore(s, Link, [row], ["connector", "stream", "native_id"])
    with db.session() as s:
        every = outbound.contact_links(s, [cid])[cid]
        only = outbound.contact_links(s, [cid], values_of={"members"})[cid]
        none = outbound.contact_links(s, [cid], values_of=set())[cid]
    assert [(v.connector, v.attributes, v.written) for v in every] == [
        ("crm", {"tier": "金卡"}, None), ("members", {"tier": "银卡"}, {"tier": "普通会员"})]
    assert [(v.connector, v.native_id, v.attributes, v.written) for v in only] == [
        ("crm", "1", None, None), ("members", "9", {"tier": "银卡"}, {"tier": "普通会员"})]
    assert [(v.connector, v.attributes, v.written) for v in none] == [("crm", None, None), ("members", None, None)]
