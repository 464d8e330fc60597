"""Rules: keyword and attribute triggers, actions as outbox rows and hub tags, preview."""

from __future__ import annotations

from sqlalchemy import select

from hub.store.models import ContactTag

KEYWORD_RULE = """
price_objection_tag:
  on: {event: chat_message, text_matches: {keywords: {太贵了: 价格异议, 多少钱: 意向}}}
  do:
    - {tag: "{match}"}
    - {sink: wecom_sales.tags, payload: {external_userid: "{identities.wecom_external_userid[0]}", userid: "{attributes.owner}", add: "{match}"}}
"""

CUSTOMER = {"id": 1, "name": "王女士", "wxid": "wmAAA", "owner": "zhangsan", "stage": "兴趣"}


def test_keyword_in_a_chat_line_tags_the_contact_and_writes_the_wecom_tag(make_auto_hub):
    hub = make_auto_hub(KEYWORD_RULE)
    hub.approve("price_objection_tag")
    hub.feed(CUSTOMER)
    assert hub.outbox() == []
    new = hub.feed({**CUSTOMER, "msg_id": "m1", "text": "这个也太贵了吧", "sender": "customer"})
    rows = hub.outbox("tags")
    assert [r.payload for r in rows] == [{"external_userid": "wmAAA", "userid": "zhangsan", "add": "价格异议"}]
    assert rows[0].id in new and rows[0].status == "pending" and rows[0].origin == "automation:price_objection_tag"
    with hub.runtime.db.session() as s:
        assert s.scalars(select(ContactTag.tag)).all() == ["价格异议"]
    assert [(a.kind, a.status) for a in hub.actions()] == [("tag", "done"), ("sink", "queued")]


def test_a_chat_line_without_a_keyword_does_nothing(make_auto_hub):
    hub = make_auto_hub(KEYWORD_RULE)
    hub.approve("price_objection_tag")
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "好的，谢谢", "sender": "customer"})
    assert hub.outbox() == [] and hub.actions() == []


def test_regex_and_conditions(make_auto_hub):
    hub = make_auto_hub("""
    quote_asked:
      on: {event: chat_message, from: customer, when: {path: data.text, not: {contains: 测试}}, text_matches: {regex: {"\\\\d+元": "报价 {0}"}}}
      do: {tag: "{match}"}
    """)
    hub.approve("quote_asked")
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "300元能做吗", "sender": "member"})  # from a member: no
    hub.feed({**CUSTOMER, "msg_id": "m2", "text": "测试 300元", "sender": "customer"})  # condition false
    hub.feed({**CUSTOMER, "msg_id": "m3", "text": "300元能做吗", "sender": "customer"})
    assert [a.payload for a in hub.actions()] == [{"tag": "报价 300元"}]


def test_attribute_becomes_fires_on_entering_the_value_only(make_auto_hub):
    hub = make_auto_hub("""
    trial_task:
      on: {attribute: stage, becomes: 要求试用}
      do: {sink: wecom_sales.messages, template: trial_guide}
    """)
    hub.approve("trial_task")
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "name": "王女士2"})   # other attribute: no
    hub.feed({**CUSTOMER, "stage": "要求试用"})
    hub.feed({**CUSTOMER, "stage": "要求试用", "name": "王"})  # still 要求试用: not entering again
    rows = hub.outbox("messages")
    assert [r.payload for r in rows] == [{"sender": "zhangsan", "external_userid": ["wmAAA"], "text": "试用指南：三步上手"}]


def test_changes_true_fires_on_every_change(make_auto_hub):
    hub = make_auto_hub("""
    stage_tag:
      on: {attribute: stage, changes: true}
      do: {tag: "阶段 {attributes.stage}"}
    """)
    hub.approve("stage_tag")
    hub.feed(CUSTOMER)
    hub.feed({**CUSTOMER, "stage": "资料"})
    assert [a.payload["tag"] for a in hub.actions()] == ["阶段 兴趣", "阶段 资料"]


def test_a_new_automation_is_in_preview_records_but_sends_nothing(make_auto_hub):
    hub = make_auto_hub(KEYWORD_RULE)
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "太贵了", "sender": "customer"})
    assert hub.outbox() == []
    assert [(a.status, a.payload) for a in hub.actions()] == [
        ("preview", {"tag": "价格异议"}),
        ("preview", {"external_userid": "wmAAA", "userid": "zhangsan", "add": "价格异议"})]
    with hub.runtime.db.session() as s:
        assert s.scalars(select(ContactTag.tag)).all() == []
    hub.approve("price_objection_tag")
    hub.feed({**CUSTOMER, "msg_id": "m2", "text": "还是太贵了", "sender": "customer"})
    assert len(hub.outbox("tags")) == 1  # the new line only: previewed actions are not sent later


def test_paused_rule_does_not_fire_and_resume_goes_back_live(make_auto_hub):
    from hub.automations.control import pause, resume

    hub = make_auto_hub(KEYWORD_RULE)
    hub.approve("price_objection_tag")
    pause(hub.runtime, "price_objection_tag", actor="t")
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "太贵了", "sender": "customer"})
    assert hub.actions() == []
    assert resume(hub.runtime, "price_objection_tag", actor="t") == "live"
    hub.feed({**CUSTOMER, "msg_id": "m2", "text": "太贵了", "sender": "customer"})
    assert len(hub.outbox("tags")) == 1


def test_a_missing_placeholder_value_fails_the_action_visibly(make_auto_hub):
    hub = make_auto_hub(KEYWORD_RULE)
    hub.approve("price_objection_tag")
    hub.feed({"id": 2, "name": "无微信", "stage": "兴趣", "msg_id": "m9", "text": "太贵了", "sender": "customer"})
    sink = [a for a in hub.actions() if a.kind == "sink"][0]
    assert sink.status == "failed" and "identities.wecom_external_userid[0]" in sink.detail
    assert hub.outbox() == []


