"""WeCom depth through the real pipeline: the welcome fast path, customer groups and the
chat archive on the timeline, on the real backends (SQLite or PostgreSQL, Redis).

* A lead adds sales through a channel code: the add_external_contact callback's
  WelcomeCode is sent from the webhook request itself, with the text the lookup table
  gives for the code's state — while a backlog of queued processing jobs and pending
  deliveries waits (no worker runs), so the welcome cannot have been queued behind them.
  The sandbox refuses a code older than WeCom's 20 seconds.
* The lead joins the service group and says 太贵了: group_joined and chat_message land on
  the same contact as the friend add, and the keyword tag 价格敏感 too.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from connectors.wecom.archive import keys
from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.pipeline.inline import run_inline, sync_inline
from hub.pipeline.webhook import ingest_webhook
from hub.queue import get_queue
from hub.runtime import Runtime, set_current
from hub.store.models import Contact, ContactTag, Event, Identity, InboxRow, OutboxRow
from hub.testing import SandboxRouter

REPO = Path(__file__).resolve().parents[3]
MAPPINGS = REPO / "mappings"
WECOM = "wecom_sales"
STATE = "feiyu_kids_coding"
WELCOME = "您好，我是张三老师！少儿编程体验课的时间表马上发您～"


def write_config(tmp_path, database_url: str, redis_url: str, wecom_config: dict, *, welcome: bool = True,
                 mode: str = "mode: live") -> Path:
    sinks = f"""    sinks:
      welcome:
        mapping: "{MAPPINGS / 'wecom.welcome.out.yaml'}"
        sources: []
        {mode}
      unionid_bridge:
        mapping: "{MAPPINGS / 'wecom.unionid_bridge.out.yaml'}"
        sources: []
        mode: live
