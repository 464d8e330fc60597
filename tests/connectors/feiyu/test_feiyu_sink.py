"""Lead status write-back through both callback APIs, once per idempotency key."""

from __future__ import annotations

import pytest

from hub.connector import DictState, PermanentError


@pytest.fixture(params=["marketing", "crm"])
def api(request):
    return request.getfixturevalue(request.param)


def test_status_reaches_the_right_callback_once_per_key(api, make_connector):
    sandbox, config = api
    payload = sandbox.sample_payload("clue_status")
    state = DictState()
    result = make_connector(config, state).write("clue_status", payload, idempotency_key="outbox:1")
    assert result.native_id == payload["clue_id"]
    assert sandbox.effects("clue_status") == [{**payload, "api": config["api"]}]
    # The same key again — even from a fresh connector object over the same state — is not re-sent.
    make_connector(config, state).write("clue_status", payload, idempotency_key="outbox:1")
    assert len(sandbox.effects("clue_status")) == 1


def test_marketing_callback_needs_the_advertiser(marketing, make_connector):
    sandbox, config = marketing
    payload = {**sandbox.sample_payload("clue_status"), "advertiser_id": None}
    with pytest.raises(PermanentError):
        make_connector(config).write("clue_status", payload, idempotency_key="k")
    assert sandbox.effects("clue_status") == []


@pytest.mark.parametrize("bad", [{"clue_convert_state": "soon"}, {"clue_id": None}, {"clue_convert_state": 3}])
def test_bad_payloads_are_permanent_errors_and_not_remembered(marketing, make_connector, bad):
    sandbox, config = marketing
    payload = {**sandbox.sample_payload("clue_status"), **bad}
    state = DictState()
    with pytest.raises(PermanentError):
        make_connector(config, state).write("clue_status", payload, idempotency_key="k")
    assert sandbox.effects("clue_status") == []
    assert "k" not in (state.get("clue_status_sent") or {})


def test_legacy_states_are_validated_by_the_crm_api(crm, make_connector):
    sandbox, config = crm
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": 77}
    with pytest.raises(PermanentError) as info:
        make_connector(config).write("clue_status", payload, idempotency_key="k")
    assert "legacy CRM API takes states 1–4" in str(info.value)


@pytest.mark.parametrize("marketing_state, crm_state", [(194, 2), (196, 3), (285, 4), (10000, 1)])
def test_the_shipped_marketing_states_reach_the_crm_api_as_its_nearest_state(crm, make_connector, marketing_state, crm_state):
    """One shipped mapping serves both APIs: the legacy CRM API (states 1–4) gets the
    nearest of its own states for a Marketing API state."""
    sandbox, config = crm
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": marketing_state, "reason_code": "OTHER"}
    result = make_connector(config).write("clue_status", payload, idempotency_key=f"k{marketing_state}")
    assert result.data["clue_convert_state"] == crm_state
    assert sandbox.effects("clue_status")[-1]["clue_convert_state"] == crm_state


# -- invalid leads say why (issue 16) -------------------------------------------------------
# Ocean Engine's official SDK (oceanengine/ad_open_sdk_go,
# models/model_tools_clue_callback_v2_request_event_data.go and ..._event_data_reason_code.go):
# the callback body carries event_data{deal_sub_amount, reason_code, reason_message}, and the
# 无效线索 state 10000 is refused without a reason_code. The old sink never sent event_data.

def test_an_invalid_lead_is_written_back_with_a_reason_code(marketing, make_connector):
    sandbox, config = marketing
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": 10000,
               "reason_code": "INVALID_NUMBER", "reason_message": "空号"}
    result = make_connector(config).write("clue_status", payload, idempotency_key="k-invalid")
    (effect,) = sandbox.effects("clue_status")
    assert effect["clue_convert_state"] == 10000
    assert effect["event_data"] == {"reason_code": "INVALID_NUMBER", "reason_message": "空号"}
    assert result.data["event_data"]["reason_code"] == "INVALID_NUMBER"


def test_an_invalid_lead_without_a_known_reason_is_sent_as_other(marketing, make_connector):
    sandbox, config = marketing
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": 10000}
    make_connector(config).write("clue_status", payload, idempotency_key="k-other")
    assert sandbox.effects("clue_status")[0]["event_data"] == {"reason_code": "OTHER"}


def test_the_sandbox_refuses_an_invalid_lead_without_a_reason_like_ocean_engine(marketing, make_connector):
    sandbox, config = marketing
    connector = make_connector(config)
    lead = sandbox.sample_payload("clue_status")
    with pytest.raises(PermanentError) as info:
        connector.api().callback(lead["clue_id"], lead["advertiser_id"], 10000)
    assert "reason_code" in str(info.value) and sandbox.effects("clue_status") == []


def test_an_unknown_reason_code_is_refused_before_calling(marketing, make_connector):
    sandbox, config = marketing
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": 10000, "reason_code": "BAD_LEAD"}
    with pytest.raises(PermanentError, match="reason_code"):
        make_connector(config).write("clue_status", payload, idempotency_key="k")
    assert sandbox.effects("clue_status") == []


def test_the_shipped_mapping_maps_the_crm_reason(marketing, make_connector):
    from pathlib import Path

    from hub.mapping import load_mapping

    sandbox, config = marketing
    lead = sandbox.sample_payload("clue_status")
    mapping = load_mapping(Path(__file__).resolve().parents[3] / "mappings" / "feiyu.clue_status.out.yaml")
    view = {"contact_id": 1, "identities": {}, "tags": [], "native_id": None, "changed": ["stage"],
            "attributes": {"stage": "无效", "invalid_reason": "三次未接通", "feiyu_clue_id": lead["clue_id"],
                           "feiyu_advertiser_id": lead["advertiser_id"]}}
    payload = mapping.apply(view)
    assert payload["reason_code"] == "CALL_THREE_TIMES_NO_RESPONSE"
    make_connector(config).write("clue_status", payload, idempotency_key="m-1")
    assert sandbox.effects("clue_status")[-1]["event_data"]["reason_code"] == "CALL_THREE_TIMES_NO_RESPONSE"
    view["attributes"]["invalid_reason"] = "客户说打错了"
    assert mapping.apply(view)["reason_code"] == "OTHER"
