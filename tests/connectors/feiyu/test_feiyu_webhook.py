"""Leads pushed by a Feiyu lead-push rule, in the real push shape.

Source: saoxia/erpnext_china ``lead_domain_for_douyin.py`` (a receiver of real Feiyu pushes):
the lead id is ``id``, the phone ``telphone`` (sic), ``create_time`` Unix seconds, ``adv_name``,
``location`` "山东+济南"; headers ``Signature`` / ``Timestamp`` / ``Access-Token`` with the
signature "clue_id|token|timestamp 进行sha256的hash运算，再进行base64加密"; the answer
``{"code": 0, "message": "success"}``. The old door answered every such push 400 "no clue_id"
and never checked a signature, accepting a bare ``X-Feiyu-Token`` header instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from hub.connector import WebhookRejected, WebhookRequest

from connectors.feiyu.auth.push_signing import expected_signatures, push_signature
from connectors.feiyu.sandbox import PUSH_TOKEN

#: A push as erpnext_china's receiver reads it (values invented, field names and types theirs).
PUBLISHED_PUSH = {"id": 7301234567000000011, "telphone": "13912345678", "name": "李静", "create_time": 1767580502,
                  "adv_name": "杭州小象教育科技有限公司", "location": "浙江+杭州", "clue_source": 1, "clue_type": 0,
                  "flow_type": 4, "weixin": "", "external_url": "https://www.chengzijianzhan.com/tetris/page/1/"}


def _request(body, headers=None, args=None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest("POST", "/webhooks/feiyu", {"Content-Type": "application/json", **(headers or {})}, args or {}, raw)


def _signed(clue_id, token=PUSH_TOKEN, ts=None, signature=None):
    ts = ts or str(int(time.time()))
    return {"Access-Token": token, "Timestamp": ts, "Signature": signature or push_signature(str(clue_id), token, ts)}


def test_the_published_push_shape_is_accepted_and_mapped(marketing, make_connector):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    result = handler.handle(_request(PUBLISHED_PUSH, _signed(PUBLISHED_PUSH["id"])))
    ((stream, record),) = result.records
    assert stream == "leads" and record.native_id == "7301234567000000011"
    assert record.dedupe_key == "clue:7301234567000000011"  # the pull's key: reconciled, not doubled
    lead = record.data
    assert (lead["telephone"], lead["advertiser_name"], lead["create_time_detail"]) == (
        "13912345678", "杭州小象教育科技有限公司", "2026-01-05 10:35:02")
    assert (lead["province_name"], lead["city_name"]) == ("浙江", "杭州")
    assert json.loads(result.body) == {"code": 0, "message": "success"}


def test_the_sandbox_push_is_signed_and_shaped_like_feiyus(marketing, make_connector):
    sandbox, config = marketing
    push = sandbox.signed_push(config)
    body = json.loads(push.body)
    assert {"id", "telphone", "create_time", "adv_name"} <= set(body) and "clue_id" not in body
    assert isinstance(body["create_time"], int)
    ((_, record),) = make_connector(config).webhook_handler().handle(push).records
    assert record.data["telephone"] == sandbox.leads[record.native_id]["telephone"]
    assert record.data["_api"] == "push"


def test_every_reading_of_the_signature_is_accepted():
    """The source says sha256 then base64 of id|token|timestamp; it could be the raw digest or
    its hex (as the pull's signature is), and a rule's 秘钥 could key it: all are accepted."""
    text = b"7301234567000000011|tok|1767580502"
    raw, hexed = hashlib.sha256(text).digest(), hashlib.sha256(text).hexdigest().encode()
    keyed = hmac.new(b"secret", text, hashlib.sha256)
    readings = expected_signatures("7301234567000000011", "tok", "1767580502", "secret")
    assert base64.b64encode(raw).decode() in readings and base64.b64encode(hexed).decode() in readings
    assert base64.b64encode(keyed.digest()).decode() in readings
    assert base64.b64encode(keyed.hexdigest().encode()).decode() in readings
    assert len(expected_signatures("7301234567000000011", "tok", "1767580502")) == 2  # no secret, no HMAC


@pytest.mark.parametrize("change", ["no_headers", "x_feiyu_token_only", "wrong_token", "wrong_signature",
                                    "signature_for_another_id", "no_signature"])
def test_unauthenticated_pushes_are_refused_with_401(marketing, make_connector, change):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    headers = {
        "no_headers": {},
        "x_feiyu_token_only": {"X-Feiyu-Token": PUSH_TOKEN},  # the invented door is gone
        "wrong_token": _signed(PUBLISHED_PUSH["id"], token="wrong-token"),
        "wrong_signature": _signed(PUBLISHED_PUSH["id"], signature="AAAA"),
        "signature_for_another_id": _signed(7301234567000000099),
        "no_signature": {k: v for k, v in _signed(PUBLISHED_PUSH["id"]).items() if k != "Signature"},
    }[change]
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(PUBLISHED_PUSH, headers))
    assert info.value.status == 401 and PUSH_TOKEN not in str(info.value)


def test_a_replayed_push_outside_the_window_is_refused(marketing, make_connector):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    old = str(int(time.time()) - 3600)
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(PUBLISHED_PUSH, _signed(PUBLISHED_PUSH["id"], ts=old)))
    assert info.value.status == 401 and "Timestamp" in str(info.value)


def test_a_rule_secret_keys_the_signature_when_configured(marketing, make_connector):
    _sandbox, config = marketing
    handler = make_connector(config, push_secret="rule-secret-1").webhook_handler()
    ts = str(int(time.time()))
    text = f"{PUBLISHED_PUSH['id']}|{PUSH_TOKEN}|{ts}".encode()
    keyed = base64.b64encode(hmac.new(b"rule-secret-1", text, hashlib.sha256).digest()).decode()
    assert handler.handle(_request(PUBLISHED_PUSH, _signed(PUBLISHED_PUSH["id"], ts=ts, signature=keyed))).records


def test_the_marketing_api_names_are_accepted_too(marketing, make_connector):
    _sandbox, config = marketing
    body = {"clue_id": "7301234567000000012", "telephone": "13812345678", "create_time_detail": "2026-01-05 10:00:00"}
    ((_, record),) = make_connector(config).webhook_handler().handle(_request(body, _signed(body["clue_id"]))).records
    assert record.native_id == "7301234567000000012" and record.data["telephone"] == "13812345678"


def test_push_field_map_renames_back(marketing, make_connector):
    sandbox, config = marketing
    config = {**config, "push_field_map": {"name": "customer_name"}}
    push = sandbox.signed_push(config)
    assert "customer_name" in json.loads(push.body)
    ((_, record),) = make_connector(config).webhook_handler().handle(push).records
    assert record.data["name"] == sandbox.leads[record.native_id]["name"]


@pytest.mark.parametrize("body", [b"not json", b"42", {"telphone": "13912345678"}, [], {"id": "abc"}])
def test_malformed_pushes_are_rejected_with_400(marketing, make_connector, body):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(body, _signed(1)))
    assert info.value.status == 400


def test_no_push_token_configured_means_no_webhook(marketing, make_connector):
    sandbox, config = marketing
    config = {k: v for k, v in config.items() if k != "push_token"}
    with pytest.raises(WebhookRejected) as info:
        make_connector(config).webhook_handler().handle(sandbox.signed_push({**config, "push_token": PUSH_TOKEN}))
    assert info.value.status == 404


def test_a_millisecond_timestamp_is_accepted_and_signed_as_sent(marketing, make_connector):
    """The unit of ``Timestamp`` is not published: 13 digits are read as milliseconds."""
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    ts = str(int(time.time() * 1000))
    assert handler.handle(_request(PUBLISHED_PUSH, _signed(PUBLISHED_PUSH["id"], ts=ts))).records
    stale = str(int(time.time() * 1000) - 3_600_000)
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(PUBLISHED_PUSH, _signed(PUBLISHED_PUSH["id"], ts=stale)))
    assert info.value.status == 401
