"""WeCom's frequency blocks (45009) told apart: a minute block or an hour block.

WeCom limits each API per corp to 10,000 calls a minute and 150,000 an hour (older corps:
2,000 / 30,000 — configurable as ``rate_limit_per_minute`` / ``rate_limit_per_hour``). Going
over the minute limit blocks that API for 60 s; going over the hour limit blocks it for the
rest of the hour (60 min). Both answer the same ``45009 api freq out of limit``, so the
client tells them apart by what it knows:

* its own count of calls to that API this hour (shared through Redis) reached the hour
  limit → an hour block;
* a 45009 for an API that already answered 45009 more than a minute block ago (and has not
  answered a success since) → the minute block would have lifted: an hour block, lasting
  until an hour after the first 45009.

An hour block raises ``RateLimitedError(paused=True)``: delivery holds the instance's writes
until it lifts, without using up their attempts (:mod:`hub.pipeline.pauses`). A minute block
stays an ordinary 60 s retry. The record of a block is kept per (corp, API) in the
connector's cache (Redis when the hub has it, else the process) and cleared by the next
success this process sees while it knows of a block.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from hub.connector import RateLimitedError

if TYPE_CHECKING:
    from connectors.wecom.client import WeComClient

FREQUENCY = 45009
MINUTE_BLOCK = 60.0
HOUR_BLOCK = 3600.0
#: A 45009 this long after the first one cannot be the same minute block.
GRACE = 10.0

_local: dict[str, float] = {}
_guard = threading.Lock()


def _key(client: "WeComClient", path: str) -> str:
    return f"hub:wecom:block:{client.corp_id}:{path}"


def _first_block(client: "WeComClient", path: str, now: float) -> float:
    """When the current run of 45009s for ``path`` began (recording ``now`` if none)."""
    key, cache = _key(client, path), client.connector.cache
    if cache is not None:
        cache.set(key, repr(now), nx=True, ex=int(HOUR_BLOCK + 60))
        value = cache.get(key)
        first = float(value) if value is not None else now
    else:
        with _guard:
            first = _local.setdefault(key, now)
    if now - first > HOUR_BLOCK:  # a stale record: this is a new run
        forget(client, path)
        return _first_block(client, path, now)
    client.known_blocks.add(path)
    return first


def forget(client: "WeComClient", path: str) -> None:
    """``path`` answered a success: no block is running."""
    key, cache = _key(client, path), client.connector.cache
    if cache is not None:
        cache.delete(key)
    with _guard:
        _local.pop(key, None)
    client.known_blocks.discard(path)


def frequency_error(client: "WeComClient", path: str, message: str, hour_calls: int | None) -> RateLimitedError:
    """The error for a 45009 on ``path``: an hour block pauses, a minute block retries."""
    now = time.time()
    first = _first_block(client, path, now)
    hour_limit = client.limits[3600]
    if hour_calls is not None and hour_calls >= hour_limit:
        wait = HOUR_BLOCK - now % HOUR_BLOCK  # our own count says the hour's quota is gone
        return RateLimitedError(f"{message} (hour limit {hour_limit} reached: paused)", retry_after=max(wait, MINUTE_BLOCK),
                                code=FREQUENCY, paused=True)
    if now - first >= MINUTE_BLOCK + GRACE:
        wait = first + HOUR_BLOCK - now
        return RateLimitedError(f"{message} (still blocked after a minute: hour-level block, paused)",
                                retry_after=max(wait, MINUTE_BLOCK), code=FREQUENCY, paused=True)
    return RateLimitedError(message, retry_after=MINUTE_BLOCK, code=FREQUENCY)
