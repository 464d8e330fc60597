"""Clink's hang-up push (挂机推送): unsigned ``cdr_*`` form fields, a secret token in the URL and
an optional source-IP allow-list.

Source: public integration code handling Clink's call-end push (``tianrun_notify_call_end``,
a PHP controller in the code corpus) documents the fields: ``cdr_main_unique_id`` (如
ccic2_202-1367040082.6), ``cdr_enterprise_id`` (7 位), ``cdr_customer_number`` (01087128906),
``cdr_customer_area_code``, ``cdr_customer_number_type`` (1 固话, 2 手机), ``cdr_start_time`` /
``cdr_answer_time`` / ``cdr_bridge_time`` / ``cdr_end_time`` (UNIX 时间戳), ``cdr_call_type``
(3 点击外呼, 4 预览外呼), ``cdr_status`` (21, 22, 24, 28 双方接听), ``cdr_mark``,
``cdr_number_trunk``, ``cdr_bridged_cno``; Tinet's ``CdrConst`` (TalkIsCheapGiveMeMoney/cti-link-cdr)
names the same keys. The old door took only signed JSON, which Clink cannot send.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from hub.connector import WebhookRejected, WebhookRequest

from connectors.callcenter.sandbox import PUSH_TOKEN

#: The source's own example values, as one outbound call's push.
PUBLISHED_HANGUP = {
    "cdr_main_unique_id": "ccic2_202-1367040082.6", "cdr_enterprise_id": "3000290",
    "cdr_customer_number": "01087128906", "cdr_customer_area_code": "010", "cdr_customer_number_type": "1",
    "cdr_start_time": "1367040082", "cdr_answer_time": "1367040085", "cdr_bridge_time": "1367040090",
    "cdr_end_time": "1367040202", "cdr_call_type": "4", "cdr_status": "28", "cdr_mark": "2",
    "cdr_number_trunk": "59222903", "cdr_bridged_cno": "2000",
}


def form(fields, token=PUSH_TOKEN, remote="47.95.1.10", as_query=False) -> WebhookRequest:
    body = b"" if as_query else urlencode(fields).encode()
    args = {**(fields if as_query else {}), "token": token}
    return WebhookRequest("POST" if not as_query else "GET", "/webhooks/cc",
                          {"Content-Type": "application/x-www-form-urlencoded"}, args, body, remote_addr=remote)


@pytest.fixture
def handler(make_clink):
    return make_clink().webhook_handler()


def test_the_published_hangup_push_becomes_an_outbound_call(handler):
    result = handler.handle(form(PUBLISHED_HANGUP))
    ((stream, record),) = result.records
    assert stream == "cdr_outbound" and record.native_id == "ccic2_202-1367040082.6"
    assert record.dedupe_key == "cdr:ccic2_202-1367040082.6"
    cdr = record.data
    assert (cdr["customerNumber"], cdr["cno"], cdr["hotline"]) == ("01087128906", "2000", "59222903")
    assert (cdr["startTime"], cdr["bridgeTime"], cdr["endTime"]) == (1367040082, 1367040090, 1367040202)
    assert (cdr["totalDuration"], cdr["bridgeDuration"]) == (120, 112)
    assert (cdr["statusCode"], cdr["status"]) == ("28", "双方接听")


def test_fields_may_come_in_the_query_of_a_get(handler):
    ((stream, record),) = handler.handle(form(PUBLISHED_HANGUP, as_query=True)).records
    assert stream == "cdr_outbound" and record.data["customerNumber"] == "01087128906"


def test_the_sandbox_push_maps_through_the_shipped_mapping(make_clink, clink_router):
    from pathlib import Path

    from hub.mapping import load_mapping

    sandbox = clink_router.sandbox
    connector = make_clink()
    ((stream, record),) = connector.webhook_handler().handle(sandbox.hangup_push(connector.config)).records
    assert stream == "cdr_inbound"
    mapping = load_mapping(Path(__file__).resolve().parents[3] / "mappings" / "clink.cdr_inbound.yaml", instance="cc")
    mapped = mapping.apply(record.data)
    (event,) = mapped.events
    assert event.kind == "call" and event.native_id == record.native_id
    assert mapped.identities  # the caller's phone


@pytest.mark.parametrize("token", ["", "wrong-token-wrong-token", PUSH_TOKEN[:-1]])
def test_a_wrong_or_missing_url_token_is_401(handler, token):
    request = form(PUBLISHED_HANGUP, token=token)
    if not token:
        request = WebhookRequest(request.method, request.path, request.headers, {"token": ""}, request.body)
    with pytest.raises(WebhookRejected) as info:
        handler.handle(request)
    assert info.value.status == 401 and PUSH_TOKEN not in str(info.value)


def test_the_ip_allow_list_is_enforced_when_set(make_clink):
    handler = make_clink(push_ips=["47.95.0.0/16", "10.1.2.3"]).webhook_handler()
    assert handler.handle(form(PUBLISHED_HANGUP, remote="47.95.200.7")).records
    assert handler.handle(form(PUBLISHED_HANGUP, remote="10.1.2.3")).records
    for remote in ("203.0.113.9", None):
        with pytest.raises(WebhookRejected) as info:
            handler.handle(form(PUBLISHED_HANGUP, remote=remote))
        assert info.value.status == 403


def test_a_bad_allow_list_entry_is_a_config_error(clink_router):
    from marshmallow import ValidationError

    from connectors.callcenter.connector import ClinkConnector

    raw = {**clink_router.sandbox.config_for(clink_router.base_url), "push_ips": ["47.95.0.0/33"]}
    with pytest.raises(ValidationError, match="push_ips"):
        ClinkConnector.validate_config(raw)


@pytest.mark.parametrize("change, problem", [
    ({"cdr_main_unique_id": ""}, "cdr_main_unique_id"),
    ({"cdr_call_type": "x"}, "cdr_call_type"),
    ({"cdr_start_time": "١٣٦٧٠٤٠٠٨٢"}, "cdr_start_time"),
    ({"cdr_customer_number": ""}, "cdr_customer_number"),
])
def test_malformed_pushes_are_400_naming_the_field(handler, change, problem):
    with pytest.raises(WebhookRejected) as info:
        handler.handle(form({**PUBLISHED_HANGUP, **change}))
    assert info.value.status == 400 and problem in info.value.message


def test_the_generic_signed_door_still_works_and_a_signed_request_never_takes_the_token_door(make_clink, clink_router):
    connector = make_clink()
    push = clink_router.sandbox.signed_push(connector.config)
    assert connector.webhook_handler().handle(push).records
    forged = WebhookRequest("POST", "/webhooks/cc", {"X-Hub-Signature": "0" * 64, "X-Hub-Timestamp": "1"},
                            {"token": PUSH_TOKEN}, urlencode(PUBLISHED_HANGUP).encode())
    with pytest.raises(WebhookRejected):
        connector.webhook_handler().handle(forged)


def test_no_push_token_configured_closes_the_door(make_clink):
    handler = make_clink(push_token=None).webhook_handler()
    with pytest.raises(WebhookRejected) as info:
        handler.handle(form(PUBLISHED_HANGUP))
    assert info.value.status == 404
