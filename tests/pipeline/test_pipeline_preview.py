"""Preview and approval: a two-way sink holds its writes until approved once (issue 17)."""

from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import cli
from hub.pipeline import preview
from hub.pipeline.inline import sync_inline
from hub.pipeline.jobs import reconcile_job
from hub.store.models import AuditEntry, OutboxRow, SinkApproval


def invoke(hub, *args):
    return CliRunner().invoke(cli, list(args), obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})


def statuses(db):
    with db.session() as s:
        return dict(s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all())


def test_a_two_way_sink_holds_writes_until_approved_then_flows(make_hub):
    hub = make_hub(sink_mode=None)  # no mode: both CRMs are two-way, so preview
    assert preview.configured_mode(hub.runtime.config, "crm_b", "contacts") == "preview"
    hub.a.add_records("contacts", 3)
    first = sync_inline(hub.runtime, "crm_a", "contacts")
    assert first["processed"] == 3 and first["delivered"] == 0, first
    assert hub.b.contacts == {} and hub.b.effects("contacts") == [], "a preview sink was written"
    assert statuses(hub.runtime.db) == {"held": 3}

    held = preview.held_writes(hub.runtime.db, "crm_b.contacts")
    assert [w.action for w in held] == ["create"] * 3
    assert {w.payload["phone"] for w in held} == {c["phone"] for c in hub.a.contacts.values()}
    (sink,) = preview.sink_previews(hub.runtime, "crm_b.contacts")
    assert sink.holding and (sink.held, sink.creates, sink.updates) == (3, 3, 0)

    # the reconciler does not release held rows of a sink still in preview
    reconcile_job()
    assert statuses(hub.runtime.db) == {"held": 3}

    # approving one row sends it and leaves the sink in preview
    one = preview.approve(hub.runtime, "crm_b.contacts", ids=[held[0].id], actor="test", inline=True)
    assert one.released == [held[0].id] and one.approved == []
    assert len(hub.b.contacts) == 1 and statuses(hub.runtime.db) == {"held": 2, "delivered": 1}

    # approving the sink sends the rest and records the approval: later writes flow
    rest = preview.approve(hub.runtime, "crm_b.contacts", actor="test", inline=True)
    assert sorted(rest.released) == sorted(w.id for w in held[1:]) and rest.approved == ["crm_b.contacts"]
    assert len(hub.b.contacts) == 3
    hub.a.add_records("contacts", 2)
    later = sync_inline(hub.runtime, "crm_a", "contacts")
    assert later["delivered"] == 2, later
    assert len(hub.b.contacts) == 5 and "held" not in statuses(hub.runtime.db)
    with hub.runtime.db.session() as s:
        assert [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))] == ["outbox.approve", "outbox.approve"]
        assert s.get(SinkApproval, ("crm_b", "contacts")).approved_by == "test"

    # revoking puts the sink back in preview
    assert preview.revoke(hub.runtime, "crm_b.contacts", actor="test") == ["crm_b.contacts"]
    hub.a.add_records("contacts", 1)
    assert sync_inline(hub.runtime, "crm_a", "contacts")["delivered"] == 0
    assert statuses(hub.runtime.db).get("held") == 1


def test_mode_live_skips_the_hold_and_mode_preview_holds_a_one_way_sink(make_hub, tmp_path):
    hub = make_hub(sink_mode="live")
    assert preview.configured_mode(hub.runtime.config, "crm_b", "contacts") == "live"
    hub.a.add_records("contacts", 2)
    assert sync_inline(hub.runtime, "crm_a", "contacts")["delivered"] == 2
    assert len(hub.b.contacts) == 2

    config = hub.runtime.config
    config.connectors["crm_b"].streams["contacts"].enabled = False  # crm_b becomes write-only
    config.connectors["crm_b"].sinks["contacts"].mode = None
    assert preview.configured_mode(config, "crm_b", "contacts") == "live"
    config.connectors["crm_b"].sinks["contacts"].mode = "preview"
    assert preview.configured_mode(config, "crm_b", "contacts") == "preview"


def test_updates_are_shown_as_updates_and_held_rows_can_be_discarded(make_hub):
    hub = make_hub(sink_mode=None)
    ids = hub.a.add_records("contacts", 2)
    preview.approve(hub.runtime, "crm_b", actor="test")  # nothing held yet: approves crm_b's sinks
    sync_inline(hub.runtime, "crm_a", "contacts")
    assert len(hub.b.contacts) == 2
    sync_inline(hub.runtime, "crm_b", "contacts")  # the hub learns crm_b's ids
    preview.revoke(hub.runtime, "crm_b.contacts", actor="test")

    hub.a.update_record("contacts", ids[0])
    sync_inline(hub.runtime, "crm_a", "contacts")
    (held,) = preview.held_writes(hub.runtime.db, "crm_b")
    assert held.action == "update" and held.native_id in {str(k) for k in hub.b.contacts}

    dropped = preview.discard_held(hub.runtime, "crm_b.contacts", actor="test")
    assert dropped == [held.id] and statuses(hub.runtime.db).get("discarded") == 1
    assert preview.held_writes(hub.runtime.db) == []


