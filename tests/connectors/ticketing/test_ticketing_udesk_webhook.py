"""Udesk pushes: token-authenticated, ticket events become records, others are acknowledged."""

import json

import pytest

from hub.connector import WebhookRejected, WebhookRequest

from connectors.ticketing.udesk.sandbox import WEBHOOK_TOKEN


def _req(body: dict, args=None, headers=None) -> WebhookRequest:
    return WebhookRequest("POST", "/webhooks/udesk_main", headers or {}, args if args is not None else {"token": WEBHOOK_TOKEN},
                          json.dumps(body, ensure_ascii=False).encode())


def test_ticket_update_push_becomes_a_record(make_udesk, udesk_router):
    (tid,) = udesk_router.sandbox.add_records("tickets", 1)
    ticket = udesk_router.sandbox.tickets[int(tid)]
    result = make_udesk().webhook_handler().handle(_req({"action": "Ticket_update", "message": ticket}))
    ((stream, record),) = result.records
    assert stream == "tickets" and record.native_id == tid
    assert record.dedupe_key == f"udesk:ticket:{tid}:{ticket['updated_at']}"


def test_token_in_header_is_accepted(make_udesk, udesk_router):
    (tid,) = udesk_router.sandbox.add_records("tickets", 1)
    req = _req({"action": "Ticket_create", "message": udesk_router.sandbox.tickets[int(tid)]}, args={},
               headers={"X-Udesk-Token": WEBHOOK_TOKEN})
    assert make_udesk().webhook_handler().handle(req).records


@pytest.mark.parametrize("args", [{}, {"token": "wrong-token-wrong-token"}, {"token": WEBHOOK_TOKEN[:-1]}])
def test_missing_or_wrong_token_is_rejected(make_udesk, args):
    with pytest.raises(WebhookRejected) as info:
        make_udesk().webhook_handler().handle(_req({"action": "Ticket_update", "message": {"id": 1}}, args=args))
    assert info.value.status == 401 and WEBHOOK_TOKEN not in str(info.value)


def test_customer_events_are_acknowledged_without_records(make_udesk):
    result = make_udesk().webhook_handler().handle(_req({"action": "Customer_create", "message": {"id": 1}}))
    assert result.records == [] and json.loads(result.body)["code"] == 1000


def test_malformed_ticket_event_is_refused(make_udesk):
    with pytest.raises(WebhookRejected) as info:
        make_udesk().webhook_handler().handle(_req({"action": "Ticket_update", "message": {"subject": "no id"}}))
    assert info.value.status == 400


def test_pushes_refused_when_no_token_configured(make_udesk):
    with pytest.raises(WebhookRejected) as info:
        make_udesk(webhook_token=None).webhook_handler().handle(_req({"action": "Ticket_update", "message": {}}))
    assert info.value.status == 404
