"""Marketing API OAuth: the refresh token rotates, the newest is persisted at once and used
by every later connector object; rejected access tokens are refreshed once."""

from __future__ import annotations

import pytest

from hub.connector import CheckFailed, DictState, PermanentError, RateLimitedError
from hub.testing import read_all

from connectors.feiyu.sandbox import APP_SECRET, INITIAL_REFRESH_TOKEN


def test_refresh_token_rotation_is_persisted_and_used_by_a_fresh_connector(marketing, make_connector):
    sandbox, config = marketing
    state = DictState()
    sandbox.add_records("leads", 3)

    first = make_connector(config, state)
    read_all(first, "leads")  # refresh #1 with the configured token
    assert sandbox.refresh_requests == [INITIAL_REFRESH_TOKEN]
    rotated_once = state["refresh_token"]
    assert rotated_once == sandbox.refresh_token != INITIAL_REFRESH_TOKEN

    sandbox.expire_access_tokens()
    read_all(first, "leads")  # 40102 → refresh #2, which must spend the first's new token
    assert sandbox.refresh_requests == [INITIAL_REFRESH_TOKEN, rotated_once]
    rotated_twice = state["refresh_token"]
    assert rotated_twice == sandbox.refresh_token not in (INITIAL_REFRESH_TOKEN, rotated_once)

    sandbox.expire_access_tokens()
    fresh = make_connector(config, state)  # same durable state, new object
    records, _ = read_all(fresh, "leads")
    assert len(records) == 3
    assert sandbox.refresh_requests[-1] == rotated_twice
    assert state["refresh_token"] == sandbox.refresh_token


def test_the_old_refresh_token_is_dead_after_use(marketing, make_connector):
    sandbox, config = marketing
    make_connector(config).check()  # rotates away from the configured token
    # A connector that lost the rotated token (empty state) can only present the old one.
    with pytest.raises(CheckFailed) as info:
        make_connector(config).check()
    assert "40107" in str(info.value)


def test_a_new_configured_refresh_token_beats_an_older_rotated_one(marketing, make_connector):
    sandbox, config = marketing
    state = DictState()
    make_connector(config, state).check()
    stale_rotated = state["refresh_token"]
    # The operator re-authorises: the sandbox's current token is pasted into the config.
    sandbox.refresh_token = "reauthorised-refresh-token"
    make_connector(config, state, refresh_token="reauthorised-refresh-token").check()
    assert sandbox.refresh_requests[-1] == "reauthorised-refresh-token"
    assert state["refresh_token"] not in (stale_rotated, "reauthorised-refresh-token")


def test_the_access_token_is_cached_between_calls(marketing, make_connector):
    sandbox, config = marketing
    sandbox.add_records("leads", 2)
    state = DictState()
    read_all(make_connector(config, state), "leads")
    read_all(make_connector(config, state), "leads")
    assert len(sandbox.refresh_requests) == 1


def test_access_token_cached_in_redis_and_refreshes_serialised(marketing, make_connector, redis_conn):
    sandbox, config = marketing
    sandbox.add_records("leads", 2)
    state = DictState()
    read_all(make_connector(config, state, cache=redis_conn), "leads")
    assert redis_conn.get("feiyu:feiyu_test:access_token")
    assert "access_token" not in state  # Redis holds it, not the durable state
    read_all(make_connector(config, state, cache=redis_conn), "leads")
    assert len(sandbox.refresh_requests) == 1
    sandbox.expire_access_tokens()
    read_all(make_connector(config, state, cache=redis_conn), "leads")
    assert len(sandbox.refresh_requests) == 2
    assert state["refresh_token"] == sandbox.refresh_token


def test_a_persistently_rejected_access_token_is_refreshed_only_once(marketing, make_connector):
    sandbox, config = marketing
    connector = make_connector(config)
    connector.check()
    sandbox.access_ttl = 0  # every token the sandbox issues from now on is born expired
    sandbox.expire_access_tokens()
    with pytest.raises(PermanentError) as info:
        list(connector.stream("leads").read(None))
    assert info.value.code == 40102
    assert len(sandbox.refresh_requests) == 2  # the check's, and exactly one retry


