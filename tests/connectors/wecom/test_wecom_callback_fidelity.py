"""WeCom callbacks as WeCom documents them (issue 16).

* 企业客户标签重排事件 (doc 92130): ``<Event>change_external_tag</Event><Id>TAG_ID</Id>
  <StrategyId>…</StrategyId><ChangeType>shuffle</ChangeType>`` — no ``TagType``; an empty ``Id``
  means every tag group was reordered (the sample is quoted by public SDKs, e.g. the Go
  ``ChangeExternalTagShuffle`` and ``EventShuffleExternalTag`` types). The old door answered an
  empty ``Id`` with 400, and WeCom retried it three times.
* 添加企业客户事件 (doc 92130) carries only ids; 获取客户详情 ``externalcontact/get`` (doc 92114)
  returns ``external_contact`` and ``follow_user[{userid, remark, remark_mobiles, tags[…], state,
  createtime …}]``. The old door stored only the ids; name and remark mobiles waited for the scan.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.mapping import load_mapping

MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "wecom.external_contacts.yaml"


def gets(router) -> int:
    return sum(1 for method, path in router.calls if method == "GET" and path.endswith("/cgi-bin/externalcontact/get"))


@pytest.mark.parametrize("tag_id", ["", "etGROUP001"])
def test_a_tag_reorder_is_accepted_and_asks_for_a_tag_re_read(connector, sandbox, tag_id):
    push = sandbox.callback({"Event": "change_external_tag", "Id": tag_id, "StrategyId": "", "ChangeType": "shuffle"})
    result = connector.webhook_handler().handle(push)
    assert result.records == [] and result.pulls == ["corp_tags"] and result.body == "success"


def test_other_tag_events_ask_for_nothing(connector, sandbox):
    push = sandbox.callback({"Event": "change_external_tag", "Id": "etTAG001", "TagType": "tag", "ChangeType": "update"})
    result = connector.webhook_handler().handle(push)
    assert result.pulls == [] and [s for s, _ in result.records] == ["corp_tags"]


def add_event(ext: str, state: str = "douyin_live_0601") -> dict:
    return {"Event": "change_external_contact", "ChangeType": "add_external_contact", "UserID": "zhangsan",
            "ExternalUserID": ext, "State": state}


def test_a_new_friend_is_read_in_full_right_away(connector, sandbox, router):
    added = sandbox.add_friend(name="林小雨", userid="zhangsan", remark_mobiles=["13700001111"], remark="抖音-林小雨")
    before = gets(router)
    [(stream, record)] = connector.webhook_handler().handle(sandbox.callback(add_event(added["external_userid"]))).records
    assert gets(router) == before + 1
    assert stream == "external_contacts" and record.data["event"]["state"] == "douyin_live_0601"
    assert record.data["external_contact"]["name"] == "林小雨"
    assert record.data["follow_info"]["remark_mobiles"] == ["13700001111"]
    mapped = load_mapping(MAPPING, instance="wecom_test").apply(record.data)
    assert ("phone", "+8613700001111") in [tuple(i) for i in mapped.identities]
    assert mapped.attributes["name"] == "林小雨"
    assert [e.kind for e in mapped.events].count("wecom_friend_added") >= 1


def test_a_failed_read_still_stores_the_callback(connector, sandbox):
    added = sandbox.add_friend(name="林小雨", userid="zhangsan", remark_mobiles=["13700001111"])
    sandbox.fail_next("40058", times=1, path="externalcontact/get")
    [(_, record)] = connector.webhook_handler().handle(sandbox.callback(add_event(added["external_userid"]))).records
    assert "external_contact" not in record.data and record.data["event"]["change_type"] == "add_external_contact"
