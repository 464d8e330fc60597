"""Attributes with provenance under the field policy, tags, events, links, deletions."""

from sqlalchemy import func, select

from hub.config.model import FieldPolicy
from hub.contacts.apply import record_hash
from hub.contacts.queries import contact_view, history
from hub.store.models import ContactAttribute, Event, Link

from .conftest import at, event, rec

P1 = ("phone", "13800138001")


def attrs(db, cid):
    with db.session() as s:
        return {a.name: (a.value, a.connector, a.source_ts) for a in contact_view(s, cid).attributes}


def test_latest_source_timestamp_wins_with_provenance(db, apply):
    cid = apply([("crm_main", "contacts", "1", rec(P1, attributes={"city": "杭州"}, ts=at(10)))])[0].contact_id
    older = apply([("wecom", "external_contacts", "wm1", rec(P1, attributes={"city": "上海"}, ts=at(5)))])[0]
    assert older.attributes_changed == []
    assert attrs(db, cid)["city"] == ("杭州", "crm_main", at(10))
    newer = apply([("wecom", "external_contacts", "wm1", rec(P1, attributes={"city": "北京"}, ts=at(20)))])[0]
    assert newer.attributes_changed == ["city"]
    assert attrs(db, cid)["city"] == ("北京", "wecom", at(20))


def test_prefer_connector(db, apply):
    policies = {"tier": FieldPolicy(policy="prefer", prefer="crm_main")}
    cid = apply([("wecom", "w", "1", rec(P1, attributes={"tier": "silver"}, ts=at(1)))], policies=policies)[0].contact_id
    apply([("crm_main", "c", "1", rec(P1, attributes={"tier": "gold"}, ts=at(0)))], policies=policies)
    apply([("wecom", "w", "1", rec(P1, attributes={"tier": "bronze"}, ts=at(9)))], policies=policies)
    assert attrs(db, cid)["tier"] == ("gold", "crm_main", at(0))


def test_an_older_version_of_the_preferred_record_processed_late_does_not_win(db, apply):
    """Two versions of one CRM row reach processing out of order (a webhook-fed worker and a
    pull): the newer source timestamp stands, as under ``latest``."""
    policies = {"tier": FieldPolicy(policy="prefer", prefer="crm_main")}
    cid = apply([("crm_main", "c", "1", rec(P1, attributes={"tier": "金卡"}, ts=at(9)))], policies=policies)[0].contact_id
    late = apply([("crm_main", "c", "1", rec(P1, attributes={"tier": "普通会员"}, ts=at(2)))], policies=policies)[0]
    assert late.attributes_changed == []
    assert attrs(db, cid)["tier"] == ("金卡", "crm_main", at(9))


def test_a_notable_attribute_change_is_on_the_timeline_with_old_new_and_source(db, apply):
    from hub.contacts.apply import apply_batch
    from hub.identity.rules import build_rules

    items = [("crm_main", "c", "1", rec(P1, attributes={"tier": "普通会员", "city": "杭州"}, ts=at(1)))]
    with db.session() as s:
        cid = apply_batch(s, build_rules(), {}, items, notable=["tier"])[0].contact_id
        s.commit()
    with db.session() as s:
        apply_batch(s, build_rules(), {}, [("crm_main", "c", "1", rec(P1, attributes={"tier": "金卡", "city": "上海"}, ts=at(2)))],
                    notable=["tier"])
        apply_batch(s, build_rules(), {}, [("crm_main", "c", "1", rec(P1, attributes={"tier": "金卡", "city": "上海"}, ts=at(2)))],
                    notable=["tier"])  # the same record again: no second event
        s.commit()
    with db.session() as s:
        changes = [(e.kind, e.connector, e.data, e.summary) for e in history(s, cid).events if e.kind == "attribute_changed"]
    assert changes == [("attribute_changed", "crm_main", {"attribute": "tier", "old": "普通会员", "new": "金卡", "source": "crm_main"},
                        "tier: 普通会员 → 金卡")]  # the first value and the city change are not notable


def test_prefer_unless_blank(db, apply):
    policies = {"default": FieldPolicy(policy="prefer", prefer="crm_main", unless_blank=True)}
    cid = apply([("crm_main", "c", "1", rec(P1, attributes={"company": "", "owner": "李"}, ts=at(0)))], policies=policies)[0].contact_id
    apply([("wecom", "w", "1", rec(P1, attributes={"company": "阿里巴巴", "owner": "张"}, ts=at(5)))], policies=policies)
    got = attrs(db, cid)
    assert got["company"] == ("阿里巴巴", "wecom", at(5))   # the preferred value is blank
    assert got["owner"] == ("李", "crm_main", at(0))          # the preferred value stands


def test_none_policy_is_not_stored(db, apply):
    policies = {"remark": FieldPolicy(policy="none")}
    r = apply([("wecom", "w", "1", rec(P1, attributes={"remark": "x", "name": "王"}))], policies=policies)[0]
    assert r.attributes_changed == ["name"]
    assert "remark" not in attrs(db, r.contact_id)
    with db.session() as s:
        assert contact_view(s, r.contact_id).display_name == "王"


