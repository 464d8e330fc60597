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
    payload = {**sandbox.sample_payload("clue_status"), "clue_convert_state": 194}
    with pytest.raises(PermanentError) as info:
        make_connector(config).write("clue_status", payload, idempotency_key="k")
    assert "clue_convert_state" in str(info.value)
