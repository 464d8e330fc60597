"""Udesk pushes: event callbacks ({action, message}; Customer_* become customers records) and
ticket-trigger bodies (a whole ticket → a tickets record; only its id → a tickets pull).

Source: udesk.cn/doc/apiv2/webhook (事件回调): Udesk POSTs ``{"action", "message"}`` with the
events Customer_create / Customer_update / Customer_destroy, Organization_*, ImSubSession_*,
ShutQueue_create, AgentNote_update, ImSurveyVote_create; the Customer_create example message is
``{"id": 1, "nick_name": "测试用户", "level": "normal", …, "email": "customer@sample.com",
"other_emails": [], "cellphones": [{"id": 1, "content": "13000000001"}], "platform": "手工录入"}``.
There is no Ticket_* event: the old door only understood invented Ticket_create/Ticket_update
actions and acknowledged real customer callbacks without storing them.
"""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from hub.connector import WebhookRejected, WebhookRequest
from hub.mapping import load_mapping

from connectors.ticketing.udesk.sandbox import WEBHOOK_TOKEN

#: The documented Customer_create example.
PUBLISHED_CUSTOMER_CREATE = {
    "action": "Customer_create",
    "message": {"id": 1, "nick_name": "测试用户", "level": "normal", "description": None, "owner_id": 1,
                "owner_group_id": 1, "custom_fields": {"SelectField_1": ["0"], "SelectField_2": ["0"]},
                "open_api_token": None, "organization_id": None, "is_blocked": False, "tags": [],
                "email": "customer@sample.com", "other_emails": [], "cellphones": [{"id": 1, "content": "13000000001"}],
                "platform": "手工录入"},
}
MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "udesk.customers.yaml"


def _req(body, args=None, headers=None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest("POST", "/webhooks/udesk_main", {"Content-Type": "application/json", **(headers or {})},
                          args if args is not None else {"token": WEBHOOK_TOKEN}, raw)


def test_the_published_customer_create_becomes_a_customer_with_its_phone_and_email(make_udesk):
    result = make_udesk().webhook_handler().handle(_req(PUBLISHED_CUSTOMER_CREATE))
    ((stream, record),) = result.records
    assert stream == "customers" and record.native_id == "1" and not record.deleted
    mapped = load_mapping(MAPPING, instance="udesk_main").apply(record.data)
    assert sorted(tuple(i) for i in mapped.identities) == [("email", "customer@sample.com"), ("phone", "+8613000000001")]
    assert mapped.attributes["name"] == "测试用户"
    assert json.loads(result.body)["code"] == 1000


def test_customer_destroy_is_a_deletion_and_updates_are_separate_rows(make_udesk):
    handler = make_udesk().webhook_handler()
    gone = handler.handle(_req({**PUBLISHED_CUSTOMER_CREATE, "action": "Customer_destroy"})).records[0][1]
    update = handler.handle(_req({**PUBLISHED_CUSTOMER_CREATE, "action": "Customer_update"})).records[0][1]
    assert gone.deleted and not update.deleted and gone.dedupe_key != update.dedupe_key


def test_a_form_encoded_callback_is_read_too(make_udesk):
    body = urlencode({"action": "Customer_update", "message": json.dumps(PUBLISHED_CUSTOMER_CREATE["message"])}).encode()
    request = _req(body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    ((stream, record),) = make_udesk().webhook_handler().handle(request).records
    assert stream == "customers" and record.data["_phones"] == ["13000000001"]


@pytest.mark.parametrize("action", ["ImSubSession_close", "Organization_create", "AgentNote_update", "ImSurveyVote_create"])
def test_other_documented_events_are_acknowledged_without_records(make_udesk, action):
    result = make_udesk().webhook_handler().handle(_req({"action": action, "message": {"id": 7}}))
    assert result.records == [] and result.pulls == [] and json.loads(result.body)["code"] == 1000


def test_a_trigger_carrying_the_whole_ticket_becomes_a_tickets_record(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    (tid,) = sandbox.add_records("tickets", 1)
    ticket = sandbox.tickets[int(tid)]
    ((stream, record),) = make_udesk().webhook_handler().handle(_req(sandbox.trigger_body(ticket))).records
    assert stream == "tickets" and record.native_id == tid
    assert record.dedupe_key == f"udesk:ticket:{tid}:{ticket['updated_at']}"


def test_a_trigger_carrying_only_the_ticket_id_queues_a_tickets_pull(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    (tid,) = sandbox.add_records("tickets", 1)
    result = make_udesk().webhook_handler().handle(_req(sandbox.trigger_body(sandbox.tickets[int(tid)], whole=False)))
    assert result.records == [] and result.pulls == ["tickets"]


def test_the_old_message_wrapper_still_reads_as_a_trigger_body(make_udesk, udesk_router):
    (tid,) = udesk_router.sandbox.add_records("tickets", 1)
    body = {"action": "anything", "message": udesk_router.sandbox.tickets[int(tid)]}
    assert make_udesk().webhook_handler().handle(_req(body)).records[0][1].native_id == tid


def test_token_in_header_is_accepted(make_udesk):
    req = _req(PUBLISHED_CUSTOMER_CREATE, args={}, headers={"X-Udesk-Token": WEBHOOK_TOKEN})
    assert make_udesk().webhook_handler().handle(req).records


@pytest.mark.parametrize("args", [{}, {"token": "wrong-token-wrong-token"}, {"token": WEBHOOK_TOKEN[:-1]}])
def test_missing_or_wrong_token_is_rejected(make_udesk, args):
    with pytest.raises(WebhookRejected) as info:
        make_udesk().webhook_handler().handle(_req(PUBLISHED_CUSTOMER_CREATE, args=args))
    assert info.value.status == 401 and WEBHOOK_TOKEN not in str(info.value)


@pytest.mark.parametrize("body", [{"subject": "no id"}, {"action": "Customer_create", "message": {"nick_name": "x"}},
                                  {"ticket_id": "abc"}, [1, 2]])
def test_malformed_pushes_are_refused(make_udesk, body):
    with pytest.raises(WebhookRejected) as info:
        make_udesk().webhook_handler().handle(_req(body))
    assert info.value.status == 400


def test_pushes_refused_when_no_token_configured(make_udesk):
    with pytest.raises(WebhookRejected) as info:
        make_udesk(webhook_token=None).webhook_handler().handle(_req(PUBLISHED_CUSTOMER_CREATE))
    assert info.value.status == 404