def test_a_row_held_after_the_approval_is_released_by_the_reconciler(make_hub):
    """A batch processing while its sink is approved may commit a held row afterwards."""
    hub = make_hub(sink_mode=None)
    hub.a.add_records("contacts", 1)
    sync_inline(hub.runtime, "crm_a", "contacts")
    with hub.runtime.db.session() as s:
        s.add(SinkApproval(connector="crm_b", sink="contacts", approved_by="test"))  # approved meanwhile
    reconcile_job()
    assert statuses(hub.runtime.db) == {"pending": 1}


def test_cli_plan_and_approve(make_hub):
    hub = make_hub(sink_mode=None)
    hub.a.add_records("contacts", 2)
    sync_inline(hub.runtime, "crm_a", "contacts")

    out = invoke(hub, "plan", "crm_b")
    assert out.exit_code == 0, out.output
    assert "crm_b.contacts: preview" in out.output and "2 held: 2 create(s), 0 update(s)" in out.output
    assert out.output.count(" create ") == 2 and '"phone"' in out.output
    assert "hub approve crm_b.contacts --all" in out.output

    bad = invoke(hub, "approve", "crm_b.contacts", "999")
    assert bad.exit_code == 2 and "not held writes of crm_b.contacts: [999]" in bad.output
    usage = invoke(hub, "approve", "crm_b.contacts")
    assert usage.exit_code == 2 and "--all" in usage.output
    unknown = invoke(hub, "approve", "crm_c", "--all")
    assert unknown.exit_code == 2 and "no connector instance 'crm_c'" in unknown.output

    ok = invoke(hub, "approve", "crm_b.contacts", "--all", "--inline")
    assert ok.exit_code == 0, ok.output
    assert "released 2 held write(s)" in ok.output and "approved: crm_b.contacts" in ok.output
    assert len(hub.b.contacts) == 2
    after = invoke(hub, "plan", "crm_b.contacts")
    assert "approved" in after.output and "writes flow" in after.output and "held:" not in after.output


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from hub.testing.store import truncate  # noqa: E402

STEP = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 3)),
    st.tuples(st.just("edit"), st.integers(0, 5)),
    st.tuples(st.just("approve_some"), st.integers(0, 7)),
    st.just(("approve_all", 0)),
    st.just(("revoke", 0)),
    st.just(("discard_some", 0)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_no_write_reaches_a_preview_sink_without_approval(make_hub, steps):
    """Whatever the order of syncs, partial approvals, approvals, revocations and discards:
    a row is delivered only if it was created while the sink was approved or an operator
    released it, and after a final approval nothing stays held and the CRMs agree."""
    hub = make_hub(sink_mode=None)
    truncate(hub.runtime.db)
    db = hub.runtime.db
    released: set[int] = set()
    born_held: set[int] = set()
    ids: list[str] = []

    def sync() -> None:
        sync_inline(hub.runtime, "crm_a", "contacts")
        with db.session() as s:
            born_held.update(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "held")))

    for op, n in steps:
        if op == "add":
            ids += hub.a.add_records("contacts", n)
            sync()
        elif op == "edit" and ids:
            hub.a.update_record("contacts", ids[n % len(ids)])
            sync()
        elif op == "approve_some":
            held = preview.held_writes(db, "crm_b.contacts")
            if held:
                chosen = [held[n % len(held)].id]
                released.update(preview.approve(hub.runtime, "crm_b.contacts", ids=chosen, actor="t", inline=True).released)
        elif op == "approve_all":
            released.update(preview.approve(hub.runtime, "crm_b.contacts", actor="t", inline=True).released)
        elif op == "revoke":
            preview.revoke(hub.runtime, "crm_b.contacts", actor="t")
        elif op == "discard_some":
            held = preview.held_writes(db, "crm_b.contacts")
            if held:
                preview.discard_held(hub.runtime, "crm_b.contacts", ids=[held[0].id], actor="t")
        with db.session() as s:
            delivered = set(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "delivered")))
        assert delivered & born_held <= released, "a held write was delivered without approval"
        assert len(hub.b.effects("contacts")) == len(delivered)

    preview.approve(hub.runtime, "crm_b.contacts", actor="t", inline=True)
    assert preview.held_writes(db) == []
    for native_id in ids:  # every contact changes once more: all of it reaches crm_b now
        hub.a.update_record("contacts", native_id)
    sync_inline(hub.runtime, "crm_a", "contacts")
    assert {c["phone"] for c in hub.b.contacts.values()} == {c["phone"] for c in hub.a.contacts.values()}
