"""The set-attribute action ``{set: {segment: 高意向}}``: a hub attribute with the source
``automation:<name>`` under the field policy, on the timeline, rendered to outbound sinks,
seen by other automations' attribute triggers — and never looping, never acting twice."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from automation_hub import AutoHub, config_text
from hub.config import ConfigError, load_config
from hub.store.models import AutomationAction, ContactAttribute, ContactTag, Event, OutboxRow

CUSTOMER = {"id": 1, "name": "王女士", "wxid": "wmAAA", "owner": "zhangsan", "stage": "兴趣"}
#: The CRM's contacts sink renders the segment (and the name) from the contact's state.
CRM_OUT = """direction: outbound
connector: example
sink: contacts
fields:
  name: attributes.name
  segment: attributes.segment
"""
HOT_LEAD = """
hot_lead:
  on: {event: chat_message, text_matches: {keywords: {多少钱: 高意向, 太贵了: 价格敏感}}}
  do: {set: {segment: "{match}"}}
"""


@pytest.fixture
def make_hub(make_auto_hub, tmp_path):
    """``make_auto_hub`` with the CRM's contacts sink live (outbound mapping above) and
    optional extra top-level config (``fields:``)."""
    out = tmp_path / "crm.contacts.out.yaml"
    out.write_text(CRM_OUT, encoding="utf-8")
    marker = "  wecom_sales:\n"

    def make(automations: str, settings: str = "", extra: str = "") -> AutoHub:
        return make_auto_hub(automations, settings, edit=lambda text: text.replace(
            marker, f"    sinks:\n      contacts: {{mode: live, mapping: \"{out}\"}}\n" + marker, 1) + extra)

    return make


def attribute(hub, name: str, contact_id: int = 1) -> tuple | None:
    with hub.runtime.db.session() as s:
        row = s.get(ContactAttribute, (contact_id, name))
        return (row.value, row.connector) if row is not None else None


def changes_on_timeline(hub) -> list[str]:
    with hub.runtime.db.session() as s:
        return list(s.scalars(select(Event.summary).where(Event.kind == "attribute_changed", Event.connector == "automation")
                              .order_by(Event.id)))


def crm_renderings(hub) -> list[dict]:
    return [r.payload for r in hub.outbox("contacts")]


def test_a_keyword_sets_the_segment_with_its_provenance_on_the_timeline_and_in_the_crm(make_hub):
    hub = make_hub(HOT_LEAD)
    hub.approve("hot_lead")
    hub.feed(CUSTOMER)
    before = len(hub.outbox("contacts"))
    new = hub.feed({**CUSTOMER, "msg_id": "m1", "text": "这个多少钱", "sender": "customer"})
    assert attribute(hub, "segment") == ("高意向", "automation:hot_lead")
    assert changes_on_timeline(hub) == ["hot_lead: segment → 高意向"]
    (action,) = hub.actions("hot_lead")
    assert (action.kind, action.target, action.status, action.payload) == ("set", "set:segment", "done", {"attribute": "segment", "value": "高意向"})
    rows = hub.outbox("contacts")[before:]
    assert [r.payload["segment"] for r in rows] == ["高意向"] and rows[0].id in new  # queued for delivery with the batch
    assert rows[0].origin == "automation-set:hot_lead" and rows[0].native_id == "1"
    # A later keyword with another label changes it again, on the timeline as old → new.
    hub.feed({**CUSTOMER, "msg_id": "m2", "text": "太贵了", "sender": "customer"})
    assert attribute(hub, "segment") == ("价格敏感", "automation:hot_lead")
    assert changes_on_timeline(hub)[-1] == "hot_lead: segment: 高意向 → 价格敏感"
    assert crm_renderings(hub)[-1]["segment"] == "价格敏感"


def test_the_same_value_changes_nothing(make_hub):
    hub = make_hub(HOT_LEAD + """
hot_tag:
  on: {attribute: segment, changes: true}
  do: {tag: 重点跟进}
""")
    hub.approve("hot_lead", "hot_tag")
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "多少钱", "sender": "customer"})
    crm, timeline = len(crm_renderings(hub)), changes_on_timeline(hub)
    hub.feed({**CUSTOMER, "msg_id": "m2", "text": "到底多少钱", "sender": "customer"})  # 高意向 again
    assert [a.status for a in hub.actions("hot_lead")] == ["done", "unchanged"]
    assert hub.actions("hot_lead")[1].detail == "segment is already 高意向"
    assert len(crm_renderings(hub)) == crm and changes_on_timeline(hub) == timeline
    assert [a.status for a in hub.actions("hot_tag")] == ["done"]  # fired by the first change only


def test_other_automations_attribute_triggers_see_the_change(make_hub):
    from hub.automations.journeys import advance_due

    hub = make_hub(HOT_LEAD + """
