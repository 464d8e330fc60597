"""Sobot (智齿) Open Platform 5.0: the get_token signature, one cached token refreshed once when
refused, tickets opened through save_user_ticket with the mapped payload, the tickets stream
(query_tickets_by_update_time), idempotency, error mapping, no leaked secrets.

Wire shapes from taadis/zhichi (``ticket/save_user_ticket.go``,
``ticket/query_tickets_by_update_time.go``, ``client/http_client.go``) and shizg666/homeauto-v3
(``SobotUtils.java``, ``SobotSaveUserTicketResponseItemDTO.java``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from hub.connector import CheckFailed, DictState, PermanentError, RateLimitedError, TransientError
from hub.mapping import canonical_view, load_mapping

from connectors.ticketing.sobot.sandbox import APP_KEY, APPID, COMPANY_ID, PARAM_ERROR, TICKET_FROM, TICKET_TYPEID
from connectors.ticketing.sobot.signing import sobot_sign, token_params

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
MAPPING = MAPPINGS / "sobot.tickets.out.yaml"
SAVE = "/api/ws/5/ticket/save_user_ticket"


def calls(router, suffix: str) -> int:
    return sum(1 for _m, path in router.calls if path.endswith(suffix))


# -- token ----------------------------------------------------------------------------------
def test_sign_is_md5_of_appid_create_time_app_key():
    # Known answers computed outside Python: printf '%s' "<appid><create_time><app_key>" | md5sum
    assert sobot_sign("1", "1569397773", "abc") == "c22b3c2241d597a04f57633165f65ac7"
    assert sobot_sign(APPID, "1569397773", APP_KEY) == "0e8430fb55fc270de84c413cad25b325"
    assert token_params(APPID, APP_KEY, now=1569397773.9) == {
        "appid": APPID, "create_time": "1569397773", "sign": "0e8430fb55fc270de84c413cad25b325"}


def test_the_sandbox_refuses_another_signature_order_and_an_unknown_appid(sobot_router):
    url = sobot_router.base_url + "/api/get_token"
    good = requests.get(url, params=token_params(APPID, APP_KEY)).json()
    assert good["ret_code"] == "000000" and good["item"]["expires_in"] == "86400" and len(good["item"]["token"]) >= 32
    ts = token_params(APPID, APP_KEY)["create_time"]
    legacy_order = sobot_sign(APPID, APP_KEY, ts)  # appid + app_key + create_time: the old ws-open order
    assert requests.get(url, params={"appid": APPID, "create_time": ts, "sign": legacy_order}).json()["ret_code"] == "900003"
    assert requests.get(url, params=token_params("nope", APP_KEY)).json()["ret_code"] == "900004"


def test_the_token_is_fetched_once_and_reused_across_writes_and_instances(make_sobot, sobot_router):
    payload = sobot_router.sandbox.sample_payload("tickets")
    first = make_sobot()
    first.write("tickets", payload, idempotency_key="k1")
    first.write("tickets", payload, idempotency_key="k2")
    make_sobot().write("tickets", payload, idempotency_key="k3")
    assert calls(sobot_router, "/api/get_token") == 1
    assert calls(sobot_router, "/api/ws/5/ticket/save_user_ticket") == 3


def test_the_token_is_shared_through_redis_until_shortly_before_expiry(make_sobot, sobot_router, redis_conn):
    payload = sobot_router.sandbox.sample_payload("tickets")
    make_sobot(cache=redis_conn).write("tickets", payload, idempotency_key="k1")
    make_sobot(cache=redis_conn).write("tickets", payload, idempotency_key="k2")
    assert calls(sobot_router, "/api/get_token") == 1
    [key] = redis_conn.keys("hub:sobot:token:*")
    assert 0 < redis_conn.ttl(key) <= 86400 - 300


def test_an_expired_token_is_refetched_and_the_call_retried_once(make_sobot, sobot_router):
    sandbox, connector = sobot_router.sandbox, make_sobot()
    payload = sandbox.sample_payload("tickets")
    connector.write("tickets", payload, idempotency_key="k1")
    sandbox.expire_tokens()  # Sobot answers 900002 "token已失效，请重新获取"
    result = connector.write("tickets", payload, idempotency_key="k2")
    assert result.created and len(sandbox.effects("tickets")) == 2
    assert calls(sobot_router, "/api/get_token") == 2
    assert calls(sobot_router, "/api/ws/5/ticket/save_user_ticket") == 3


def test_a_token_refused_twice_is_transient(make_sobot, sobot_router):
    sobot_router.sandbox.fail_next(ret_code="900002", times=2)
    with pytest.raises(TransientError) as info:
        make_sobot().write("tickets", sobot_router.sandbox.sample_payload("tickets"), idempotency_key="k1")
    assert info.value.code == "900002" and calls(sobot_router, "/api/get_token") == 2


# -- tickets --------------------------------------------------------------------------------
def test_the_mapped_contact_opens_a_ticket_through_save_user_ticket(make_sobot, sobot_router):
    """The body is save_user_ticket's (taadis/zhichi SaveUserTicketRequest: companyid,
    ticket_title, ticket_content, user_tels, ticket_typeid, ticket_from, first_contact_*),
    POSTed to /api/ws/5/ticket/save_user_ticket with the token header; the answer's
    item.ticketid (homeauto-v3 SobotSaveUserTicketResponseItemDTO) is the ticket id. The old
    legacy addCustomerTicket call is not served by the 5.0 sandbox."""
    view = canonical_view(42, {"name": "王小明", "stage": "意向"}, {"phone": ["+8613812345678"]})
    payload = load_mapping(MAPPING).apply(view)
    result = make_sobot().write("tickets", payload, idempotency_key="crm:tickets:42:abc")
    (effect,) = sobot_router.sandbox.effects("tickets")
    assert result.created and result.native_id == effect["ticketid"]
    assert effect["data"] == {
        "companyid": COMPANY_ID, "ticket_title": "跟进客户：王小明",
        "ticket_content": "客户 王小明（意向）需要跟进。\n\n[huiliu:crm:tickets:42:abc]",
        "ticket_typeid": TICKET_TYPEID, "ticket_from": TICKET_FROM, "user_tels": "13812345678",
        "first_contact_type": 2, "first_contact_info": "13812345678"}
    ticket = sobot_router.sandbox.tickets[result.native_id]
    assert ticket["userid"] == sobot_router.sandbox.customers[0]["id"]  # the existing 王小明, found by mobile
    assert calls(sobot_router, SAVE) == 1


def test_an_email_only_contact_is_filed_by_email_and_the_payload_may_pick_the_category(make_sobot, sobot_router):
    payload = {"ticket_title": "企微新好友咨询", "user_email": "lijing@example.cn", "ticket_from": "1"}
    make_sobot(first_contact_type=1).write("tickets", payload, idempotency_key="k1")
    sent = sobot_router.sandbox.effects("tickets")[0]["data"]
    assert (sent["user_email"], sent["first_contact_type"], sent["ticket_from"]) == ("lijing@example.cn", 1, "1")
    assert "user_tels" not in sent and sent["ticket_typeid"] == TICKET_TYPEID
    assert sent["ticket_content"].startswith("企微新好友咨询")  # the title stands in for missing content


def test_sobot_refuses_a_ticket_without_its_required_category(make_sobot, sobot_router):
    """ticket_typeid is required ("工单分类ID，叶子节点的分类ID"): a wrong one is refused permanently."""
    with pytest.raises(PermanentError) as info:
        make_sobot(ticket_typeid="not-a-leaf").write("tickets", sobot_router.sandbox.sample_payload("tickets"),
                                                    idempotency_key="k1")
    assert info.value.code == PARAM_ERROR and "ticket_typeid" in info.value.message


@pytest.mark.parametrize("missing", ["ticket_typeid", "ticket_from"])
def test_the_config_requires_the_category_and_source(sobot_router, missing):
    from marshmallow import ValidationError
    from connectors.ticketing.sobot.connector import SobotConnector
    raw = sobot_router.sandbox.config_for(sobot_router.base_url)
    del raw[missing]
    with pytest.raises(ValidationError, match=missing):
        SobotConnector.validate_config(raw)


def test_the_5_0_api_reads_the_token_header_only(sobot_router):
    """Open Platform 5.0 takes the token in the ``token`` header (taadis/zhichi http_client.go)."""
    url = sobot_router.base_url
    token = requests.get(url + "/api/get_token", params=token_params(APPID, APP_KEY)).json()["item"]["token"]
    body = {"companyid": COMPANY_ID, "ticket_title": "t", "ticket_content": "c", "ticket_typeid": TICKET_TYPEID,
            "ticket_from": "0", "user_tels": "13812345678", "access_token": token}
    assert requests.post(url + SAVE, json=body).json()["ret_code"] == "900001"
    answer = requests.post(url + SAVE, json=body, headers={"token": token}).json()
    assert answer["ret_code"] == "000000" and len(answer["item"]["ticketid"]) == 32


def test_the_same_key_twice_opens_one_ticket_even_across_instances(make_sobot, sobot_router):
    state, payload = DictState(), sobot_router.sandbox.sample_payload("tickets")
    first = make_sobot(state=state).write("tickets", payload, idempotency_key="evt-1")
    again = make_sobot(state=state).write("tickets", payload, idempotency_key="evt-1")
    assert first.native_id == again.native_id and not again.created
    assert len(sobot_router.sandbox.effects("tickets")) == 1
    # The one gap (answer lost, state not saved) would leave a duplicate an agent can find:
    assert [t["ticketid"] for t in sobot_router.sandbox.find_tickets("[huiliu:evt-1]")] == [first.native_id]


def test_a_write_for_an_existing_ticket_opens_a_new_one(make_sobot, sobot_router):
    connector, payload = make_sobot(), sobot_router.sandbox.sample_payload("tickets")
    first = connector.write("tickets", payload, idempotency_key="k1")
    second = connector.write("tickets", payload, idempotency_key="k2", native_id=first.native_id)
    assert second.created and second.native_id != first.native_id


@pytest.mark.parametrize("payload, problem", [
    ({"ticket_title": "无联系方式"}, "user_tels or user_email"),
    ({"user_tels": "13812345678"}, "ticket_title"),
    ({"ticket_title": "x", "user_tels": "13812345678", "ticket_from": "微信"}, "ticket_from"),
])
def test_unusable_payloads_are_permanent_without_a_call(make_sobot, sobot_router, payload, problem):
    with pytest.raises(PermanentError, match=problem):
        make_sobot().write("tickets", payload, idempotency_key="k1")
    assert calls(sobot_router, "/api/ws/5/ticket/save_user_ticket") == 0


def test_long_text_is_cut_to_sobots_limits_keeping_the_marker(make_sobot, sobot_router):
    payload = {"ticket_title": "标" * 400, "ticket_content": "内容" * 2000, "user_tels": "13812345678"}
    make_sobot().write("tickets", payload, idempotency_key="k-long")
    sent = sobot_router.sandbox.effects("tickets")[0]["data"]
    assert len(sent["ticket_title"]) == 300 and len(sent["ticket_content"]) == 3000
    assert sent["ticket_content"].endswith("[huiliu:k-long]")


# -- errors ---------------------------------------------------------------------------------
def test_a_wrong_app_key_fails_check_naming_the_problem(make_sobot):
    make_sobot().check()
    with pytest.raises(CheckFailed) as info:
        make_sobot(app_key="definitely-wrong-app-key").check()
    text = str(info.value)
    assert "900003" in text and "app_key" in text and "definitely-wrong-app-key" not in text


def test_an_unknown_appid_fails_check_naming_the_problem(make_sobot):
    with pytest.raises(CheckFailed) as info:
        make_sobot(appid="0" * 32).check()
    assert info.value.code == "900004" and "appid" in str(info.value)


def test_throttling_is_rate_limited(make_sobot, sobot_router):
    sobot_router.sandbox.rate_limit_per_minute = 1
    connector, payload = make_sobot(), sobot_router.sandbox.sample_payload("tickets")
    connector.write("tickets", payload, idempotency_key="k1")
    with pytest.raises(RateLimitedError) as info:
        connector.write("tickets", payload, idempotency_key="k2")
    assert info.value.retry_after == 60 and info.value.code == 429


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_and_open_nothing(make_sobot, sobot_router, status):
    sobot_router.sandbox.fail_next(status)
    with pytest.raises(TransientError) as info:
        make_sobot().write("tickets", sobot_router.sandbox.sample_payload("tickets"), idempotency_key="k1")
    assert not isinstance(info.value, RateLimitedError) and info.value.code == status
    assert sobot_router.sandbox.effects("tickets") == []


def test_a_refused_ticket_is_permanent_with_sobots_code_and_message(make_sobot, sobot_router):
    with pytest.raises(PermanentError) as info:
        make_sobot(company_id="not-our-company").write("tickets", sobot_router.sandbox.sample_payload("tickets"),
                                                     idempotency_key="k1")
    assert info.value.code == PARAM_ERROR and "companyid" in info.value.message


def test_an_unknown_system_error_is_transient(make_sobot, sobot_router):
    sobot_router.sandbox.fail_next(ret_code="999999")
    with pytest.raises(TransientError):
        make_sobot().write("tickets", sobot_router.sandbox.sample_payload("tickets"), idempotency_key="k1")


def test_secrets_never_reach_logs_or_errors(make_sobot, sobot_router, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox, payload = sobot_router.sandbox, sobot_router.sandbox.sample_payload("tickets")
    connector = make_sobot()
    connector.write("tickets", payload, idempotency_key="k1")
    sandbox.fail_next(ret_code="900002", times=2)
    errors = []
    for attempt in (lambda: connector.write("tickets", payload, idempotency_key="k2"),
                    lambda: make_sobot(app_key=APP_KEY + "-rotated").check()):
        with pytest.raises(Exception) as info:
            attempt()
        errors.append(f"{info.value!r} {info.value.__cause__!r} {info.value.__context__!r}")
        logging.getLogger("hub.test").error("write failed", exc_info=info.value)
    text = caplog.text + " ".join(errors)
    assert sandbox.tokens and all(token not in text for token in sandbox.tokens)
    assert APP_KEY not in text
