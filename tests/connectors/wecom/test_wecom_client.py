"""The WeCom client: token caching and refresh, errcodes, limits, and no leaked secrets."""

from __future__ import annotations

import threading

import pytest

from hub.connector import CheckFailed, PermanentError, RateLimitedError, TransientError


def gettoken_calls(router) -> int:
    return sum(1 for _m, path in router.calls if path.endswith("/cgi-bin/gettoken"))


def test_token_is_cached_in_redis_across_instances(make_connector, router, redis_conn):
    make_connector(cache=redis_conn).client.get("externalcontact/get_follow_user_list")
    make_connector(cache=redis_conn).client.get("externalcontact/get_follow_user_list")
    assert gettoken_calls(router) == 1
    [key] = [k for k in redis_conn.keys("hub:wecom:token:*")]
    assert 0 < redis_conn.ttl(key) <= 7200 - 300


def test_token_falls_back_to_the_process_without_redis(make_connector, router):
    make_connector().client.get("externalcontact/get_follow_user_list")
    make_connector().client.get("externalcontact/get_follow_user_list")
    assert gettoken_calls(router) == 1


def test_one_worker_fetches_the_token_at_a_time(make_connector, router, redis_conn):
    connectors = [make_connector(cache=redis_conn) for _ in range(6)]
    barrier = threading.Barrier(len(connectors))
    tokens, errors = [], []

    def work(c):
        barrier.wait()
        try:
            tokens.append(c.client.token())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in connectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gettoken_calls(router) == 1 and len(set(tokens)) == 1


@pytest.mark.parametrize("code", ["42001", "40014", "40001"])
def test_an_invalid_token_is_refetched_and_the_call_retried_once(connector, sandbox, router, code):
    connector.client.get("externalcontact/get_follow_user_list")
    sandbox.fail_next(code)
    assert connector.client.get("externalcontact/get_follow_user_list")["follow_user"]
    assert gettoken_calls(router) == 2


def test_a_token_refused_twice_is_transient(connector, sandbox):
    sandbox.fail_next("40014", times=2)
    with pytest.raises(TransientError) as info:
        connector.client.get("externalcontact/get_follow_user_list")
    assert info.value.code == 40014


@pytest.mark.parametrize("code,retry_after", [("45009", 60.0), ("45033", 1.0)])
def test_frequency_errors_are_rate_limited(connector, sandbox, code, retry_after):
    sandbox.fail_next(code)
    with pytest.raises(RateLimitedError) as info:
        connector.client.get("externalcontact/get_follow_user_list")
    assert info.value.code == int(code) and info.value.retry_after == retry_after


def test_system_busy_is_transient_and_other_errors_permanent(connector, sandbox):
    sandbox.fail_next("-1")
    with pytest.raises(TransientError) as info:
        connector.client.get("externalcontact/get_follow_user_list")
    assert not isinstance(info.value, RateLimitedError)
    with pytest.raises(PermanentError) as info:
        connector.client.post("externalcontact/mark_tag", {"userid": "nobody", "external_userid": "wmNONE"})
    assert info.value.code == 84061


def test_secrets_never_appear_in_errors(connector, sandbox):
    token = connector.client.token()
    sandbox.fail_next("40058")
    with pytest.raises(PermanentError) as info:
        connector.client.get("externalcontact/get_follow_user_list")
    text = str(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
    assert token not in text and sandbox.secret not in text


def test_configured_limits_are_enforced_before_wecom_blocks_the_corp(make_connector, router):
    connector = make_connector(rate_limit_per_minute=3)
    for _ in range(3):
        connector.client.get("externalcontact/get_follow_user_list")
    served = len(router.calls)
    with pytest.raises(RateLimitedError) as info:
        connector.client.get("externalcontact/get_follow_user_list")
    assert 0 < info.value.retry_after <= 60
    assert len(router.calls) == served  # refused locally, WeCom never saw it
    connector.client.post("externalcontact/get_corp_tag_list", {})  # limits are per API


def test_configured_limits_are_declared(make_connector):
    connector = make_connector(rate_limit_per_minute=2000, rate_limit_per_hour=30000)
    assert [(l.calls, l.per_seconds) for l in connector.rate_limits] == [(2000, 60), (30000, 3600)]


def test_check_passes_and_reports_a_bad_secret_cleanly(make_connector):
    make_connector().check()
    with pytest.raises(CheckFailed) as info:
        make_connector(secret="definitely-not-the-secret").check()
    assert "definitely-not-the-secret" not in str(info.value) and info.value.code == 40001


def test_check_rejects_a_malformed_encoding_aes_key(make_connector):
    with pytest.raises(CheckFailed) as info:
        make_connector(encoding_aes_key="short-key").check()
    assert "short-key" not in str(info.value)
