"""Udesk as its open API v2 documents it (issue 16).

Sources: Udesk open API v2 › 工单 › 创建工单 (udesk.cn/doc/apiv2/tickets, English mirror
udeskglobal.com/doc/apiv2/tickets): the ``ticket`` object takes ``subject, content, type,
type_content, priority, assignee_email, agent_group_name, template_id, follower_ids, tags,
status_id, ticket_field, creator_email`` with ``status_id`` 1 open, 2 resolved, 3 closed,
4 solving. Public integrations obtain the token with ``POST /open_api_v1/log_in {"email",
"password"}`` → ``{"code": 1000, "open_api_auth_token": …}``. A nonce may be used once in 15
minutes (udesk.cn/doc/apiv2/intro); a replay answers code 20623. The old sink sent ``status``
and ``assignee_id`` (ignored by Udesk), and only a configured ``api_token`` was possible.
"""

from __future__ import annotations

import pytest
import requests
from marshmallow import ValidationError

from hub.connector import PermanentError
from hub.connector.tokens import clear_local_tokens

from connectors.ticketing.udesk.connector import UdeskConnector
from connectors.ticketing.udesk.sandbox import API_TOKEN, EMAIL, PASSWORD
from connectors.ticketing.udesk.signing import udesk_sign

#: The documented create-ticket body (field names and status_id from the v2 doc).
PUBLISHED_TICKET = {"subject": "产品安装预约", "content": "客户希望周六上门安装", "priority": "高",
                    "status_id": 4, "assignee_email": "wuhao@huiliu-demo.cn", "agent_group_name": "售后1组",
                    "tags": "安装,预约", "customer": {"cellphone": "13812345678"}}


def test_a_ticket_is_created_with_status_id_and_assignee_email(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    result = make_udesk().write("tickets", PUBLISHED_TICKET, idempotency_key="u-1")
    (effect,) = sandbox.effects("tickets")
    sent = effect["ticket"]
    assert sent["status_id"] == 4 and sent["assignee_email"] == "wuhao@huiliu-demo.cn"
    assert "status" not in sent and "assignee_id" not in sent
    ticket = sandbox.tickets[int(result.native_id)]
    assert (ticket["status_en"], ticket["assignee_name"]) == ("solving", "客服-吴昊")


@pytest.mark.parametrize("name, expected", [("open", 1), ("已解决", 2), ("closed", 3), ("solving", 4)])
def test_a_status_name_is_sent_as_its_status_id(make_udesk, udesk_router, name, expected):
    payload = {**PUBLISHED_TICKET, "status": name}
    del payload["status_id"]
    make_udesk().write("tickets", payload, idempotency_key=f"u-{name}")
    assert udesk_router.sandbox.effects("tickets")[0]["ticket"]["status_id"] == expected


def test_assignee_id_alone_is_refused_with_a_clear_message(make_udesk, udesk_router):
    payload = {k: v for k, v in PUBLISHED_TICKET.items() if k != "assignee_email"} | {"assignee_id": 102}
    with pytest.raises(PermanentError, match="assignee_email"):
        make_udesk().write("tickets", payload, idempotency_key="u-2")
    assert udesk_router.sandbox.effects("tickets") == []


def test_the_sandbox_ignores_status_and_assignee_id_like_udesk(udesk_router):
    """What the old connector sent: the ticket lands open, with whatever agent Udesk picks."""
    import time, uuid
    ts, nonce = str(int(time.time())), uuid.uuid4().hex
    params = {"email": EMAIL, "timestamp": ts, "nonce": nonce, "sign_version": "v2", "sign": udesk_sign(EMAIL, API_TOKEN, ts, nonce)}
    body = {"ticket": {"subject": "s", "content": "c", "type": "cellphone", "type_content": "13812345678",
                       "status": "solving", "assignee_id": 102}}
    answer = requests.post(udesk_router.base_url + "/open_api_v1/tickets", params=params, json=body).json()
    assert udesk_router.sandbox.tickets[answer["ticket_id"]]["status_en"] == "open"
    # The same nonce again: Udesk's replay code.
    again = requests.post(udesk_router.base_url + "/open_api_v1/tickets", params=params, json=body).json()
    assert again["code"] == 20623


def test_the_token_can_come_from_log_in_with_email_and_password(udesk_router):
    clear_local_tokens()
    raw = {**udesk_router.sandbox.config_for(udesk_router.base_url), "password": PASSWORD}
    del raw["api_token"]
    connector = UdeskConnector("udesk_login", UdeskConnector.validate_config(raw))
    connector.check()
    connector.write("tickets", PUBLISHED_TICKET, idempotency_key="u-3")
    logins = [c for c in udesk_router.calls if c[1].endswith("/open_api_v1/log_in")]
    assert len(logins) == 1  # fetched once, reused


def test_a_wrong_password_fails_check_without_echoing_it(udesk_router):
    clear_local_tokens()
    raw = {**udesk_router.sandbox.config_for(udesk_router.base_url), "password": "wrong-password-123"}
    del raw["api_token"]
    with pytest.raises(Exception) as info:
        UdeskConnector("udesk_login", UdeskConnector.validate_config(raw)).check()
    assert "log_in" in str(info.value) and "wrong-password-123" not in str(info.value)


def test_a_config_needs_a_token_or_a_password(udesk_router):
    raw = udesk_router.sandbox.config_for(udesk_router.base_url)
    del raw["api_token"]
    with pytest.raises(ValidationError, match="api_token"):
        UdeskConnector.validate_config(raw)


def test_a_replayed_nonce_is_signed_again_and_retried_once(make_udesk, udesk_router):
    """20623 can only mean the same signed URL reached Udesk twice (a proxy or connection
    retry): the client signs anew once; twice in a row is transient."""
    from hub.connector import TransientError

    sandbox, connector = udesk_router.sandbox, make_udesk()
    sandbox.replay_next()
    before = len(udesk_router.calls)
    assert connector.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})["code"] == 1000
    assert len(udesk_router.calls) == before + 2
    sandbox.replay_next(times=2)
    with pytest.raises(TransientError) as info:
        connector.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})
    assert info.value.code == 20623
