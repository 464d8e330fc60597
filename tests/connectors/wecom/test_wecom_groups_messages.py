"""Customer groups, mass messages and their results, departed members' customers, member
callbacks and unionid bridging — through ``responses`` into the WeCom sandbox."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from hub.connector import DictState, PermanentError
from hub.testing import read_all

from connectors.wecom.groups import GroupIndex
from connectors.wecom.members import MemberDirectory, unionid_to_external_userid
from connectors.wecom.webhook import WeComWebhook


def customers_of(sandbox, userid):
    return [ext for (ext, uid) in sandbox.relations if uid == userid]


# -- group_chats -------------------------------------------------------------------------------

def test_the_scan_reads_memberships_with_group_owner_and_join_details(connector, sandbox):
    ext = customers_of(sandbox, "zhangsan")[0]
    group = sandbox.add_group("少儿编程家长服务群", owner="wangwu")
    sandbox.join_group(group["chat_id"], ext, scene=2, invitor="zhangsan")
    records, _ = read_all(connector, "group_chats")
    (record,) = records  # the owner is a member, not a customer: no record
    assert record.native_id == f"{group['chat_id']}:{ext}"
    data = record.data
    assert data["group_name"] == "少儿编程家长服务群" and data["owner"] == "wangwu" and data["owner_name"] == "王五"
    assert data["join_scene"] == 2 and data["join_scene_label"] == "邀请链接入群"
    assert data["invitor"] == "zhangsan" and data["invitor_name"] == "张三" and data["name"] == sandbox.customers[ext]["name"]
    get = [body for path, body in sandbox.calls if path == "externalcontact/groupchat/get"]
    assert get == [{"chat_id": group["chat_id"], "need_name": 1}]


def test_list_filters_and_paging_reach_wecom(make_connector, sandbox):
    for n in range(150):
        sandbox.add_group(f"群{n}", owner="wangwu" if n % 2 else "sunqi")
    connector = make_connector(group_owner_filter=["wangwu"], group_status_filter=0)
    read_all(connector, "group_chats")
    lists = [body for path, body in sandbox.calls if path == "externalcontact/groupchat/list"]
    assert len(lists) == 1 and lists[0]["owner_filter"] == {"userid_list": ["wangwu"]} and lists[0]["limit"] == 100
    assert sum(1 for path, _ in sandbox.calls if path == "externalcontact/groupchat/get") == 75
    unfiltered = make_connector()
    read_all(unfiltered, "group_chats")
    lists = [body for path, body in sandbox.calls if path == "externalcontact/groupchat/list"][1:]
    assert len(lists) == 2 and lists[1]["cursor"] and "owner_filter" not in lists[0]


def test_a_member_who_left_is_a_deletion_naming_the_join_it_ends(connector, sandbox):
    ext = customers_of(sandbox, "lisi")[0]
    group = sandbox.add_group("售后群")
    sandbox.join_group(group["chat_id"], ext, at=1767600000)
    _, cursor = read_all(connector, "group_chats")
    sandbox.leave_group(group["chat_id"], ext)
    records, _ = read_all(connector, "group_chats", cursor)
    (gone,) = records
    assert gone.deleted and gone.data["left"] and gone.data["left_by"] == "scan"
    assert gone.data["join_time"] == 1767600000 and gone.data["group_name"] == "售后群"


def handle(connector, sandbox, fields):
    return WeComWebhook(connector).handle(sandbox.callback(fields))


def test_add_member_callback_reads_the_group_and_records_only_the_new_member(connector, sandbox):
    first, second = customers_of(sandbox, "zhangsan")[0], customers_of(sandbox, "lisi")[0]
    group = sandbox.add_group("体验课群")
    sandbox.join_group(group["chat_id"], first)
    sandbox.join_group(group["chat_id"], second, scene=1)
    event = {"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update", "UpdateDetail": "add_member",
             "JoinScene": 0, "MemChangeCnt": 1, "MemChangeList": [second, "wangwu"], "CreateTime": 1767600000}
    result = handle(connector, sandbox, event)
    assert [(s, r.native_id) for s, r in result.records] == [("group_chats", f"{group['chat_id']}:{second}")]
    record = result.records[0][1]
    assert record.data["event"]["update_detail"] == "add_member" and record.data["event"]["join_scene"] == 0
    assert record.data["group_name"] == "体验课群" and record.dedupe_key.startswith("wecom:sys:")
    again = handle(connector, sandbox, event)  # WeCom's retry of the same event → the same inbox key
    assert again.records[0][1].dedupe_key == record.dedupe_key


def test_del_member_and_dismiss_need_no_api_call_and_name_the_group(connector, sandbox):
    a, b = customers_of(sandbox, "zhangsan")[:2]
    group = sandbox.add_group("春季班群")
    sandbox.join_group(group["chat_id"], a, at=1767600000)
    sandbox.join_group(group["chat_id"], b, at=1767600100)
    read_all(connector, "group_chats")  # the index learns the group
    calls = len(sandbox.calls)
    left = handle(connector, sandbox, {"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update",
                                       "UpdateDetail": "del_member", "QuitScene": 1, "MemChangeCnt": 1, "MemChangeList": [a]})
    ((_, record),) = left.records
    assert record.deleted and record.data["join_time"] == 1767600000 and record.data["event"]["quit_scene"] == 1
    assert record.data["group_name"] == "春季班群"
    dismissed = handle(connector, sandbox, {"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "dismiss"})
    assert [(r.native_id, r.deleted, r.data["join_time"]) for _, r in dismissed.records] == [(f"{group['chat_id']}:{b}", True, 1767600100)]
    assert len(sandbox.calls) == calls  # no groupchat/get for a departure or a dismissed group


def test_when_groupchat_get_fails_the_callback_still_records_the_join(connector, sandbox):
    ext = customers_of(sandbox, "zhangsan")[0]
    group = sandbox.add_group("直播群")
    sandbox.join_group(group["chat_id"], ext)
    sandbox.fail_next(45009, path="externalcontact/groupchat/get")
    result = handle(connector, sandbox, {"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update",
                                         "UpdateDetail": "add_member", "JoinScene": 3, "MemChangeCnt": 1, "MemChangeList": [ext]})
    ((_, record),) = result.records
    assert record.native_id == f"{group['chat_id']}:{ext}" and record.data["join_scene"] == 3 and "join_time" in record.data


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans()), min_size=1, max_size=12))
def test_the_group_index_ends_the_join_the_member_is_in_whatever_the_order(steps):
    """Joins (True) and departures (False) of a few customers in any order: a departure
    always names the join time of the stint it ends, or None when the member was never
    known to be in."""
    connector = type("C", (), {"state": DictState()})()
    index = GroupIndex(connector)
    members: dict[str, int] = {}
    for tick, (who, joins) in enumerate(steps):
        if joins:
            members[who] = tick
            index.put_group({"chat_id": "wr1", "name": "群", "owner": "o"}, dict(members))
        else:
            expected = members.pop(who, None)
            got = index.member_left("wr1", who)
            if expected is not None:
                assert got == expected
            index.put_group({"chat_id": "wr1", "name": "群", "owner": "o"}, dict(members))
    assert set(index.get("wr1")["members"]) == set(members)


# -- welcome and messages sinks ---------------------------------------------------------------

def test_welcome_sends_text_and_attachments_once(connector, sandbox):
    payload = sandbox.sample_payload("welcome")
    payload.update(image_media_id="MEDIA_1", link={"title": "课程表", "url": "https://example.cn/k", "desc": "春季班"})
    result = connector.write("welcome", payload, idempotency_key="w1")
    assert result.native_id == f"{payload['external_userid']}:{payload['userid']}"
    (sent,) = sandbox.effects("welcome")
    assert [a["msgtype"] for a in sent["attachments"]] == ["image", "link"] and sent["attachments"][0]["image"]["media_id"] == "MEDIA_1"
    with pytest.raises(PermanentError) as info:
        connector.write("welcome", payload, idempotency_key="w2")  # a code works once
    assert "41051" in info.value.message
    with pytest.raises(PermanentError, match="text or attachments"):
        connector.write("welcome", {"welcome_code": "X"}, idempotency_key="w3")
    with pytest.raises(PermanentError, match="4000 bytes"):
        connector.write("welcome", {"welcome_code": "X", "text": "好" * 1400}, idempotency_key="w4")


def test_messages_creates_a_task_and_respects_the_daily_receive_limit(connector, sandbox):
    payload = sandbox.sample_payload("messages")
    ext = payload["external_userid"][0]
    stranger = customers_of(sandbox, "wangwu")[0]  # not lisi's customer
    payload["external_userid"].append(stranger)
    result = connector.write("messages", payload, idempotency_key="m1")
    (effect,) = sandbox.effects("messages")
    assert effect["sender"] == "lisi" and effect["external_userid"] == [ext, stranger]
    assert result.data["sent_to"] == [ext] and result.data["not_sent"] == {stranger: "wecom_fail_list"}
    body = next(b for p, b in sandbox.calls if p == "externalcontact/add_msg_template")
    assert body["chat_type"] == "single" and body["sender"] == "lisi" and body["text"]["content"]
    # The same customer again today: left out before WeCom is asked; nobody left → dead letter.
    with pytest.raises(PermanentError) as info:
        connector.write("messages", {"sender": "lisi", "external_userid": [ext], "text": "再提醒一次"}, idempotency_key="m2")
    assert "per-customer receive limit" in info.value.message and ext in info.value.message
    assert len(sandbox.effects("messages")) == 1


def test_wecom_refusing_every_customer_is_a_clear_dead_letter(make_connector, sandbox):
    connector = make_connector(message_daily_limit=5)
    ext = customers_of(sandbox, "wangwu")[0]
    with pytest.raises(PermanentError) as info:
        connector.write("messages", {"sender": "lisi", "external_userid": [ext], "text": "你好"}, idempotency_key="m1")
    assert "41048" in info.value.message and "receive limit" in info.value.message


def test_message_results_follow_a_task_from_pending_to_sent(connector, sandbox):
    payload = sandbox.sample_payload("messages")
    result = connector.write("messages", payload, idempotency_key="m1")
    msgid, ext = result.native_id, payload["external_userid"][0]
    records, cursor = read_all(connector, "message_results")
    (pending,) = [r for r in records if r.native_id == f"{msgid}:{ext}"]
    assert pending.data["status"] == 0 and pending.data["status_label"] == "未发送" and pending.data["member_name"] == "李四"
    sandbox.confirm_message(msgid)
    records, _ = read_all(connector, "message_results", cursor)
    (sent,) = records
    assert sent.data["status"] == 1 and sent.data["sent"] and sent.data["send_time"]


# -- departed members, member callbacks, unionid --------------------------------------------------

def test_unassigned_lists_the_departed_members_customers(connector, sandbox):
    records, cursor = read_all(connector, "unassigned")
    assert {r.data["handover_userid"] for r in records} == {"zhaoliu"}
    assert all(r.data["handover_name"] == "赵六" for r in records)
    sandbox.depart_member("lisi")
    records, cursor = read_all(connector, "unassigned", cursor)
    assert {r.native_id for r in records} == {f"{e}:lisi" for e in customers_of(sandbox, "lisi")}
    # A resigned transfer completes: the pair leaves the list (a deletion).
    ext = customers_of(sandbox, "lisi")[0]
    connector.write("transfers", {"handover_userid": "lisi", "takeover_userid": "wangwu", "external_userid": [ext], "resigned": True},
                    idempotency_key="t1")
    sandbox.advance_transfers()
    records, _ = read_all(connector, "unassigned", cursor)
    assert [(r.native_id, r.deleted) for r in records] == [(f"{ext}:lisi", True)]


def test_change_contact_callbacks_keep_member_names_and_departures(connector, sandbox):
    directory = MemberDirectory(connector)
    assert directory.name("lisi") == "李四"
    assert handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "update_user", "UserID": "lisi", "Name": "李思"}).records == []
    assert MemberDirectory(connector).name("lisi") == "李思"
    handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi"})
    entry = MemberDirectory(connector).entry("lisi")
    assert entry["departed"] and entry["name"] == "李思"  # a departed member keeps a name on the timeline


def test_unionid_bridging_by_app_type(connector, sandbox):
    ext, customer = next((e, c) for e, c in sandbox.customers.items() if c.get("unionid"))
    assert unionid_to_external_userid(connector, customer["unionid"], "oOpenid1") == {"external_userid": ext}
    pending = unionid_to_external_userid(connector, "oUnknownUnionid", "oOpenid2", subject_type=0)
    assert set(pending) == {"pending_id"}
    with pytest.raises(PermanentError, match="unionid and openid"):
        unionid_to_external_userid(connector, customer["unionid"], "")
    sandbox.use_app_type("self_built")
    with pytest.raises(PermanentError) as info:
        unionid_to_external_userid(connector, customer["unionid"], "oOpenid1")
    assert "48002" in info.value.message and "third-party or 代开发" in info.value.message


def test_msg_audit_approved_is_acknowledged_without_records_or_writes(connector, sandbox):
    ext = customers_of(sandbox, "zhangsan")[0]
    result = handle(connector, sandbox, {"Event": "change_external_contact", "ChangeType": "msg_audit_approved",
                                         "UserID": "zhangsan", "ExternalUserID": ext, "WelcomeCode": "ABC"})
    assert result.records == [] and result.writes == [] and result.body == "success"


def test_only_an_add_with_a_welcome_code_asks_for_an_urgent_welcome(connector, sandbox):
    relation = sandbox.add_customer("zhangsan", state="douyin_live_0315")
    event = sandbox.add_contact_event(relation)
    (write,) = handle(connector, sandbox, event).writes
    assert write.sink == "welcome" and write.key == event["WelcomeCode"]
    assert write.event == {"welcome_code": event["WelcomeCode"], "state": "douyin_live_0315", "userid": "zhangsan",
                           "external_userid": relation.partition(":")[0], "create_time": write.event["create_time"]}
    # a member with a console-configured welcome: WeCom sends no code, the hub sends nothing
    assert handle(connector, sandbox, {**event, "WelcomeCode": ""}).writes == []
    assert handle(connector, sandbox, {**event, "ChangeType": "edit_external_contact"}).writes == []


def test_the_daily_receive_count_lives_in_redis_with_a_ttl(make_connector, sandbox, redis_conn):
    connector = make_connector(cache=redis_conn)
    payload = sandbox.sample_payload("messages")
    connector.write("messages", payload, idempotency_key="m1")
    keys_ = [k.decode() for k in redis_conn.keys("hub:wecom:*msgquota*")]
    assert len(keys_) == 1 and 0 < redis_conn.ttl(keys_[0]) <= 3 * 86400
    assert not [k for k in connector.state if str(k).startswith("msgquota:")]
    with pytest.raises(PermanentError, match="per-customer receive limit"):
        connector.write("messages", {**payload, "text": "第二条"}, idempotency_key="m2")


def test_member_names_are_refreshed_after_a_day_but_a_departed_members_name_stays(connector, sandbox):
    import time as _time

    assert MemberDirectory(connector).name("lisi") == "李四"
    sandbox.members["lisi"]["name"] = "李四（改名）"  # renamed in the console, no callback configured
    assert MemberDirectory(connector).name("lisi") == "李四"  # trusted for a day
    entry = connector.state.get("member:lisi")
    connector.state.set("member:lisi", {**entry, "checked_at": int(_time.time()) - 2 * 86400})
    assert MemberDirectory(connector).name("lisi") == "李四（改名）"
    MemberDirectory(connector).remember("lisi", departed=True)
    connector.state.set("member:lisi", {**connector.state.get("member:lisi"), "checked_at": 0})
    calls = len(sandbox.calls)
    assert MemberDirectory(connector).name("lisi") == "李四（改名）" and len(sandbox.calls) == calls


def test_a_group_dismissed_between_list_and_get_does_not_fail_the_scan(connector, sandbox):
    keep, gone = sandbox.add_group("留下的群"), sandbox.add_group("解散的群")
    a, b = customers_of(sandbox, "zhangsan")[:2]
    sandbox.join_group(keep["chat_id"], a)
    sandbox.join_group(gone["chat_id"], b)
    _, cursor = read_all(connector, "group_chats")
    sandbox.fail_next(40050, path="externalcontact/groupchat/get")  # the first get: gone meanwhile
    records, _ = read_all(connector, "group_chats", cursor)
    assert [(r.native_id, r.deleted) for r in records] == [(f"{keep['chat_id']}:{a}", True)]  # unseen → tombstone
    with pytest.raises(PermanentError):
        sandbox.fail_next(45001, path="externalcontact/groupchat/get")  # any other refusal still fails loudly
        read_all(connector, "group_chats")
