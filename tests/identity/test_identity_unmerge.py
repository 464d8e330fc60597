"""Unmerge and the merge-conflict review queue."""

import pytest
from sqlalchemy import select

from hub.contacts.queries import contact_view, history
from hub.identity.review import ReviewError, list_conflicts, resolve_conflict
from hub.identity.unmerge import UnmergeError, unmerge
from hub.store.models import AuditEntry, Contact, MergeEdge

from .conftest import at, event, identity_partition, partition, rec

SHARED = ("phone", "13800138001")


def two_contacts(apply):
    a = apply([("crm_main", "c", "1", rec(("crm_id", "1"), ("email", "a@example.cn"), attributes={"name": "A", "city": "杭州"},
                                          tags=["vip"], ts=at(1), events=[event("order", 1, "o1")]))])[0].contact_id
    b = apply([("wecom", "w", "wmB", rec(("wecom_external_userid", "wmB"), SHARED, attributes={"name": "B"}, tags=["new"],
                                         ts=at(2), events=[event("chat", 2, "m1")]))])[0].contact_id
    return a, b


def snapshot(db):
    with db.session() as s:
        views = {cid: contact_view(s, cid) for cid in s.execute(select(Contact.id).where(Contact.merged_into.is_(None))).scalars()}
        return (partition(s), identity_partition(s),
                {cid: ({a.name: (a.value, a.connector) for a in v.attributes}, v.tags, [e.native_id for e in history(s, cid).events])
                 for cid, v in views.items()})


@pytest.mark.parametrize("by", ["edge", "identity"])
def test_unmerge_restores_the_partition(db, apply, rules, by):
    a, b = two_contacts(apply)
    before = snapshot(db)
    r = apply([("crm_main", "c", "1", rec(("crm_id", "1"), ("email", "a@example.cn"), SHARED,
                                          attributes={"name": "A", "city": "杭州"}, tags=["vip"], ts=at(1),
                                          events=[event("order", 1, "o1")]))])[0]
    assert r.merged_ids == [b]
    with db.session() as s:
        assert [e.native_id for e in history(s, a).events] == ["m1", "o1"]
        (edge,) = s.execute(select(MergeEdge)).scalars()
        kwargs = {"edge_id": edge.id} if by == "edge" else {"identity": "phone:+8613800138001"}
        result = unmerge(s, b, rules=rules, actor="alice", **kwargs)
    assert result.groups == [[a], [b]] and result.edges_undone == [edge.id]
    assert snapshot(db) == before
    with db.session() as s:
        audit = s.execute(select(AuditEntry).where(AuditEntry.action == "contact.unmerge")).scalar_one()
        assert audit.actor == "alice" and audit.target == f"contact:{a}"
        assert s.get(MergeEdge, edge.id).undone_at is not None
        assert [c.status for c in list_conflicts(s, status="kept_apart")] == ["kept_apart"]
    # re-reading the record that caused the merge does not merge the pair again
    again = apply([("crm_main", "c", "1", rec(("crm_id", "1"), SHARED))])[0]
    assert again.merged_ids == []
    with db.session() as s:
        assert s.get(Contact, b).merged_into is None


def test_unmerge_splits_only_the_bad_edge(db, apply):
    ids = [apply([("s", "x", str(i), rec(("phone", f"1390000000{i}")))])[0].contact_id for i in range(3)]
    apply([("s", "x", "j1", rec(("phone", "13900000000"), ("phone", "13900000001")))])
    apply([("s", "x", "j2", rec(("phone", "13900000001"), ("phone", "13900000002")))])
    with db.session() as s:
        edges = s.execute(select(MergeEdge).order_by(MergeEdge.id)).scalars().all()
        assert len(edges) == 2
        result = unmerge(s, ids[2], edge_id=edges[1].id, actor="bob")
    assert result.groups == [[ids[0], ids[1]], [ids[2]]]
    with db.session() as s:
        assert s.get(Contact, ids[1]).merged_into == ids[0]
        assert contact_view(s, ids[2]).id == ids[2]


def test_unmerge_errors(db, apply):
    a, _ = two_contacts(apply)
    with db.session() as s:
        with pytest.raises(UnmergeError):
            unmerge(s, a, edge_id=12345)
        with pytest.raises(UnmergeError):
            unmerge(s, 999, edge_id=1)
        with pytest.raises(ValueError):
            unmerge(s, a)


def conflict_pair(apply):
    a = apply([("crm_main", "c", "1", rec(("crm_id", "1"), SHARED, attributes={"name": "A"}, ts=at(1)))])[0].contact_id
    r = apply([("crm_main", "c", "2", rec(("crm_id", "2"), SHARED, attributes={"name": "B"}, ts=at(2)))])[0]
    return a, r.contact_id, r.conflicts_opened[0]


def test_resolve_conflict_merge(db, apply, rules):
    a, b, conflict = conflict_pair(apply)
    with db.session() as s:
        view = resolve_conflict(s, conflict, "merge", "carol", rules=rules)
        assert view.status == "merged" and view.resolved_by == "carol"
    with db.session() as s:
        assert s.get(Contact, b).merged_into == a
        assert {str(i) for i in contact_view(s, a).identities} >= {"crm_id:crm_main:1", "crm_id:crm_main:2"}
        assert contact_view(s, a).display_name == "B"
        assert s.execute(select(AuditEntry.action, AuditEntry.actor)).all() == [("conflict.merge", "carol")]
        assert list_conflicts(s) == []
        with pytest.raises(ReviewError):
            resolve_conflict(s, conflict, "keep_apart", "carol")


def test_resolve_conflict_keep_apart(db, apply):
    a, b, conflict = conflict_pair(apply)
    with db.session() as s:
        assert resolve_conflict(s, conflict, "keep_apart", "dave").status == "kept_apart"
        with pytest.raises(ValueError):
            resolve_conflict(s, conflict, "explode", "dave")
    with db.session() as s:
        assert s.get(Contact, b).merged_into is None
        assert s.execute(select(AuditEntry.action)).scalar_one() == "conflict.keep_apart"
