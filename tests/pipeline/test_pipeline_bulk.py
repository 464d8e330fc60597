"""The bulk paths of the pipeline: contact ids reserved per batch, batched outbox lookups,
ingest in one statement, pulls that do not hold every id (real SQLite / PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from hub.canonical import CanonicalRecord
from hub.contacts.apply import ApplyItem, apply_batch
from hub.identity import build_rules
from hub.identity_kinds import BUILTIN_KINDS
from hub.pipeline.ingest import store_records
from hub.pipeline.links import destination_native_id, last_written_hashes
from hub.pipeline.outbound import contact_links, record_for
from hub.plugins import IdentityKindSpec, Registry
from hub.connector import Record
from hub.store.models import Contact, Identity, InboxRow, Link, MergeConflict, MergeEdge
from hub.store.upsert import column_in

BUILTIN = Registry(identity_kinds={k.kind: IdentityKindSpec(k.kind, k.strong, k.max_per_contact, k.normalize) for k in BUILTIN_KINDS})
RULES = build_rules(BUILTIN)
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def rec(*identities, name=None, minutes=0):
    return CanonicalRecord(identities=list(identities), attributes={"name": name} if name else {},
                           source_updated_at=T0 + timedelta(minutes=minutes))


def apply(db, items):
    with db.session() as s:
        return apply_batch(s, RULES, {}, [ApplyItem(*item) for item in items])


def orphans(session) -> int:
    """Live contacts that nothing points at: a reserved id the batch should have released."""
    return session.execute(
        select(func.count()).select_from(Contact).where(
            Contact.merged_into.is_(None),
            ~select(Link.id).where(Link.contact_id == Contact.id).exists(),
        )
    ).scalar_one()


def test_new_contacts_get_ascending_ids_and_unused_reservations_are_released(db):
    # 6 records, 4 people: r2 shares r1's phone (attaches), r5 bridges r3 and r4 (fresh merge).
    results = apply(db, [
        ("crm", "rows", "1", rec(("phone", "13900000001"), name="王伟")),
        ("crm", "rows", "2", rec(("phone", "13900000001"), ("email", "li@qq.com"), name="李娜")),
        ("crm", "rows", "3", rec(("phone", "13900000003"))),
        ("crm", "rows", "4", rec(("email", "zhang@163.com"))),
        ("crm", "rows", "5", rec(("phone", "13900000003"), ("email", "zhang@163.com"))),
        ("crm", "rows", "6", rec(("phone", "13800138000"))),  # block-listed: its own contact
    ])
    ids = [r.contact_id for r in results]
    assert ids[0] == ids[1] and ids[2] == ids[3] == ids[4] and len({ids[0], ids[2], ids[5]}) == 3
    assert ids[0] < ids[2] < ids[5]  # creation order, survivor of the fresh merge is the oldest
    assert results[4].merged_ids and max(results[4].merged_ids) > ids[2]
    with db.session() as s:
        assert orphans(s) == 0
        live = s.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one()
        assert live == 3
        (edge,) = s.execute(select(MergeEdge)).scalars().all()
        assert (edge.survivor_id, edge.kind) == (ids[2], "email")
        merged = s.get(Contact, edge.merged_id)
        assert merged.merged_into == ids[2]


def test_a_merge_with_stored_contacts_and_fresh_ones_in_one_batch(db):
    first = apply(db, [("crm", "rows", "1", rec(("phone", "13900000011"))),
                       ("crm", "rows", "2", rec(("email", "a@qq.com")))])
    # a fresh contact, then a record joining both stored contacts, then one joining the fresh one
    results = apply(db, [
        ("crm", "rows", "3", rec(("phone", "13900000033"))),
        ("crm", "rows", "4", rec(("phone", "13900000011"), ("email", "a@qq.com"))),
        ("crm", "rows", "5", rec(("phone", "13900000033"), ("email", "a@qq.com"))),
    ])
    survivor = first[0].contact_id
    assert {r.contact_id for r in results} == {survivor}
    with db.session() as s:
        assert orphans(s) == 0
        assert s.execute(select(func.count()).select_from(MergeEdge)).scalar_one() == 2
        assert {cid for (cid,) in s.execute(select(Identity.contact_id))} == {survivor}
        assert s.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one() == 1


def test_unexpected_creations_reserve_more_ids(db):
    # Stored: crm 1 with a phone. The batch: crm 2..4 share that phone — each is a strong-id
    # conflict, so each needs a contact the up-front estimate did not count.
    apply(db, [("crm", "rows", "1", rec(("crm_id", "1"), ("phone", "13900000021")))])
    results = apply(db, [("crm", "rows", str(n), rec(("crm_id", str(n)), ("phone", "13900000021"))) for n in (2, 3, 4)]
                    + [("crm", "rows", "9", rec(("phone", "13900000099")))])
    ids = [r.contact_id for r in results]
    assert len(set(ids)) == 4 and ids == sorted(ids)
    assert all(r.created for r in results)
    with db.session() as s:
        assert orphans(s) == 0
        assert s.execute(select(func.count()).select_from(MergeConflict)).scalar_one() == 3


def test_re_applying_a_batch_creates_and_reserves_nothing(db):
    items = [("crm", "rows", str(n), rec(("phone", f"139000001{n:02d}"), name=f"客户{n}")) for n in range(20)]
    apply(db, items)
    with db.session() as s:
        before = s.execute(select(func.max(Contact.id))).scalar_one()
    again = apply(db, items)
    assert not any(r.created or r.changed for r in again)
    with db.session() as s:
        assert s.execute(select(func.max(Contact.id))).scalar_one() == before
        assert orphans(s) == 0


def test_destination_native_ids_match_the_per_contact_lookup(db):
    with db.session() as s:
        a, b, c = (s.execute(Contact.__table__.insert().values(created_at=T0, updated_at=T0).returning(Contact.id)).scalar_one()
                   for _ in range(3))
        s.add_all([
            Link(connector="dst", stream="contacts", native_id="n-a", contact_id=a, state="active"),
            Link(connector="dst", stream="rows", native_id="r-a", contact_id=a, state="active", last_written_hash="h1"),
            Link(connector="dst", stream="contacts", native_id="n-b", contact_id=b, state="active"),
            Link(connector="dst", stream="rows", native_id="r-c", contact_id=c, state="deleted"),
            Link(connector="other", stream="rows", native_id="o-c", contact_id=c, state="active"),
        ])
        s.flush()
        links = contact_links(s, [a, b, c])
        got = {(sink, cid): record.native_id for sink in ("rows", "contacts") for cid in (a, b, c)
               if (record := record_for(links.get(cid, []), "dst", sink)) is not None}
        for sink in ("rows", "contacts"):
            for cid in (a, b, c):
                assert got.get((sink, cid)) == destination_native_id(s, "dst", sink, cid)
        assert got[("rows", a)] == "r-a" and got[("contacts", a)] == "n-a" and got[("rows", b)] == "n-b"
        assert last_written_hashes(s, "dst", "rows", ["r-a", "n-b", "zz"]) == {"r-a": "h1"}
        assert s.execute(select(Link.id).where(column_in(s, Link.native_id, []))).all() == []


def test_ingest_in_one_statement_returns_new_ids_and_counts_duplicates(db):
    records = [Record(native_id=str(n), data={"n": n, "名": "王"}) for n in range(450)]
    with db.session() as s:
        ids, dupes = store_records(s, "crm", "rows", records + records[:5])
    assert len(ids) == 450 and dupes == 5 and ids == sorted(ids)
    with db.session() as s:
        again, dupes = store_records(s, "crm", "rows", records[:10] + [Record(native_id="0", data={"n": -1})])
        assert len(again) == 1 and dupes == 10
        assert s.execute(select(func.count()).select_from(InboxRow)).scalar_one() == 451


def test_a_pull_hands_ids_over_per_batch_instead_of_holding_them(make_hub):
    from hub.pipeline.pull import pull

    hub = make_hub()
    hub.a.add_records("contacts", 25)  # several pages of 10
    handed: list[int] = []
    result = pull(hub.runtime, "crm_a", "contacts", after_commit=handed.extend)
    assert len(handed) == 25 and result.new == 25 and result.batches >= 3
    assert result.inbox_ids == []  # a million-row first sync must not keep a million ids
    hub.a.add_records("contacts", 3)
    kept = pull(hub.runtime, "crm_a", "contacts")  # no callback: the caller needs the ids
    assert len(kept.inbox_ids) == 3


def test_the_same_record_twice_in_a_batch_reserves_one_contact(db):
    import hub.identity.resolver as resolver

    reserved = []
    original = resolver.create_contacts

    def counting(session, n):
        reserved.append(n)
        return original(session, n)

    resolver.create_contacts = counting
    try:
        results = apply(db, [
            ("crm", "rows", "7", rec(name="无号码")),            # no identifiers at all
            ("crm", "rows", "7", rec(name="无号码 (改)", minutes=1)),  # same record, changed
            ("crm", "rows", "8", rec(("email", "x@qq.com"))),
        ])
    finally:
        resolver.create_contacts = original
    assert results[0].contact_id == results[1].contact_id != results[2].contact_id
    assert reserved == [2]  # one reservation, exactly the two contacts needed
    with db.session() as s:
        assert orphans(s) == 0