""" if welcome else ""
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  backoff_base: 1s
  backoff_cap: 2s
  max_attempts: 3
identity:
  default_region: CN
lookups:
  wecom_welcome_by_state:
    {STATE}: {WELCOME}
connectors:
  {WECOM}:
    type: wecom
    config: {json.dumps(wecom_config, ensure_ascii=False)}
    streams:
      external_contacts: {{mapping: "{MAPPINGS / 'wecom.external_contacts.yaml'}"}}
      group_chats: {{mapping: "{MAPPINGS / 'wecom.group_chats.yaml'}"}}
      chat_messages: {{mapping: "{MAPPINGS / 'wecom.chat_messages.yaml'}"}}
      message_results: {{mapping: "{MAPPINGS / 'wecom.message_results.yaml'}"}}
      unassigned: {{mapping: "{MAPPINGS / 'wecom.unassigned.yaml'}"}}
{sinks}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def make_hub(tmp_path, db, database_url, redis_url, redis_conn):
    made = []

    def make(*, welcome: bool = True, mode: str = "mode: live"):
        wecom = WeComSandbox()
        router = SandboxRouter()
        base = router.mount(wecom, f"/sandbox/{WECOM}")
        config = load_config(write_config(tmp_path, database_url, redis_url, wecom.config_for(base), welcome=welcome, mode=mode),
                             env={})
        runtime = Runtime(config)
        set_current(runtime)
        router.__enter__()
        made.append((runtime, router))
        return runtime, wecom

    yield make
    for runtime, router in made:
        router.__exit__(None, None, None)
        runtime.close()
    set_current(None)


def pending_inbox(runtime) -> list[int]:
    with runtime.db.session() as s:
        return list(s.scalars(select(InboxRow.id).where(InboxRow.status == "pending").order_by(InboxRow.id)))


def contact_of(runtime, kind: str, value: str) -> int | None:
    with runtime.db.session() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value))
        while cid is not None:
            parent = s.scalar(select(Contact.merged_into).where(Contact.id == cid))
            if parent is None:
                return cid
            cid = parent
    return None


def events_of(runtime, contact_id: int) -> list[Event]:
    with runtime.db.session() as s:
        rows = list(s.scalars(select(Event).where(Event.contact_id == contact_id).order_by(Event.occurred_at, Event.id)))
        s.expunge_all()
    return rows


def add_friend_push(wecom, name: str, state: str = STATE):
    added = wecom.add_friend(name=name, state=state, remark_mobiles=["13912345678"], at="2026-01-05T11:02:00+08:00")
    event = wecom.add_contact_event(added["relation"])
    return added, event, wecom.callback(event)


def test_the_welcome_goes_out_from_the_webhook_request_past_a_queued_backlog(make_hub):
    runtime, wecom = make_hub()
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    # The load: 300 callbacks already stored and waiting for processing, 300 deliveries
    # pending, and a queue full of jobs — no worker runs in this test.
    for _ in range(300):
        relation = wecom.add_customer("lisi")
        ingest_webhook(runtime, WECOM, wecom.callback({**wecom.add_contact_event(relation), "WelcomeCode": ""}))
    with runtime.db.session() as s:
        s.execute(OutboxRow.__table__.insert(), [
            {"connector": WECOM, "sink": "welcome", "contact_id": None, "origin": "backlog", "idempotency_key": f"backlog:{n}",
             "payload": {"welcome_code": f"old{n}", "text": "x"}, "payload_hash": f"{n:064d}", "status": "pending"}
            for n in range(300)])
    queue = get_queue(runtime.redis)
    for n in range(200):
        queue.enqueue("hub.demo.jobs.ping", job_id=f"backlog-{n}")
    queued_before = queue.count
    backlog_before = len(pending_inbox(runtime))
    assert backlog_before >= 300

    added, event, push = add_friend_push(wecom, "林晓雯")
    result = ingest_webhook(runtime, WECOM, push)

    assert result.body == "success"
    sent = wecom.effects("welcome")
    assert len(sent) == 1, sent
    (welcome,) = sent
    assert welcome["welcome_code"] == event["WelcomeCode"] and welcome["text"] == WELCOME
    assert welcome["external_userid"] == added["external_userid"] and welcome["userid"] == "zhangsan"
    # Within WeCom's window by the remote's own rule (the sandbox refuses older codes) …
    assert welcome["seconds_after_event"] <= 20
    # … and not through the queue: every queued job and every backlog row is still waiting.
    assert queue.count >= queued_before
    assert len(pending_inbox(runtime)) == backlog_before + 1
    with runtime.db.session() as s:
        rows = s.execute(select(OutboxRow.status, OutboxRow.idempotency_key, OutboxRow.payload)
                         .where(OutboxRow.origin == WECOM, OutboxRow.sink == "welcome")).all()
        backlog = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.origin == "backlog", OutboxRow.status == "pending"))
    assert [(r.status, r.idempotency_key) for r in rows] == [("delivered", f"{WECOM}:welcome:{event['WelcomeCode']}")]
    assert rows[0].payload["welcome_code"] == event["WelcomeCode"]
    assert backlog == 300

    # WeCom retries an unanswered callback: stored once, welcomed once.
    ingest_webhook(runtime, WECOM, wecom.callback(event))
    assert len(wecom.effects("welcome")) == 1


def test_the_sandbox_refuses_an_expired_code_and_the_write_is_a_clear_dead_letter(make_hub):
    runtime, wecom = make_hub()
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    added, event, push = add_friend_push(wecom, "王磊")
    wecom.advance_time(21)  # the hub got the callback too late
    ingest_webhook(runtime, WECOM, push)
    assert wecom.effects("welcome") == []
    with runtime.db.session() as s:
        status, error = s.execute(select(OutboxRow.status, OutboxRow.last_error).where(OutboxRow.sink == "welcome")).one()
    assert status == "dead" and "welcome_code expired" in error


def test_a_used_code_is_reported_as_such(make_hub):
    runtime, wecom = make_hub()
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    wecom.fail_next(41051, path="externalcontact/send_welcome_msg")
    ingest_webhook(runtime, WECOM, add_friend_push(wecom, "陈思琪")[2])
    with runtime.db.session() as s:
        status, error = s.execute(select(OutboxRow.status, OutboxRow.last_error).where(OutboxRow.sink == "welcome")).one()
    assert status == "dead" and "code was already used" in error


def test_no_welcome_for_a_state_without_text_or_when_the_sink_is_off(make_hub):
    runtime, wecom = make_hub()
    wecom.add_channel_code(state="other_code", user=["zhangsan"])
    ingest_webhook(runtime, WECOM, add_friend_push(wecom, "赵宇轩", state="other_code")[2])
    runtime2, wecom2 = make_hub(welcome=False)
    wecom2.add_channel_code(state=STATE, user=["zhangsan"])
    ingest_webhook(runtime2, WECOM, add_friend_push(wecom2, "周梓萱")[2])
    assert wecom.effects("welcome") == [] and wecom2.effects("welcome") == []
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 0


def test_group_join_and_chat_land_on_the_friends_timeline(make_hub):
    runtime, wecom = make_hub()
    pem = keys.generate_private_pem()
    wecom.archive_key(1, keys.public_pem(pem))
    runtime.config.connectors[WECOM].config["archive_private_keys"] = {"1": pem}
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    added, _event, push = add_friend_push(wecom, "林晓雯")
    ingest_webhook(runtime, WECOM, push)
    run_inline(runtime, inbox_ids=pending_inbox(runtime))
    ext = added["external_userid"]
    contact = contact_of(runtime, "wecom_external_userid", ext)
    assert contact is not None

    group = wecom.add_group("少儿编程家长服务群", owner="wangwu")
    joined = wecom.join_group(group["chat_id"], ext, scene=3, at="2026-01-05T11:30:00+08:00")
    # The callback comes first: the handler reads groupchat/get for names and join details.
    push = wecom.callback({"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update",
                           "UpdateDetail": "add_member", "JoinScene": 3, "MemChangeCnt": 1, "MemChangeList": [ext]})
    result = ingest_webhook(runtime, WECOM, push)
    assert [(s, r.native_id) for s, r in result.records] == [("group_chats", joined["membership"])]
    run_inline(runtime, inbox_ids=pending_inbox(runtime))
    # The scan later sees the same membership: no second entry.
    scan = sync_inline(runtime, WECOM, "group_chats")
    assert scan["error"] is None and scan["rejected"] == 0, scan
    wecom.send_chat(ext, "太贵了", to="zhangsan", at="2026-01-05T11:40:00+08:00")
    chats = sync_inline(runtime, WECOM, "chat_messages")
    # the welcome (archived as 张三's message) and her 太贵了
    assert chats["error"] is None and chats["rejected"] == 0 and chats["processed"] == 2, chats

    timeline = events_of(runtime, contact)
    kinds = [e.kind for e in timeline]
    assert kinds.count("group_joined") == 1 and kinds.count("chat_message") == 2, kinds
    joined_event = next(e for e in timeline if e.kind == "group_joined")
    assert joined_event.data["group_name"] == "少儿编程家长服务群" and joined_event.data["owner_name"] == "王五"
    assert joined_event.data["join_scene_label"] == "扫描群二维码入群"
    assert "少儿编程家长服务群" in joined_event.summary
    welcome = next(e for e in timeline if e.kind == "chat_message" and e.data["direction"] == "out")
    assert welcome.data["text"] == WELCOME and welcome.summary == f"张三发给客户：{WELCOME}"
    chat = next(e for e in timeline if e.kind == "chat_message" and e.data["direction"] == "in")
    assert chat.data["text"] == "太贵了" and chat.data["direction"] == "in" and chat.data["member_name"] == "张三"
    assert chat.summary == "客户发给张三：太贵了"
    # who wrote it, as automation triggers ask ({event: chat_message, from: customer})
    assert (chat.data["from"], welcome.data["from"]) == ("customer", "member")
    with runtime.db.session() as s:
        tags = set(s.scalars(select(ContactTag.tag).where(ContactTag.contact_id == contact)))
    assert "价格敏感" in tags

    # She leaves: a del_member callback; the group index remembers the join it ends.
    wecom.leave_group(group["chat_id"], ext)
    push = wecom.callback({"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update",
                           "UpdateDetail": "del_member", "QuitScene": 0, "MemChangeCnt": 1, "MemChangeList": [ext]})
    ingest_webhook(runtime, WECOM, push)
    run_inline(runtime, inbox_ids=pending_inbox(runtime))
    sync_inline(runtime, WECOM, "group_chats")  # the scan's tombstone is the same departure
    left = [e for e in events_of(runtime, contact) if e.kind == "group_left"]
    assert len(left) == 1 and left[0].data["group_name"] == "少儿编程家长服务群" and left[0].data["quit_scene"] == 0



def test_support_sees_groups_and_chat_text_on_the_contact_page_with_phones_masked(make_hub):
    from hub.web import create_app
    from hub.web.auth import create_token, hash_token

    runtime, wecom = make_hub()
    pem = keys.generate_private_pem()
    wecom.archive_key(1, keys.public_pem(pem))
    runtime.config.connectors[WECOM].config["archive_private_keys"] = {"1": pem}
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    added, _event, push = add_friend_push(wecom, "林晓雯")
    ext = added["external_userid"]
    group = wecom.add_group("少儿编程家长服务群", owner="wangwu")
    wecom.join_group(group["chat_id"], ext, at="2026-01-05T11:30:00+08:00")
    wecom.send_chat(ext, "太贵了，我的手机 13912345678 晚上打给我", group="少儿编程家长服务群", at="2026-01-05T11:40:00+08:00")
    for stream in ("external_contacts", "group_chats", "chat_messages"):
        assert sync_inline(runtime, WECOM, stream)["error"] is None
    contact = contact_of(runtime, "wecom_external_userid", ext)
    app = create_app(runtime)
    token = create_token(runtime.db, "support-tester", "support")[1]
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "t"
    page = client.get(f"/contacts/{contact}").get_data(as_text=True)
    groups = page.split('data-section="groups"', 1)[1].split("</section>", 1)[0]
    assert "少儿编程家长服务群" in groups and "王五" in groups and f'data-chat-id="{group["chat_id"]}"' in groups
    assert 'data-member="1"' in groups
    assert "太贵了" in page and "加入客户群" in page
    assert "13912345678" not in page and "139****5678" in page


@pytest.fixture
def one_contact(db):
    with db.session() as s:
        s.execute(Contact.__table__.insert(), [{"id": 1}])
    return db


_moves = st.lists(st.tuples(st.sampled_from(["wr1", "wr2"]), st.booleans()), min_size=1, max_size=10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=_moves, order=st.randoms(use_true_random=False))
def test_group_memberships_depend_on_event_times_not_arrival_order(one_contact, moves, order):
    """Joins and leaves stored in any order (callbacks, scans, replays): the contact page's
    groups are what the latest event per group says."""
    from hub.contacts.groups import group_memberships

    db = one_contact
    base = datetime(2026, 1, 5, 3, 0, tzinfo=timezone.utc)
    rows = [{"contact_id": 1, "connector": WECOM, "native_id": f"e{n}", "kind": "group_joined" if joins else "group_left",
             "occurred_at": base + timedelta(minutes=n), "summary": "", "data": {"chat_id": chat, "group_name": f"群{chat}"}}
            for n, (chat, joins) in enumerate(moves)]
    shuffled = list(rows)
    order.shuffle(shuffled)
    with db.session() as s:
        s.execute(Event.__table__.delete())
        s.execute(Event.__table__.insert(), shuffled)
    with db.session() as s:
        got = {g["chat_id"]: g["member"] for g in group_memberships(s, 1)}
    expected = {}
    for chat, joins in moves:
        expected[chat] = joins
    assert got == expected


def test_a_group_event_with_many_members_passes_the_door(make_hub):
    """A rename or a dismissal is one callback carrying a record per customer in the group."""
    runtime, wecom = make_hub()
    group = wecom.add_group("家长群", owner="wangwu")
    members = [ext for (ext, uid) in list(wecom.relations)[:5]]
    for ext in members:
        wecom.join_group(group["chat_id"], ext)
    sync_inline(runtime, WECOM, "group_chats")
    result = ingest_webhook(runtime, WECOM, wecom.callback({"Event": "change_external_chat", "ChatId": group["chat_id"],
                                                             "ChangeType": "dismiss"}))
    assert sorted(r.native_id for _, r in result.records) == sorted(f"{group['chat_id']}:{e}" for e in members)
    run_inline(runtime, inbox_ids=pending_inbox(runtime))
    with runtime.db.session() as s:
        left = s.execute(select(Event.data).where(Event.kind == "group_left")).scalars().all()
    assert len(left) == len(set(members)) and all(d["dismissed"] is True and d["group_name"] == "家长群" for d in left)


def test_departed_owners_and_mass_message_results_reach_the_timeline(make_hub):
    runtime, wecom = make_hub()
    ext = next(e for (e, u) in wecom.relations if u == "lisi")
    wecom.depart_member("lisi")
    assert sync_inline(runtime, WECOM, "unassigned")["rejected"] == 0
    contact = contact_of(runtime, "wecom_external_userid", ext)
    departed = [e for e in events_of(runtime, contact) if e.kind == "wecom_owner_departed"]
    assert len(departed) == 1 and "李四" in departed[0].summary and departed[0].data["handover_userid"] == "lisi"

    connector = runtime.connector(WECOM)
    customer = next(e for (e, u) in wecom.relations if u == "zhangsan")
    stranger = next(e for (e, u) in wecom.relations if u == "wangwu")
    sent = connector.write("messages", {"sender": "zhangsan", "external_userid": [customer, stranger], "text": "春季班开课提醒"},
                           idempotency_key="m1")
    first = sync_inline(runtime, WECOM, "message_results")
    assert first["rejected"] == 0
    not_sent = [e.summary for e in events_of(runtime, contact_of(runtime, "wecom_external_userid", stranger)) if e.kind == "wecom_message"]
    assert not_sent == ["群发消息未发送：客户不是好友，发送失败"]
    assert not [e for e in events_of(runtime, contact_of(runtime, "wecom_external_userid", customer)) if e.kind == "wecom_message"]
    wecom.confirm_message(sent.native_id)  # 张三 confirms the task in WeCom
    sync_inline(runtime, WECOM, "message_results")
    results = [e for e in events_of(runtime, contact_of(runtime, "wecom_external_userid", customer)) if e.kind == "wecom_message"]
    assert [(e.data["sent"], e.summary) for e in results] == [(True, "群发消息已发送（张三）：春季班开课提醒")]


def test_a_members_unionid_joins_the_wecom_customer_through_the_bridge(make_hub):
    """A Mini Program member known by unionid (WeCom no longer returns unionids for most
    customers): the bridge's match finds the customer, the relation is stored and processed
    like a scanned one, and the member's contact gains the WeCom id; a member who is not a
    customer gets a pending_id instead."""
    pytest.importorskip("hub.pipeline.matching", reason="match-before-create (hub.pipeline.matching) not in this tree")
    from hub.pipeline.deliver import deliver
    from hub.store.models import ContactAttribute

    runtime, wecom = make_hub()
    ext, customer = next((e, c) for e, c in wecom.customers.items() if c.get("unionid") and any(x == e for x, _ in wecom.relations))
    with runtime.db.session() as s:
        s.execute(Contact.__table__.insert(), [{"id": 501}, {"id": 502}])
        s.execute(Identity.__table__.insert(), [
            {"kind": "wechat_unionid", "value": customer["unionid"], "contact_id": 501, "connector": "members"},
            {"kind": "wechat_unionid", "value": "oNotACustomerYet000000000000", "contact_id": 502, "connector": "members"}])
        s.execute(ContactAttribute.__table__.insert(), [
            {"contact_id": 501, "name": "wechat_openid", "value": "oMini501", "connector": "members"},
            {"contact_id": 502, "name": "wechat_openid", "value": "oMini502", "connector": "members"}])
        s.execute(OutboxRow.__table__.insert(), [
            {"connector": WECOM, "sink": "unionid_bridge", "contact_id": cid, "origin": "members", "idempotency_key": f"bridge:{cid}",
             "payload": {"unionid": unionid, "openid": f"oMini{cid}"}, "payload_hash": f"{cid:064d}", "status": "pending"}
            for cid, unionid in ((501, customer["unionid"]), (502, "oNotACustomerYet000000000000"))])
        ids = list(s.scalars(select(OutboxRow.id).where(OutboxRow.sink == "unionid_bridge").order_by(OutboxRow.id)))
    matched: list[int] = []
    deliver(runtime, ids, on_matched=matched.extend)
    with runtime.db.session() as s:
        states = dict(s.execute(select(OutboxRow.contact_id, OutboxRow.status).where(OutboxRow.id.in_(ids))).all())
        pending_native = s.scalar(select(OutboxRow.native_id).where(OutboxRow.contact_id == 502))
    assert states == {501: "matched", 502: "delivered"}
    assert pending_native.startswith("pending:") and runtime.connector(WECOM).state.get("unionid_pending:oNotACustomerYet000000000000")
    run_inline(runtime, inbox_ids=matched)
    assert contact_of(runtime, "wecom_external_userid", ext) == 501
    timeline = events_of(runtime, 501)
    assert any(e.kind == "wecom_friend_added" for e in timeline)  # the relation, as the scan would bring it


def test_a_welcome_sink_in_preview_holds_the_welcome_for_approval(make_hub):
    """WeCom is two-way (its callbacks feed the hub): without `mode: live` its sinks start in
    preview, and the urgent path respects that like every other write."""
    runtime, wecom = make_hub(mode="enabled: true")
    wecom.add_channel_code(state=STATE, user=["zhangsan"])
    ingest_webhook(runtime, WECOM, add_friend_push(wecom, "王磊")[2])
    assert wecom.effects("welcome") == []
    with runtime.db.session() as s:
        assert s.execute(select(OutboxRow.status).where(OutboxRow.sink == "welcome")).scalars().all() == ["held"]
