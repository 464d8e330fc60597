"""Leads pushed by a Feiyu lead-push rule: token in a header or query parameter (constant-time
compare), renamed fields mapped back, one inbox row per clue id."""

from __future__ import annotations

import json

import pytest

from hub.connector import WebhookRejected, WebhookRequest

from connectors.feiyu.sandbox import PUSH_TOKEN


def _request(body, headers=None, args=None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest("POST", "/webhooks/feiyu", {"Content-Type": "application/json", **(headers or {})}, args or {}, raw)


def test_signed_push_yields_one_lead_keyed_by_clue_id(marketing, make_connector):
    sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    push = sandbox.signed_push(config)
    result = handler.handle(push)
    ((stream, record),) = result.records
    clue_id = json.loads(push.body)["clue_id"]
    assert stream == "leads" and record.native_id == clue_id
    assert record.dedupe_key == f"clue:{clue_id}"
    assert record.data["telephone"] == sandbox.leads[clue_id]["telephone"]
    assert record.data["_api"] == "push"
    # A repeated push of the same lead carries the same dedupe key: one inbox row.
    assert handler.handle(push).records[0][1].dedupe_key == record.dedupe_key
    assert json.loads(result.body)["code"] == 0


def test_token_may_come_as_a_query_parameter(marketing, make_connector):
    sandbox, config = marketing
    handler = make_connector(config, push_token_param="feiyu_token").webhook_handler()
    push = sandbox.signed_push(config)
    via_query = WebhookRequest(push.method, push.path, {"Content-Type": "application/json"}, {"feiyu_token": PUSH_TOKEN}, push.body)
    assert handler.handle(via_query).records


@pytest.mark.parametrize(
    "headers,args",
    [({}, {}), ({"X-Feiyu-Token": "wrong"}, {}), ({}, {"token": "wrong"}), ({"X-Feiyu-Token": PUSH_TOKEN[:-1]}, {})],
)
def test_missing_or_wrong_token_is_rejected_with_401(marketing, make_connector, headers, args):
    sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    body = sandbox.signed_push(config).body
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(body, headers, args))
    assert info.value.status == 401
    assert PUSH_TOKEN not in str(info.value)


def test_configured_token_header_name_is_used(marketing, make_connector):
    sandbox, config = marketing
    config = {**config, "push_token_header": "X-Hub-Token"}
    handler = make_connector(config).webhook_handler()
    assert handler.handle(sandbox.signed_push(config)).records
    with pytest.raises(WebhookRejected):
        handler.handle(_request(sandbox.signed_push(config).body, {"X-Feiyu-Token": PUSH_TOKEN}))


def test_push_field_map_renames_back(marketing, make_connector):
    sandbox, config = marketing
    config = {**config, "push_field_map": {"telephone": "phone", "clue_id": "lead_id", "name": "customer_name"}}
    push = sandbox.signed_push(config)
    assert "phone" in json.loads(push.body) and "telephone" not in json.loads(push.body)
    ((_, record),) = make_connector(config).webhook_handler().handle(push).records
    source = sandbox.leads[record.native_id]
    assert record.data["telephone"] == source["telephone"]
    assert record.data["name"] == source["name"]


def test_lists_and_wrapped_lists_are_accepted(marketing, make_connector):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    leads = [{"clue_id": "7301234567000000011", "telephone": "13912345678"}, {"clue_id": 7301234567000000012, "telphone": "13812345678"}]
    headers = {"X-Feiyu-Token": PUSH_TOKEN}
    for body in (leads, {"data": leads}, {"list": leads}):
        records = handler.handle(_request(body, headers)).records
        assert [r.native_id for _, r in records] == ["7301234567000000011", "7301234567000000012"]
        assert records[1][1].data["telephone"] == "13812345678"


@pytest.mark.parametrize("body", [b"not json", b"42", {"telephone": "13912345678"}, [], {"clue_id": "abc"}])
def test_malformed_pushes_are_rejected_with_400(marketing, make_connector, body):
    _sandbox, config = marketing
    handler = make_connector(config).webhook_handler()
    with pytest.raises(WebhookRejected) as info:
        handler.handle(_request(body, {"X-Feiyu-Token": PUSH_TOKEN}))
    assert info.value.status == 400


def test_no_push_token_configured_means_no_webhook(marketing, make_connector):
    sandbox, config = marketing
    config = {k: v for k, v in config.items() if k != "push_token"}
    with pytest.raises(WebhookRejected) as info:
        make_connector(config).webhook_handler().handle(sandbox.signed_push({**config, "push_token": PUSH_TOKEN}))
    assert info.value.status == 404
