"""The WeCom sandbox's control methods for ``hub demo``: fixed credentials, a channel code,
a friend added through it (with remark mobiles) whose encrypted callback reaches a hub
webhook, and the tags on a relation."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from hub.connector import DictState, WebhookRequest
from hub.testing import read_all

from connectors.wecom import crypto
from connectors.wecom.connector import WeComConnector
from connectors.wecom.sandbox import WeComSandbox

CORP, SECRET = "ww7940ea4bcded905f", "xCzqPc-D6nIbpOCOmLmFmxO8Jij1qzzikEkmKQsVfmk"
KEY = "n5DdH2jw55n8m663QuQVH7skdEWtnqRjR1dNie1ti5I"


def test_use_credentials_makes_the_sandbox_the_configured_corp(router, sandbox):
    sandbox.use_credentials(corp_id=CORP, secret=SECRET, encoding_aes_key=KEY, callback_token="DemoToken")
    config = {**sandbox.config_for(router.base_url)}
    assert (config["corp_id"], config["secret"], config["encoding_aes_key"], config["callback_token"]) == (CORP, SECRET, KEY, "DemoToken")
    connector = WeComConnector("wecom_demo", WeComConnector.validate_config(config), state=DictState())
    connector.check()  # gettoken with the new corp id and secret


def test_use_credentials_refuses_a_key_wecom_would_not_take(sandbox):
    with pytest.raises(crypto.CryptoError):
        sandbox.use_credentials(corp_id=CORP, secret=SECRET, encoding_aes_key="short")
    assert sandbox.corp_id != CORP


def test_a_friend_through_a_channel_code_pushes_its_callback_and_shows_in_the_scan(router, sandbox):
    sandbox.use_credentials(corp_id=CORP, secret=SECRET, encoding_aes_key=KEY)
    config = WeComConnector.validate_config(sandbox.config_for(router.base_url))
    connector = WeComConnector("wecom_sales", config, state=DictState())
    handled: list = []

    def hub_webhook(request):  # what /webhooks/wecom_sales does with the push
        req = WebhookRequest(method="POST", path=request.path_url.split("?")[0], headers=dict(request.headers),
                             args=dict(re.findall(r"([^?&=]+)=([^&]*)", request.url.split("?", 1)[1])), body=request.body)
        result = connector.webhook_handler().handle(req)
        handled.extend(result.records)
        return result.status, {}, result.body

    router.mock.add_callback("POST", re.compile(r"http://hub\.test/webhooks/wecom_sales.*"), callback=hub_webhook)
    code = sandbox.add_channel_code(state="feiyu_kids_coding", user=["zhangsan"], remark="飞鱼线索加微")
    assert code["state"] == "feiyu_kids_coding" and code["user"] == ["zhangsan"]
    at = "2026-06-01T11:02:00+08:00"
    added = sandbox.add_friend(name="林晓雯", state="feiyu_kids_coding", remark_mobiles=["13912345678"], gender=2, at=at,
                               callback_url="http://hub.test/webhooks/wecom_sales")
    assert added["userid"] == "zhangsan" and added["callback"]["status"] == 200
    [(stream, record)] = handled
    assert stream == "external_contacts" and record.native_id == added["relation"]
    assert record.data["event"]["change_type"] == "add_external_contact"
    assert record.data["event"]["state"] == "feiyu_kids_coding"
    assert record.data["event"]["create_time"] == int(datetime.fromisoformat(at).timestamp())

    scanned = {r.native_id: r.data for r in read_all(connector, "external_contacts")[0]}
    follow = scanned[added["relation"]]["follow_info"]
    assert follow["remark_mobiles"] == ["13912345678"] and follow["state"] == "feiyu_kids_coding"
    assert follow["createtime"] == int(datetime.fromisoformat(at).timestamp())


def test_add_friend_needs_a_known_code_or_member(sandbox):
    with pytest.raises(ValueError, match="channel code"):
        sandbox.add_friend(name="x", state="no_such_state")
    with pytest.raises(ValueError, match="customer-contact"):
        sandbox.add_friend(name="x", userid="zhaoliu")  # resigned: no customer-contact permission


def test_relation_tags_follow_mark_tag(router, sandbox):
    relation = sandbox.add_friend(name="陈思琪", userid="lisi")["relation"]
    assert sandbox.relation_tags(relation) == []
    ext, _, userid = relation.partition(":")
    vip = next(t["id"] for g in sandbox.tag_groups for t in g["tag"] if t["name"] == "VIP客户")
    sandbox.relations[(ext, userid)]["tag_id"].append(vip)
    assert sandbox.relation_tags(relation) == ["客户等级/VIP客户"]


def test_control_methods_are_listed():
    assert {"use_credentials", "add_channel_code", "add_friend", "relation_tags", "effects"} <= set(WeComSandbox.control_methods)


def test_issue_18_control_methods_are_listed_and_internals_are_not():
    from flask import Flask

    from hub.plugins import get_registry
    from hub.web.sandboxes import register_sandboxes

    for name in ("add_group", "join_group", "leave_group", "archive_key", "send_chat", "depart_member", "update_member",
                 "confirm_message", "use_app_type", "advance_time"):
        assert name in WeComSandbox.control_methods, name
    app = Flask("control_test")
    register_sandboxes(app, get_registry())
    http = app.test_client()
    for internal in ("issue_welcome_code", "archive_message", "create_template", "mapping_lookups"):
        assert http.post(f"/sandbox/wecom/_control/{internal}", json={}).status_code == 404, internal
    group = http.post("/sandbox/wecom/_control/add_group", json={"name": "服务群", "owner": "wangwu"}).get_json()["result"]
    sb = app.extensions["hub_sandboxes"]["wecom"]
    ext = next(iter(sb.customers))
    joined = http.post("/sandbox/wecom/_control/join_group", json={"group": "服务群", "external_userid": ext, "scene": 2})
    assert joined.status_code == 200 and joined.get_json()["result"]["membership"] == f"{group['chat_id']}:{ext}"
    said = http.post("/sandbox/wecom/_control/send_chat", json={"sender": ext, "text": "太贵了", "group": "服务群"}).get_json()["result"]
    assert said["seq"] == len(sb.archive) and sb.archive[-1]["publickey_ver"] == 1
    bad = http.post("/sandbox/wecom/_control/archive_key", json={"version": 2, "public_pem": "not a key"})
    assert bad.status_code == 400