def test_merge_resolves_attribute_clash_by_policy(db, apply):
    a = apply([("crm_main", "c", "1", rec(("crm_id", "1"), attributes={"city": "杭州"}, ts=at(1)))])[0].contact_id
    b = apply([("wecom", "w", "wmB", rec(("wecom_external_userid", "wmB"), P1, attributes={"city": "上海"}, ts=at(3)))])[0].contact_id
    r = apply([("feiyu", "leads", "L", rec(("crm_id", "crm_main:1"), P1))])[0]
    assert r.merged_ids == [b] and r.contact_id == a
    assert attrs(db, a)["city"] == ("上海", "wecom", at(3))
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(ContactAttribute).where(ContactAttribute.contact_id == b)).scalar_one() == 0


def test_events_go_to_survivor_and_are_unique(db, apply):
    a = apply([("crm_main", "c", "1", rec(("crm_id", "1"), events=[event("order", 1, "o-1")]))])[0].contact_id
    b = apply([("callcenter", "calls", "k1", rec(P1, events=[event("call", 2, "k1")]))])[0].contact_id
    r = apply([("crm_main", "c", "1", rec(("crm_id", "1"), P1, events=[event("order", 1, "o-1"), event("order", 3, "o-2")]))])[0]
    assert r.merged_ids == [b] and r.events_added == 1
    # the same native id from another instance is a different event
    other = apply([("erp", "orders", "x", rec(P1, events=[event("order", 4, "o-1")]))])[0]
    assert other.events_added == 1
    with db.session() as s:
        page = history(s, b)
        assert [(e.connector, e.native_id) for e in page.events] == [("erp", "o-1"), ("crm_main", "o-2"), ("callcenter", "k1"), ("crm_main", "o-1")]
        assert {e.contact_id for e in page.events} == {a}


def test_event_without_native_id_gets_record_based_id(db, apply):
    ev = event("ticket_opened", 1)
    first = apply([("desk", "tickets", "T-9", rec(P1, events=[ev]))])[0]
    again = apply([("desk", "tickets", "T-9", rec(P1, events=[ev], attributes={"x": 1}))])[0]
    assert (first.events_added, again.events_added) == (1, 0)
    with db.session() as s:
        assert s.execute(select(Event.native_id)).scalar_one() == "T-9:ticket_opened"


def test_tags_added_once(db, apply):
    r1 = apply([("wecom", "w", "1", rec(P1, tags=["vip", "vip", "新客"]))])[0]
    r2 = apply([("crm_main", "c", "9", rec(P1, tags=["vip", "高净值"]))])[0]
    assert sorted(r1.tags_added) == ["vip", "新客"] and r2.tags_added == ["高净值"]
    with db.session() as s:
        assert contact_view(s, r1.contact_id).tags == sorted(["vip", "新客", "高净值"])


def test_link_hash_given_or_computed(db, apply):
    record = rec(P1, attributes={"name": "王"})
    apply([("crm_main", "c", "1", record, "h-given"), ("crm_main", "c", "2", rec(("phone", "13800138002")))])
    with db.session() as s:
        links = {l.native_id: l for l in s.execute(select(Link)).scalars()}
    assert links["1"].last_read_hash == "h-given" and links["1"].last_read_at is not None
    assert links["2"].last_read_hash == record_hash(rec(("phone", "13800138002")))
    changed = apply([("crm_main", "c", "1", rec(P1, attributes={"name": "王伟"}), "h-2")])[0]
    assert changed.link_changed and changed.attributes_changed == ["name"]


def test_deleted_record_marks_link_and_appends_event(db, apply):
    cid = apply([("wecom", "external_contacts", "wm1", rec(("wecom_external_userid", "wm1"), P1, attributes={"name": "王"}))])[0].contact_id
    deletion = rec(("wecom_external_userid", "wm1"), attributes={"name": ""}, ts=at(30), deleted=True)
    gone = apply([("wecom", "external_contacts", "wm1", deletion)])[0]
    assert gone.contact_id == cid and gone.events_added == 1 and gone.link_changed
    assert gone.attributes_changed == []
    again = apply([("wecom", "external_contacts", "wm1", deletion)])[0]
    assert not again.changed
    with db.session() as s:
        view = contact_view(s, cid)
        assert view is not None and view.display_name == "王"
        assert [(l.native_id, l.state) for l in view.links] == [("wm1", "deleted")]
        (ev,) = history(s, cid).events
        assert ev.kind == "record_deleted" and ev.occurred_at == at(30)


def test_deletion_of_unknown_record_creates_nothing(db, apply):
    r = apply([("wecom", "external_contacts", "wm404", rec(("wecom_external_userid", "wm404"), deleted=True))])[0]
    assert r.contact_id is None and not r.changed
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(Link)).scalar_one() == 0
