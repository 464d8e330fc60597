"""Find, contact view and history (keyset pagination, filters)."""

import pytest

from hub.contacts.queries import CursorError, contact_view, find_contact, history

from .conftest import at, event, rec

P1 = ("phone", "13800138001")


@pytest.fixture
def timeline(apply):
    """One contact with 7 events over three connectors, two sharing a timestamp."""
    results = apply([
        ("crm_main", "contacts", "1001", rec(("crm_id", "1001"), P1, attributes={"name": "王伟"}, ts=at(0),
                                             events=[event("lead_created", 0, "l1"), event("order", 5, "o1")])),
        ("wecom", "external_contacts", "wmA", rec(("wecom_external_userid", "wmA"), P1,
                                                  events=[event("wecom_friend_added", 1, "f1"), event("chat", 5, "m1"), event("chat", 7, "m2")])),
        ("callcenter", "calls", "k", rec(P1, events=[event("call", 2, "k1"), event("call", 9, "k2")])),
    ])
    return results[0].contact_id


def test_history_newest_first_with_keyset_pages(db, timeline):
    with db.session() as s:
        full = history(s, timeline, limit=100)
        assert [e.occurred_at for e in full.events] == sorted((e.occurred_at for e in full.events), reverse=True)
        assert full.next_cursor is None and len(full.events) == 7
        seen, cursor = [], None
        while True:
            page = history(s, timeline, limit=3, before=cursor)
            seen += [e.id for e in page.events]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [e.id for e in full.events]


def test_history_filters(db, timeline):
    with db.session() as s:
        assert {e.kind for e in history(s, timeline, kinds=["chat"]).events} == {"chat"}
        calls = history(s, timeline, connectors=["callcenter"]).events
        assert [e.native_id for e in calls] == ["k2", "k1"]
        both = history(s, timeline, kinds=["order", "call"], connectors=["crm_main"]).events
        assert [e.native_id for e in both] == ["o1"]
        with pytest.raises(CursorError):
            history(s, timeline, before="garbage!")


def test_contact_view(db, timeline, rules, apply):
    apply([("crm_main", "contacts", "1002", rec(("crm_id", "1002"), P1))])  # opens a conflict
    with db.session() as s:
        assert find_contact(s, rules, "crm_id:crm_main:1001") == timeline
        assert find_contact(s, rules, "phone:+8613900000000") is None
        view = contact_view(s, timeline)
        assert view.display_name == "王伟"
        (name,) = view.attributes
        assert (name.name, name.value, name.connector, name.source_ts) == ("name", "王伟", "crm_main", at(0))
        assert {str(i) for i in view.identities} == {"crm_id:crm_main:1001", "phone:+8613800138001", "wecom_external_userid:wmA"}
        assert {(l.connector, l.stream, l.native_id) for l in view.links} == {
            ("crm_main", "contacts", "1001"), ("wecom", "external_contacts", "wmA"), ("callcenter", "calls", "k")}
        assert len(view.open_conflicts) == 1 and view.open_conflicts[0].status == "open"
        assert contact_view(s, 99999) is None
