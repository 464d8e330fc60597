"""A token bucket in Redis, shared by every worker, per connector instance.

A connector declares provider limits (``RateLimit(calls, per_seconds)``); all workers
writing to one instance draw from the same bucket, so ten workers together stay under the
provider's limit instead of each staying under it alone. The bucket lives in one Redis hash
and is updated by a Lua script, atomically, using the Redis server's clock (workers' clocks
may disagree).
"""

from __future__ import annotations

from typing import Iterable

import redis

# KEYS[1] bucket key; ARGV: capacity, refill per second, tokens wanted.
# Returns {granted (0/1), seconds to wait (string)}.
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + (now - ts) * rate)
local granted = 0
local wait = 0
if tokens >= wanted then
  tokens = tokens - wanted
  granted = 1
else
  wait = (wanted - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {granted, tostring(wait)}
"""


class TokenBucket:
    """``acquire()`` returns 0.0 when a call may go now, else the seconds to wait."""

    def __init__(self, conn: redis.Redis, key: str, *, calls: int, per_seconds: float):
        if calls < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs calls >= 1 and per_seconds > 0")
        self.conn = conn
        self.key = f"hub:bucket:{key}"
        self.capacity = calls
        self.rate = calls / per_seconds
        self._script = conn.register_script(_SCRIPT)

    def acquire(self, tokens: int = 1) -> float:
        granted, wait = self._script(keys=[self.key], args=[self.capacity, self.rate, tokens])
        return 0.0 if int(granted) else float(wait)


def acquire_all(conn: redis.Redis, instance: str, limits: Iterable, scope: str = "write") -> float:
    """Draw one token from each of ``instance``'s limits in ``scope`` (or scope ``all``); the longest wait
    (0.0 = go). A denied bucket keeps no token, so waiting and retrying is fair."""
    wait = 0.0
    for index, limit in enumerate(limits):
        if getattr(limit, "scope", "write") not in (scope, "all"):
            continue
        bucket = TokenBucket(conn, f"{instance}:{scope}:{index}", calls=limit.calls, per_seconds=limit.per_seconds)
        wait = max(wait, bucket.acquire())
    return wait
