"""Retry delays: capped exponential backoff with full jitter, computed by the hub.

RQ's ``Retry`` takes fixed whole-second intervals without jitter; a fleet of workers
retrying a throttled provider in lockstep makes the throttling worse. Full jitter
(``random(0, min(cap, base * 2**attempt))``) spreads them out. A provider's own
``Retry-After`` is a floor: we never come back sooner than it asked.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float, cap: float, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    rng = rng or random
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
