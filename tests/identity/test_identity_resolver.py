"""Batched identity resolution against the real store."""

import logging

from sqlalchemy import event as sa_event, func, select

from hub.contacts.queries import contact_view, find_contact
from hub.identity.review import list_conflicts
from hub.store.models import Contact, Identity, MergeConflict, MergeEdge

from .conftest import at, event, live_contacts, make_rules_, rec

P1 = ("phone", "138 0013 8001")


def test_phone_wecom_and_crm_become_one_contact(db, apply, rules):
    results = apply([
        ("callcenter", "calls", "c-1", rec(P1)),
        ("wecom", "external_contacts", "wmA", rec(("wecom_external_userid", "wmA"), ("phone", "+86 13800138001"))),
        ("crm_main", "contacts", "1001", rec(("crm_id", "1001"), ("phone", "13800138001"))),
    ])
    assert {r.contact_id for r in results} == {results[0].contact_id}
    with db.session() as s:
        assert live_contacts(s) == 1
        cid = results[0].contact_id
        for text in ("phone:+8613800138001", "wecom_external_userid:wmA", "crm_id:crm_main:1001"):
            assert find_contact(s, rules, text) == cid


def test_block_listed_phone_never_merges(db, apply):
    results = apply([
        ("crm_main", "contacts", "1", rec(("crm_id", "1"), ("phone", "13800138000"))),
        ("crm_main", "contacts", "2", rec(("crm_id", "2"), ("phone", "138-0013-8000"))),
        ("wecom", "external_contacts", "wm9", rec(("wecom_external_userid", "wm9"), ("phone", "00000000000"))),
    ])
    assert len({r.contact_id for r in results}) == 3
    assert all(("phone", "block-listed value") in r.dropped for r in results)
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(Identity).where(Identity.kind == "phone")).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(MergeConflict)).scalar_one() == 0


def test_different_strong_ids_are_a_conflict_not_a_merge(db, apply):
    first = apply([("crm_main", "contacts", "1", rec(("crm_id", "1"), P1))])[0]
    second = apply([("crm_main", "contacts", "2", rec(("crm_id", "2"), P1))])[0]
    assert first.contact_id != second.contact_id
    assert second.merged_ids == [] and len(second.conflicts_opened) == 1
    with db.session() as s:
        (conflict,) = list_conflicts(s)
        assert {conflict.contact_a, conflict.contact_b} == {first.contact_id, second.contact_id}
        assert (conflict.kind, conflict.value) == ("phone", "+8613800138001")
        assert "crm_main:1" in conflict.reason and "crm_main:2" in conflict.reason
        # the phone stays with the contact that had it; the new record is its own contact
        assert find_contact(s, make_rules_(), "phone:+8613800138001") == first.contact_id
        view = contact_view(s, second.contact_id)
        assert [c.id for c in view.open_conflicts] == [conflict.id]
    # re-reading the record does not open the conflict twice
    again = apply([("crm_main", "contacts", "2", rec(("crm_id", "2"), P1))])[0]
    assert again.conflicts_opened == []


def test_conflict_when_record_bridges_two_strong_contacts(db, apply):
    a = apply([("crm_main", "contacts", "1", rec(("crm_id", "1")))])[0].contact_id
    b = apply([("crm_main", "contacts", "2", rec(("crm_id", "2"), P1))])[0].contact_id
    r = apply([("wecom", "external_contacts", "wmZ", rec(("crm_id", "crm_main:1"), ("wecom_external_userid", "wmZ"), P1))])[0]
    assert r.contact_id == a and r.merged_ids == [] and len(r.conflicts_opened) == 1
    with db.session() as s:
        assert s.get(Contact, b).merged_into is None


def test_crm_ids_of_different_instances_merge(db, apply):
    results = apply([
        ("crm_main", "contacts", "1", rec(("crm_id", "1"), P1)),
        ("erp", "members", "1", rec(("crm_id", "1"), P1)),
    ])
    assert results[0].contact_id == results[1].contact_id
    with db.session() as s:
        values = set(s.execute(select(Identity.value).where(Identity.kind == "crm_id")).scalars())
    assert values == {"crm_main:1", "erp:1"}


def test_survivor_is_oldest_and_merged_ids_redirect(db, apply, rules):
    a = apply([("crm_main", "contacts", "1", rec(("crm_id", "1"), ("email", "wang@example.cn")))])[0].contact_id
    b = apply([("wecom", "external_contacts", "wmB", rec(("wecom_external_userid", "wmB"), P1))])[0].contact_id
    assert a < b
    r = apply([("feiyu", "leads", "L1", rec(P1, ("email", "WANG@example.cn")))])[0]
    assert r.contact_id == a and r.merged_ids == [b]
    with db.session() as s:
        assert s.get(Contact, b).merged_into == a
        assert find_contact(s, rules, "wecom_external_userid:wmB") == a
        view = contact_view(s, b)
        assert view.id == a and view.requested_id == b and view.merged_ids == [b]
        (edge,) = s.execute(select(MergeEdge)).scalars()
        assert (edge.survivor_id, edge.merged_id, edge.connector) == (a, b, "feiyu")
        assert {(edge.kind, edge.value)} <= {("phone", "+8613800138001"), ("email", "wang@example.cn")}
        assert {str(i) for i in view.identities} == {"crm_id:crm_main:1", "email:wang@example.cn",
                                                     "wecom_external_userid:wmB", "phone:+8613800138001"}