def test_rule_via_the_sinks_outbound_mapping(make_auto_hub):
    hub = make_auto_hub("""
    push_message:
      on: {attribute: stage, becomes: 购买}
      do: {sink: wecom_sales.messages}
    """)
    hub.approve("push_message")
    hub.feed({**CUSTOMER, "stage": "购买", "note": "感谢购买"})
    # wecom.messages.out.yaml: sender from the owner, the WeCom ids, text from wecom_message
    assert [r.payload for r in hub.outbox("messages")] == [{"sender": "zhangsan", "external_userid": ["wmAAA"], "text": "感谢购买"}]
    hub.feed({"id": 2, "name": "无微信", "stage": "购买", "note": "感谢"})
    failed = hub.actions()[-1]
    assert failed.status == "failed" and "outbound mapping of wecom_sales.messages" in failed.detail
    assert len(hub.outbox()) == 1


def test_end_to_end_the_keyword_tag_and_a_journey_message_reach_wecom(make_auto_hub):
    """Through delivery into the WeCom sandbox: mark_tag with the matched label, and the
    SOP's first step as a mass-message task from the customer's owner."""
    from datetime import timedelta

    from hub.automations.journeys import advance_due
    from hub.pipeline.inline import run_inline

    hub = make_auto_hub(KEYWORD_RULE + """
trial_sop:
  enroll: {attribute: stage, becomes: 要求试用}
  steps:
    - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
""")
    hub.approve("price_objection_tag", "trial_sop")
    ext, userid = hub.wecom.add_customer().split(":")
    customer = {"id": 3, "name": "赵女士", "wxid": ext, "owner": userid, "stage": "兴趣"}
    hub.feed(customer)
    tagged = hub.feed({**customer, "msg_id": "c1", "text": "太贵了", "sender": "customer"})
    assert run_inline(hub.runtime, outbox_ids=tagged)["delivered"] == 1
    tags = {t["id"]: t["name"] for t in hub.wecom.all_tags().values()}
    marks = hub.wecom.effects("tags")
    assert [[tags[t] for t in e["add_tag"]] for e in marks] == [["价格异议"]]
    hub.feed({**customer, "stage": "要求试用"})
    (e,) = hub.enrollments()
    step = advance_due(hub.runtime, now=e.enrolled_at + timedelta(seconds=1))  # a WeCom tag is no message: under the cap
    result = run_inline(hub.runtime, outbox_ids=step.outbox_ids)
    assert result["delivered"] == 1, (step, result, [(r.status, r.last_error, r.payload) for r in hub.outbox("messages")])
    sent = hub.wecom.effects("messages")
    assert sent == [{"msgid": sent[0]["msgid"], "sender": userid, "external_userid": [ext], "text": "试用指南：三步上手"}]


def test_what_automations_do_is_on_the_contacts_timeline(make_auto_hub):
    from hub.store.models import Event

    hub = make_auto_hub(KEYWORD_RULE)
    hub.approve("price_objection_tag")
    hub.feed({**CUSTOMER, "msg_id": "m1", "text": "太贵了", "sender": "customer"})
    hub.feed({"id": 2, "name": "无微信", "stage": "兴趣", "msg_id": "m9", "text": "太贵了", "sender": "customer"})
    with hub.runtime.db.session() as s:
        rows = s.execute(select(Event.contact_id, Event.kind, Event.summary, Event.data)
                         .where(Event.kind.in_(["automation", "outbound_write"])).order_by(Event.id)).all()
    summaries = [(kind, summary) for _, kind, summary, _ in rows]
    assert ("automation", "price_objection_tag: 打标签 价格异议") in summaries
    assert any(kind == "outbound_write" and summary.startswith("wecom_sales.tags: 打标签 价格异议") for kind, summary in summaries)
    assert any(kind == "automation" and "wecom_sales.tags 未发送：no value for {identities.wecom_external_userid[0]}" in summary
               for kind, summary in summaries)
    write = next(data for _, kind, _, data in rows if kind == "outbound_write")
    assert write["origin"] == "automation:price_objection_tag" and write["delivery"] == "pending"


def test_the_issue_example_tag_and_sink_in_one_item_writes_that_tag_to_wecom(make_auto_hub):
    """`do: {tag: "{match}", sink: wecom_sales.tags}`: the shipped tags mapping renders the
    tag the rule set (automation.tag) — and nothing else, not the tier tags — and it reaches
    WeCom as a corp tag on the customer's relation."""
    from hub.pipeline.inline import run_inline

    hub = make_auto_hub("""
    price_objection_tag:
      on: {event: chat_message, from: customer, text_matches: {keywords: {太贵了: 价格异议, 多少钱: 意向}}}
      do: {tag: "{match}", sink: wecom_sales.tags}
    """)
    hub.approve("price_objection_tag")
    ext, userid = hub.wecom.add_customer().split(":")
    customer = {"id": 5, "name": "钱先生", "wxid": ext, "owner": userid, "stage": "兴趣"}
    hub.feed(customer)
    new = hub.feed({**customer, "msg_id": "p1", "text": "多少钱一节课", "sender": "customer"})
    (row,) = hub.outbox("tags")
    assert row.payload == {"external_userid": ext, "userid": userid, "add_automation_tag": "意向"}
    assert run_inline(hub.runtime, outbox_ids=new)["delivered"] == 1
    names = {t["id"]: t["name"] for t in hub.wecom.all_tags().values()}
    assert [[names[t] for t in e["add_tag"]] for e in hub.wecom.effects("tags")] == [["意向"]]
