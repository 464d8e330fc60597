"""Two CRMs kept in sync both ways through the hub: no echo loop, conflicts by policy,
idempotent re-runs."""

from sqlalchemy import func, select

from hub.pipeline.inline import sync_inline
from hub.store.models import Contact, Identity, InboxRow, OutboxRow


def count(db, model, *where):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_records_flow_to_the_other_crm_and_do_not_echo_back(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 12)
    first = sync_inline(hub.runtime, "crm_a", "contacts")
    assert first["read"] == 12 and first["processed"] == 12 and first["delivered"] == 12, first
    assert len(hub.b.contacts) == 12
    assert {c["phone"] for c in hub.b.contacts.values()} == {c["phone"] for c in hub.a.contacts.values()}
    assert count(hub.runtime.db, Contact) == 12

    # crm_b's stream now returns the 12 rows the hub wrote: the same people, no new change.
    back = sync_inline(hub.runtime, "crm_b", "contacts")
    assert back["read"] == 12 and back["delivered"] == 0, back
    assert hub.a.effects("contacts") == [], "a write echoed back to its origin"
    assert count(hub.runtime.db, Contact, Contact.merged_into.is_(None)) == 12
    # each contact now holds both CRMs' ids
    assert count(hub.runtime.db, Identity, Identity.kind == "crm_id") == 24

    # nothing changed anywhere: a full re-run writes nothing
    again_a = sync_inline(hub.runtime, "crm_a", "contacts")
    again_b = sync_inline(hub.runtime, "crm_b", "contacts")
    assert again_a["new"] == 0 and again_b["new"] == 0
    assert count(hub.runtime.db, OutboxRow) == 12


def test_an_edit_in_either_crm_reaches_the_other_once(make_hub):
    hub = make_hub()
    ids = hub.a.add_records("contacts", 3)
    sync_inline(hub.runtime, "crm_a", "contacts")
    sync_inline(hub.runtime, "crm_b", "contacts")
    b_id = next(k for k, v in hub.b.contacts.items() if v["phone"] == hub.a.contacts[int(ids[0])]["phone"])

    hub.b.update_record("contacts", str(b_id))  # someone sets tier=gold in crm_b
    out = sync_inline(hub.runtime, "crm_b", "contacts")
    assert out["delivered"] == 1, out
    assert hub.a.contacts[int(ids[0])]["tier"] == "gold"
    assert len(hub.b.effects("contacts")) == 3  # only the 3 initial writes; nothing came back

    # crm_a now returns our write: no change, nothing delivered to crm_b
    back = sync_inline(hub.runtime, "crm_a", "contacts")
    assert back["delivered"] == 0, back
    assert len(hub.b.effects("contacts")) == 3


def test_conflicting_edits_resolve_by_policy(make_hub):
    hub = make_hub(fields="  tier: {prefer: crm_a}")
    ids = hub.a.add_records("contacts", 1)
    sync_inline(hub.runtime, "crm_a", "contacts")
    sync_inline(hub.runtime, "crm_b", "contacts")
    (b_id,) = hub.b.contacts

    hub.a.contacts[int(ids[0])].update(tier="platinum", updated_at="2026-06-01T00:00:00Z")
    hub.b.contacts[b_id].update(tier="bronze", updated_at="2026-06-02T00:00:00Z")  # later, but crm_a is preferred
    sync_inline(hub.runtime, "crm_b", "contacts")
    sync_inline(hub.runtime, "crm_a", "contacts")
    sync_inline(hub.runtime, "crm_b", "contacts")
    assert hub.a.contacts[int(ids[0])]["tier"] == "platinum"
    assert hub.b.contacts[b_id]["tier"] == "platinum"


def test_latest_wins_by_default_and_both_crms_converge(make_hub):
    from hub.pipeline.inline import run_inline
    from hub.pipeline.pull import pull

    hub = make_hub()
    ids = hub.a.add_records("contacts", 1)
    sync_inline(hub.runtime, "crm_a", "contacts")
    sync_inline(hub.runtime, "crm_b", "contacts")
    (b_id,) = hub.b.contacts
    hub.a.contacts[int(ids[0])].update(tier="platinum", updated_at="2026-06-01T00:00:00Z")
    hub.b.contacts[b_id].update(tier="bronze", updated_at="2026-06-02T00:00:00Z")
    # both edits are read before either is processed: the newer source timestamp wins,
    # and each CRM receives the change the other made
    new = pull(hub.runtime, "crm_a", "contacts").inbox_ids + pull(hub.runtime, "crm_b", "contacts").inbox_ids
    run_inline(hub.runtime, inbox_ids=new)
    assert hub.a.contacts[int(ids[0])]["tier"] == "bronze"
    assert hub.b.contacts[b_id]["tier"] == "bronze"
    # and the echoes of those writes change nothing
    assert sync_inline(hub.runtime, "crm_a", "contacts")["delivered"] == 0
    assert sync_inline(hub.runtime, "crm_b", "contacts")["delivered"] == 0


def test_processing_twice_is_harmless(make_hub):
    from sqlalchemy import update

    from hub.pipeline.inline import run_inline

    hub = make_hub()
    hub.a.add_records("contacts", 5)
    sync_inline(hub.runtime, "crm_a", "contacts")
    with hub.runtime.db.session() as s:
        ids = list(s.scalars(select(InboxRow.id)))
        s.execute(update(InboxRow).values(status="pending"))
    run_inline(hub.runtime, inbox_ids=ids)
    assert count(hub.runtime.db, Contact) == 5
    assert count(hub.runtime.db, OutboxRow) == 5
    assert len(hub.b.effects("contacts")) == 5


def test_a_preferred_system_owns_values_the_hub_wrote_to_it(make_hub):
    """crm_b is preferred for names. A contact first seen in crm_a is written to crm_b; once
    crm_b's row is read back, crm_b is the name's source and crm_a can no longer change it:
    crm_a's edit loses, and crm_a gets the winning name back (convergence: every system
    holds what its mapping renders from the contact)."""
    from hub.store.models import ContactAttribute

    hub = make_hub(fields="  name: {prefer: crm_b}")
    (a_id,) = hub.a.add_records("contacts", 1)
    sync_inline(hub.runtime, "crm_a", "contacts")
    sync_inline(hub.runtime, "crm_b", "contacts")
    (b_id,) = hub.b.contacts
    with hub.runtime.db.session() as s:
        assert s.scalar(select(ContactAttribute.connector).where(ContactAttribute.name == "name")) == "crm_b"
    original = hub.b.contacts[b_id]["name"]
    hub.a.contacts[int(a_id)].update(name="改过的名字", updated_at="2026-06-01T00:00:00Z")
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["delivered"] == 1, out
    assert hub.b.contacts[b_id]["name"] == original
    assert hub.a.contacts[int(a_id)]["name"] == original
    assert len(hub.b.effects("contacts")) == 1  # only the first write
    # and crm_a's read-back of the hub's write is an echo: nothing moves
    assert sync_inline(hub.runtime, "crm_a", "contacts")["delivered"] == 0
