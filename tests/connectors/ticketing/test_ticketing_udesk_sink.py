"""Udesk tickets sink: create, update, idempotency through durable state, unknown customers."""

import pytest

from hub.connector import DictState, PermanentError


def test_create_then_replay_with_the_same_key_has_one_effect(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    connector = make_udesk()
    payload = sandbox.sample_payload("tickets")
    first = connector.write("tickets", payload, idempotency_key="evt-1")
    again = connector.write("tickets", payload, idempotency_key="evt-1")
    assert first.created and first.native_id == again.native_id
    assert len(sandbox.effects("tickets")) == 1
    ticket = sandbox.tickets[int(first.native_id)]
    assert ticket["user_cellphone"] == "13812345678" and ticket["priority"] == "高"
    assert ticket["custom_fields"]["TextField_9001"] == "evt-1"  # the key is findable in Udesk


def test_the_idempotency_record_survives_a_new_connector_instance(make_udesk, udesk_router):
    state = DictState()
    payload = udesk_router.sandbox.sample_payload("tickets")
    first = make_udesk(state=state).write("tickets", payload, idempotency_key="evt-2")
    second = make_udesk(state=state).write("tickets", payload, idempotency_key="evt-2")
    assert first.native_id == second.native_id and len(udesk_router.sandbox.effects("tickets")) == 1


def test_update_changes_the_ticket(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    (tid,) = sandbox.add_records("tickets", 1)
    result = make_udesk().write("tickets", {"subject": "已回电，待确认", "priority": "紧急"},
                                idempotency_key="evt-3", native_id=tid)
    assert result.native_id == tid and not result.created
    assert sandbox.tickets[int(tid)]["subject"] == "已回电，待确认"


def test_unknown_customer_is_created_then_the_ticket(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    payload = {"subject": "企微新好友咨询", "content": "想了解会员权益",
               "customer": {"cellphone": "13900001111", "nick_name": "新客户"}}
    result = make_udesk().write("tickets", payload, idempotency_key="evt-4")
    assert sandbox.tickets[int(result.native_id)]["user_name"] == "新客户"


def test_a_ticket_without_customer_identity_is_a_permanent_error(make_udesk):
    with pytest.raises(PermanentError, match="customer"):
        make_udesk().write("tickets", {"subject": "x", "content": "y"}, idempotency_key="evt-5")


def test_e164_phone_from_the_hub_is_filed_as_a_national_number(make_udesk, udesk_router):
    payload = {"subject": "跟进客户", "content": "请回电", "customer": {"cellphone": "+8613812345678"}}
    result = make_udesk().write("tickets", payload, idempotency_key="evt-6")
    ticket = udesk_router.sandbox.tickets[int(result.native_id)]
    assert ticket["user_cellphone"] == "13812345678" and ticket["user_name"] == "王小明"  # the existing customer