hot_tag:
  on: {attribute: segment, becomes: 高意向}
  do: [{tag: 重点跟进}, {sink: wecom_sales.messages, payload: {sender: "{attributes.owner}", external_userid: "{identities.wecom_external_userid}", text: "您好 {attributes.segment}"}}]
hot_sop:
  enroll: {attribute: segment, becomes: 高意向}
  steps: [{after: 1h, do: {tag: 高意向回访}}]
""", settings="daily_messages: null")
    hub.approve("hot_lead", "hot_tag", "hot_sop")
    hub.feed(CUSTOMER)
    new = hub.feed({**CUSTOMER, "msg_id": "m1", "text": "多少钱", "sender": "customer"})
    with hub.runtime.db.session() as s:
        assert s.scalars(select(ContactTag.tag)).all() == ["重点跟进"]
    (message,) = hub.outbox("messages")
    assert message.payload["text"] == "您好 高意向" and message.id in new
    (enrolled,) = hub.enrollments()
    assert enrolled.journey == "hot_sop" and enrolled.status == "active"
    advance_due(hub.runtime, now=enrolled.enrolled_at + timedelta(hours=1, seconds=1))
    assert [a.status for a in hub.actions("hot_sop") if a.kind == "tag"] == ["done"]


def test_no_automation_retriggers_itself_directly_or_through_another(make_hub):
    hub = make_hub("""
stage_bump:
  on: {attribute: stage, changes: true}
  do: {set: {stage: "{attributes.stage}+"}}
tier_from_stage:
  on: {attribute: stage, changes: true}
  do: {set: {tier: "T-{attributes.stage}"}}
stage_from_tier:
  on: {attribute: tier, changes: true}
  do: {set: {stage: "S-{attributes.tier}"}}
""")
    hub.approve("stage_bump", "tier_from_stage", "stage_from_tier")
    hub.feed(CUSTOMER)
    # The CRM's stage fires stage_bump and tier_from_stage; each change fires the others,
    # but a chain never comes back to an automation already in it — so it ends.
    assert [(a.automation, a.payload["value"]) for a in hub.actions()] == [
        ("stage_bump", "兴趣+"),                    # chain 1: the CRM's 兴趣 → stage_bump
        ("tier_from_stage", "T-兴趣+"),             #   its change → tier_from_stage
        ("stage_from_tier", "S-T-兴趣+"),           #   → stage_from_tier; stage_bump is in the chain: stop
        ("tier_from_stage", "T-S-T-兴趣+"),         # chain 2: the CRM's change → tier_from_stage (current state)
        ("stage_from_tier", "S-T-S-T-兴趣+"),       #   → stage_from_tier
        ("stage_bump", "S-T-S-T-兴趣++"),           #   → stage_bump; tier_from_stage is in the chain: stop
    ]
    assert attribute(hub, "stage") == ("S-T-S-T-兴趣++", "automation:stage_bump")
    assert len(changes_on_timeline(hub)) == 6
    before = len(hub.actions())
    hub.reprocess_all()
    assert len(hub.actions()) == before


def test_the_field_policy_decides(make_hub):
    hub = make_hub("""
promote:
  on: {event: chat_message}
  do: {set: {stage: 评估价格, segment: 活跃}}
""", extra="fields:\n  stage: {prefer: crm}\n")
    hub.approve("promote")
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "你好", "sender": "customer"})
    assert attribute(hub, "stage") == ("兴趣", "crm")  # the CRM is preferred for stage
    assert attribute(hub, "segment") == ("活跃", "automation:promote")
    stage, segment = hub.actions("promote")
    assert stage.status == "unchanged" and stage.detail == "the field policy keeps crm's stage (兴趣)"
    assert segment.status == "done"


def test_preview_records_and_sets_nothing(make_hub):
    hub = make_hub(HOT_LEAD)
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "多少钱", "sender": "customer"})
    assert attribute(hub, "segment") is None and changes_on_timeline(hub) == []
    assert [(a.status, a.payload) for a in hub.actions()] == [("preview", {"attribute": "segment", "value": "高意向"})]


def test_a_missing_placeholder_fails_the_action(make_hub):
    hub = make_hub("""
copy_phone:
  on: {event: chat_message}
  do: {set: {contact_phone: "{identities.phone[0]}"}}
""")
    hub.approve("copy_phone")
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "hi", "sender": "customer"})
    (action,) = hub.actions()
    assert action.status == "failed" and "no value for {identities.phone[0]}" in action.detail
    assert attribute(hub, "contact_phone") is None


def test_a_journey_step_that_sets_a_watched_attribute_does_not_exit_itself(make_hub):
    from hub.automations.journeys import advance_due

    hub = make_hub("""
trial:
  enroll: {attribute: stage, becomes: 要求试用}
  exit: [{attribute: stage, changes: true}]
  steps:
    - {after: 0m, do: {set: {stage: 试用中}}}
    - {after: 1d, do: {tag: 试用回访}}