def test_merges_inside_one_batch(db, apply):
    results = apply([
        ("a", "s", "1", rec(P1)),
        ("a", "s", "2", rec(("email", "x@example.cn"))),
        ("a", "s", "3", rec(("email", "y@example.cn"))),
        ("a", "s", "4", rec(P1, ("email", "x@example.cn"), ("email", "y@example.cn"))),
    ])
    assert len({r.contact_id for r in results}) == 1
    assert sorted(results[3].merged_ids) == [results[0].contact_id + 1, results[0].contact_id + 2]
    with db.session() as s:
        assert live_contacts(s) == 1
        assert s.execute(select(func.count()).select_from(MergeEdge)).scalar_one() == 2


def test_weak_limit_drops_extra_identifier_and_refuses_merge(db, apply, make_rules, caplog):
    rules = make_rules(kinds={"phone": {"max_per_contact": 2}})
    phones = [("phone", f"1390000000{i}") for i in range(1, 4)]
    caplog.set_level(logging.INFO)
    r = apply([("a", "s", "1", rec(*phones))], rules_=rules)[0]
    assert [d for d in r.dropped if d[0] == "phone"] and "max_per_contact 2" in r.dropped[0][1]
    with db.session() as s:
        held = set(s.execute(select(Identity.value).where(Identity.contact_id == r.contact_id)).scalars())
    assert held == {"+8613900000001", "+8613900000002"}  # lowest priority (the last) dropped
    assert "max_per_contact" in caplog.text
    # a contact with 2 other phones cannot be merged in through a shared phone
    other = apply([("a", "s", "2", rec(("phone", "13900000009"), ("phone", "13900000008")))], rules_=rules)[0]
    bridge = apply([("a", "s", "3", rec(("phone", "13900000001"), ("phone", "13900000009")))], rules_=rules)[0]
    assert bridge.merged_ids == [] and bridge.contact_id in (r.contact_id, other.contact_id)
    with db.session() as s:
        assert live_contacts(s) == 2


def test_one_identity_query_per_kind(db, rules):
    from hub.contacts.apply import apply_batch

    items = [("a", "s", str(i), rec(("phone", f"1390000{i:04d}"), ("email", f"u{i}@example.cn"), ("wechat_unionid", f"o{i}")))
             for i in range(300)]
    statements = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith("SELECT"):
            return
        if "FROM identities" in statement and "identities.kind =" in statement:  # per kind (SQLite)
            statements.append(statement)
        if "JOIN identities i ON i.kind = k.kind" in statement:  # the whole batch as one join (PostgreSQL)
            statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            apply_batch(s, rules, {}, items)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == (1 if db.dialect == "postgresql" else 3)


def test_apply_is_idempotent(db, apply):
    items = [
        ("crm_main", "contacts", "1", rec(("crm_id", "1"), P1, attributes={"name": "王伟", "city": "杭州"}, tags=["vip"], ts=at(1))),
        ("wecom", "external_contacts", "wm1", rec(("wecom_external_userid", "wm1"), P1, attributes={"name": "Wang"},
                                                    ts=at(2), events=[event("wecom_friend_added", 2)])),
        ("feiyu", "leads", "L1", rec(P1, ("email", "w@example.cn"), ts=at(0))),
    ]
    first = apply(items)
    assert all(r.changed for r in first)
    second = apply(items)
    assert not any(r.changed for r in second), second
    assert [r.contact_id for r in second] == [r.contact_id for r in first]


def test_raw_phone_never_logged_at_info(db, apply, caplog):
    caplog.set_level(logging.INFO)
    apply([("a", "s", "1", rec(("crm_id", "1"), ("phone", "13912345678")))])
    apply([("a", "s", "2", rec(("crm_id", "2"), ("phone", "13912345678")))])  # conflict → logged
    assert "merge conflict" in caplog.text
    assert "13912345678" not in caplog.text


def test_roots_of_follows_redirect_chains_like_root_of(db):
    from sqlalchemy import update as sa_update

    from hub.identity.merge import create_contacts, root_of, roots_of
    from hub.store.models import Contact

    with db.session() as s:
        a, b, c, d, e = create_contacts(s, 5)
        # a → b → c (a chain), d → c, e stays
        s.execute(sa_update(Contact).where(Contact.id == a).values(merged_into=b))
        s.execute(sa_update(Contact).where(Contact.id == b).values(merged_into=c))
        s.execute(sa_update(Contact).where(Contact.id == d).values(merged_into=c))
    with db.session() as s:
        asked = [a, b, c, d, e, 10**9]
        got = roots_of(s, asked)
        assert got == {cid: root_of(s, cid) for cid in asked if root_of(s, cid) is not None}
        assert got == {a: c, b: c, c: c, d: c, e: e}
