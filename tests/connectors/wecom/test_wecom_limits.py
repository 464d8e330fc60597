"""WeCom 45009: a minute block is a 60 s retry, an hour block pauses the instance.

WeCom's published limits (主动调用频率限制, doc 90454 as of 2023, see docs/connectors/wecom.md):
per corp per API 10,000 calls a minute and 150,000 an hour; going over blocks that API for
60 s (minute) or 60 min (hour), both answering ``{"errcode": 45009, "errmsg": "api freq out
of limit"}``. On the old code every 45009 was a 60 s retry, so an hour block used up a
write's attempts in about ten minutes.
"""

from __future__ import annotations

import time

import pytest

from hub.connector import RateLimitedError

from connectors.wecom import limits
from connectors.wecom.config import DEFAULT_PER_HOUR, DEFAULT_PER_MINUTE

API = "externalcontact/get_follow_user_list"


def blocked_since(connector, redis_conn, seconds_ago: float) -> None:
    """WeCom first answered 45009 on ``API`` that long ago (what the client recorded then)."""
    redis_conn.set(f"hub:wecom:block:{connector.client.corp_id}:{API}", repr(time.time() - seconds_ago))


def test_the_documented_limits_are_the_defaults_and_configurable(make_connector):
    assert (DEFAULT_PER_MINUTE, DEFAULT_PER_HOUR) == (10_000, 150_000)
    assert make_connector(rate_limit_per_minute=2000, rate_limit_per_hour=30000).client.limits == {60: 2000, 3600: 30000}


def test_a_first_45009_is_a_minute_block(make_connector, sandbox, redis_conn):
    connector = make_connector(cache=redis_conn)
    sandbox.fail_next("45009")
    with pytest.raises(RateLimitedError) as info:
        connector.client.get(API)
    assert info.value.retry_after == 60 and not info.value.paused and info.value.code == 45009


def test_45009_still_after_a_minute_block_would_have_lifted_is_an_hour_block(make_connector, sandbox, redis_conn):
    connector = make_connector(cache=redis_conn)
    blocked_since(connector, redis_conn, 120)
    sandbox.fail_next("45009")
    with pytest.raises(RateLimitedError) as info:
        connector.client.get(API)
    assert info.value.paused and info.value.code == 45009
    assert 3400 <= info.value.retry_after <= 3480  # an hour after the first 45009
    assert "hour-level" in info.value.message


def test_the_block_record_is_shared_by_workers_and_cleared_by_a_success(make_connector, sandbox, redis_conn):
    one, other = make_connector(cache=redis_conn), make_connector(cache=redis_conn)
    sandbox.fail_next("45009")
    with pytest.raises(RateLimitedError):
        one.client.get(API)
    assert redis_conn.get(f"hub:wecom:block:{one.client.corp_id}:{API}") is not None
    one.client.get(API)  # the minute block lifted
    assert redis_conn.get(f"hub:wecom:block:{one.client.corp_id}:{API}") is None
    blocked_since(other, redis_conn, 90)
    sandbox.fail_next("45009")
    with pytest.raises(RateLimitedError) as info:
        one.client.get(API)  # another worker recorded the block 90 s ago
    assert info.value.paused


def test_the_local_hour_limit_pauses_instead_of_burning_attempts(make_connector, router):
    connector = make_connector(rate_limit_per_hour=2)
    connector.client.get(API)
    connector.client.get(API)
    served = len(router.calls)
    with pytest.raises(RateLimitedError) as info:
        connector.client.get(API)
    assert info.value.paused and 0 < info.value.retry_after <= 3600
    assert len(router.calls) == served


def test_the_local_minute_limit_stays_a_retry(make_connector):
    connector = make_connector(rate_limit_per_minute=1)
    connector.client.get(API)
    with pytest.raises(RateLimitedError) as info:
        connector.client.get(API)
    assert not info.value.paused


def test_45033_concurrency_is_a_short_retry(make_connector, sandbox, redis_conn):
    sandbox.fail_next("45033")
    with pytest.raises(RateLimitedError) as info:
        make_connector(cache=redis_conn).client.get(API)
    assert info.value.retry_after == 1.0 and not info.value.paused


def test_a_stale_block_record_starts_a_new_run(make_connector, sandbox, redis_conn):
    connector = make_connector(cache=redis_conn)
    blocked_since(connector, redis_conn, limits.HOUR_BLOCK + 300)
    sandbox.fail_next("45009")
    with pytest.raises(RateLimitedError) as info:
        connector.client.get(API)
    assert not info.value.paused and info.value.retry_after == 60