""")
    hub.approve("trial")
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "stage": "要求试用"})
    (row,) = hub.enrollments()
    advance_due(hub.runtime, now=row.enrolled_at + timedelta(seconds=1))
    assert attribute(hub, "stage") == ("试用中", "automation:trial")
    advance_due(hub.runtime, now=row.enrolled_at + timedelta(days=1, seconds=1))
    (row,) = hub.enrollments()
    assert row.status == "completed" and [a.status for a in hub.actions("trial") if a.kind == "tag"] == ["done"]
    # …while a later change from the CRM still ends a new round. (The automation's value is
    # as of its action: under the "latest" policy only a newer CRM record replaces it.)
    later = row.enrolled_at + timedelta(days=2)
    hub.feed({**CUSTOMER, "stage": "兴趣", "updated_at": later.isoformat()})
    hub.feed({**CUSTOMER, "stage": "要求试用", "updated_at": (later + timedelta(minutes=1)).isoformat()})
    (row,) = hub.enrollments()
    assert row.round == 2
    advance_due(hub.runtime, now=later + timedelta(minutes=2))
    assert attribute(hub, "stage") == ("试用中", "automation:trial") and hub.enrollments()[0].status == "active"
    hub.feed({**CUSTOMER, "stage": "购买", "updated_at": (later + timedelta(hours=1)).isoformat()})
    assert hub.enrollments()[0].status == "exited"


@pytest.mark.parametrize("do, message", [
    ("{set: segment}", "automations.bad.do.set: expected {attribute name: value}"),
    ("{set: {segment: null}}", "automations.bad.do.set.segment: expected a value"),
    ("{set: {segment: {a: 1}}}", "automations.bad.do.set.segment: expected a plain value or a list"),
    ("{sett: {segment: x}}", "automations.bad.do.sett: unknown key (did you mean 'set'?)"),
])
def test_bad_set_actions_are_config_errors(tmp_path, do, message):
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, "sqlite:///:memory:", "redis://x", f"bad:\n  on: {{event: chat_message}}\n  do: {do}"),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text.strip().startswith("do:"))
    assert any(e.startswith(f"{path}:{line} {message}") for e in info.value.errors), info.value.errors


# -- property: replaying the same inputs in any order never sets, renders or fires twice.

CHAIN = HOT_LEAD + """
hot_tag:
  on: {attribute: segment, changes: true}
  do: [{tag: "分层 {attributes.segment}"}, {set: {tier: "{attributes.segment}"}}]
"""
TEXTS = ["多少钱", "太贵了", "好的", None]
inputs = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["兴趣", "资料"]), st.sampled_from(TEXTS)), min_size=1, max_size=8)
_hubs: dict = {}
_example = count()


def _totals(hub) -> tuple[int, int, int, int]:
    with hub.runtime.db.session() as s:
        return (s.scalar(select(func.count()).select_from(AutomationAction)), s.scalar(select(func.count()).select_from(OutboxRow)),
                s.scalar(select(func.count()).select_from(Event).where(Event.kind == "attribute_changed")),
                s.scalar(select(func.count()).select_from(ContactAttribute)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=inputs)
def test_property_replaying_never_sets_twice(make_hub, steps):
    n = next(_example)
    made = _hubs.get(id(make_hub))
    if made is None or made[0] is not make_hub:
        hub = make_hub(CHAIN)
        hub.approve("hot_lead", "hot_tag")
        made = _hubs[id(make_hub)] = (make_hub, hub)
    hub = made[1]
    for i, (who, stage, text) in enumerate(steps):
        record = {"id": 1000 * n + who, "name": f"客户{who}", "wxid": f"wx{n}-{who}", "owner": "zs", "stage": stage}
        if text:
            record.update(msg_id=f"m{n}-{i}", text=text, sender="customer")
        hub.feed(record)
    # The segment each contact ends with is its last keyword's label; tier follows it.
    for who in range(3):
        labels = [{"多少钱": "高意向", "太贵了": "价格敏感"}[t] for w, _, t in steps if w == who and t in ("多少钱", "太贵了")]
        if labels:
            assert attribute(hub, "segment", contact_id=_contact(hub, 1000 * n + who))[0] == labels[-1]
            assert attribute(hub, "tier", contact_id=_contact(hub, 1000 * n + who)) == (labels[-1], "automation:hot_tag")
    before = _totals(hub)
    hub.reprocess_all()  # every inbox row again, in its order
    assert _totals(hub) == before


def _contact(hub, crm_id: int) -> int:
    from hub.store.models import Link

    with hub.runtime.db.session() as s:
        return s.scalar(select(Link.contact_id).where(Link.connector == "crm", Link.native_id == str(crm_id)))
