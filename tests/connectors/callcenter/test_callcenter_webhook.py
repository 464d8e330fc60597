"""The generic signed CDR push: field mapping, direction routing, rejection of anything unsigned."""

import json
import time

import pytest

from hub.connector import WebhookRejected, WebhookRequest

from connectors.callcenter.sandbox import VENDOR_FIELDS, WEBHOOK_SECRET
from connectors.callcenter.signing import cdr_push_signature


def _push(body: bytes, secret: str = WEBHOOK_SECRET, ts: int | None = None) -> WebhookRequest:
    stamp = str(int(time.time()) if ts is None else ts)
    headers = {"Content-Type": "application/json", "X-Hub-Timestamp": stamp,
               "X-Hub-Signature": "sha256=" + cdr_push_signature(secret, stamp, body)}
    return WebhookRequest("POST", "/webhooks/cc", headers, {}, body)


def _vendor_cdr(**over):
    body = {"cdr_id": "cc-20260105-0001", "call_direction": "IN", "caller": "013812345678", "did": "4008208820",
            "agent_no": "0101", "agent_name": "张伟", "begin_at": "2026-01-05 10:15:02", "answer_at": "2026-01-05 10:15:10",
            "end_at": "2026-01-05 10:18:40", "result": "座席接听", "record_url": "https://rec.example.cn/a.mp3"}
    body.update(over)
    return body


def test_a_signed_push_is_normalised_to_clink_fields(make_clink):
    handler = make_clink().webhook_handler()
    result = handler.handle(_push(json.dumps(_vendor_cdr(), ensure_ascii=False).encode()))
    ((stream, record),) = result.records
    assert stream == "cdr_inbound"
    assert record.native_id == "cc-20260105-0001" and record.dedupe_key == "cdr:cc-20260105-0001"
    data = record.data
    assert data["customerNumber"] == "013812345678"  # raw: the mapping's phone transform normalises
    assert data["hotline"] == "4008208820" and data["cno"] == "0101"
    assert data["startTime"] == 1767579302  # 2026-01-05 10:15:02 +08:00
    assert data["bridgeDuration"] == 210 and data["totalDuration"] == 218
    assert data["recordUrl"] == "https://rec.example.cn/a.mp3" and data["direction"] == "inbound"


def test_outbound_and_batched_cdrs_route_by_direction(make_clink):
    body = [_vendor_cdr(cdr_id="a", call_direction="OUT"), _vendor_cdr(cdr_id="b")]
    result = make_clink().webhook_handler().handle(_push(json.dumps(body).encode()))
    assert [(s, r.native_id) for s, r in result.records] == [("cdr_outbound", "a"), ("cdr_inbound", "b")]


def test_default_field_names_work_without_a_mapping(make_clink):
    body = {"call_id": "x1", "direction": "outbound", "customer_number": "02161234567", "start_time": 1767579302}
    connector = make_clink(webhook_fields={}, webhook_directions={})
    ((stream, record),) = connector.webhook_handler().handle(_push(json.dumps(body).encode())).records
    assert stream == "cdr_outbound" and record.data["customerNumber"] == "02161234567"


@pytest.mark.parametrize("tamper", ["secret", "body", "stale", "missing"])
def test_unsigned_or_stale_pushes_are_rejected(make_clink, tamper):
    body = json.dumps(_vendor_cdr()).encode()
    if tamper == "secret":
        req = _push(body, secret="another-secret-entirely")
    elif tamper == "body":
        req = _push(body)
        req.body = body.replace(b"0101", b"0102")
    elif tamper == "stale":
        req = _push(body, ts=int(time.time()) - 301)
    else:
        req = WebhookRequest("POST", "/webhooks/cc", {}, {}, body)
    with pytest.raises(WebhookRejected) as info:
        make_clink().webhook_handler().handle(req)
    assert info.value.status == 401
    assert WEBHOOK_SECRET not in str(info.value)


@pytest.mark.parametrize("body, reason", [
    ({"caller": "13812345678", "call_direction": "IN"}, "no call id"),
    (_vendor_cdr(call_direction="SIDEWAYS"), "unknown direction"),
    (_vendor_cdr(begin_at="yesterday"), "begin_at is not a time"),
])
def test_malformed_cdrs_are_refused_with_400(make_clink, body, reason):
    with pytest.raises(WebhookRejected, match=reason) as info:
        make_clink().webhook_handler().handle(_push(json.dumps(body).encode()))
    assert info.value.status == 400


def test_pushes_are_refused_when_no_secret_is_configured(make_clink):
    with pytest.raises(WebhookRejected) as info:
        make_clink(webhook_secret=None).webhook_handler().handle(_push(b"{}"))
    assert info.value.status == 404


def test_unknown_field_names_in_config_are_rejected():
    from marshmallow import ValidationError

    from connectors.callcenter.connector import ClinkConnector

    with pytest.raises(ValidationError, match="unknown CDR field"):
        ClinkConnector.validate_config({"base_url": "https://api-bj.clink.cn", "access_key_id": "a",
                                        "access_key_secret": "b", "webhook_fields": {"caller_id": "x"}})
    assert set(VENDOR_FIELDS) <= set(__import__("connectors.callcenter.webhook", fromlist=["x"]).CANONICAL_FIELDS)