def test_frequency_limit_is_rate_limited(marketing, make_connector):
    sandbox, config = marketing
    connector = make_connector(config)
    connector.check()
    sandbox.throttle_next(1)
    with pytest.raises(RateLimitedError) as info:
        list(connector.stream("leads").read(None))
    assert info.value.code == 40100 and info.value.retry_after


def test_wrong_app_secret_fails_check_without_echoing_it(marketing, make_connector):
    _sandbox, config = marketing
    connector = make_connector(config, secret="definitely-wrong-secret")
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "definitely-wrong-secret" not in str(info.value)
    assert APP_SECRET not in str(info.value)
    assert "re-authorise" in str(info.value)


def test_sandbox_enforces_the_page_size_limit(marketing):
    import requests

    sandbox, config = marketing
    token = sandbox._issue_tokens()["access_token"]
    params = {"advertiser_ids": "[1760000000000001]", "start_time": "2026-01-01", "end_time": "2026-01-02", "page_size": 101}
    answer = requests.get(config["marketing_base_url"] + "/open_api/2/tools/clue/get/", params=params,
                          headers={"Access-Token": token}).json()
    assert answer["code"] == 40001
    params["page_size"] = 100
    answer = requests.get(config["marketing_base_url"] + "/open_api/2/tools/clue/get/", params=params,
                          headers={"Access-Token": token}).json()
    assert answer["code"] == 0 and answer["data"]["page_info"]["total_number"] == 0


# -- the refresh token expires after ~30 days (issue 16) -------------------------------------
# Ocean Engine's refresh answer carries refresh_token_expires_in (bububa/oceanengine
# marketing-api/model/oauth/access_token.go AccessTokenResponseData: access_token,
# refresh_token, expires_in, refresh_token_expires_in — about 30 days). The old connector renewed the refresh token
# only when an access token was needed, so a quiet instance let it lapse unnoticed.

def test_a_refresh_token_close_to_expiry_is_renewed_before_the_access_token_runs_out(marketing, make_connector):
    import time

    sandbox, config = marketing
    state = DictState()
    connector = make_connector(config, state)
    sandbox.add_records("leads", 1)
    read_all(connector, "leads")
    assert len(sandbox.refresh_requests) == 1
    # 26 days pass: the access token is still cached, the refresh token has 4 days left.
    sandbox.age_refresh_token(26)
    state["refresh_token_expires_at"] -= 26 * 86400
    read_all(connector, "leads")
    assert len(sandbox.refresh_requests) == 2  # renewed early, without any 4010x first
    assert state["refresh_token_expires_at"] > time.time() + 29 * 86400


def test_while_renewal_fails_the_connector_warns_and_keeps_working(marketing, make_connector):
    from hub.connector.notices import notice_of

    sandbox, config = marketing
    state = DictState()
    connector = make_connector(config, state)
    sandbox.add_records("leads", 2)
    read_all(connector, "leads")
    sandbox.age_refresh_token(27)
    state["refresh_token_expires_at"] -= 27 * 86400
    sandbox.fail_refresh(times=1)
    records, _ = read_all(connector, "leads")  # renewal fails: the access token still works
    assert len(records) == 2
    notice = notice_of(state)
    assert notice and "refresh-token renewal is failing" in notice["message"] and "50000" in notice["message"]
    assert APP_SECRET not in notice["message"]
    read_all(connector, "leads")  # renewal succeeds: the warning goes away
    assert notice_of(state) is None


def test_a_config_refresh_token_of_unknown_age_is_dated_from_when_it_was_first_seen(marketing, make_connector):
    import time

    sandbox, config = marketing
    state = DictState()
    manager = make_connector(config, state).api().tokens
    first = manager.refresh_token_expires_at()
    assert abs(first - (time.time() + 30 * 86400)) < 5
    assert manager.refresh_token_expires_at() == first  # stable, not re-dated on every look
