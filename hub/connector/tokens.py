"""An access token shared by every worker: cached, fetched by one worker at a time.

Providers such as WeCom (``gettoken``) and Sobot (``get_token``) hand out access tokens
valid for hours and limit — or, for Sobot, invalidate older tokens on — every fetch. A
fleet of workers each fetching its own would trip the limit, so the token lives in Redis
(``connector.cache``; in this process when there is no Redis) until shortly before it
expires, and only the worker holding a lock (a Redis lock; a thread lock in process)
fetches. A token the provider refuses early is replaced — unless another worker already
did — by :meth:`SharedToken.get` with ``invalid=`` that token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from hub.connector.base import Connector

#: Seconds before ``expires_in`` at which a cached token is considered stale.
REFRESH_MARGIN = 300
LOCK_TIMEOUT = 15
LOCK_WAIT = 10

_THREAD_LOCK = type(threading.Lock())
_local_tokens: dict[str, tuple[str, float]] = {}
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def clear_local_tokens() -> None:
    """Forget the in-process tokens (tests that run without Redis)."""
    _local_tokens.clear()


class SharedToken:
    """``fetch()`` returns ``(token, expires_in_seconds)``; ``owner`` (base URL, app id, secret …)
    names the credential set, hashed into the cache key so no secret is stored as a key."""

    def __init__(self, connector: "Connector", provider: str, owner: Iterable[str], fetch: Callable[[], tuple[str, int]]):
        self.connector = connector
        self._fetch_token = fetch
        fingerprint = hashlib.sha256("\0".join(owner).encode()).hexdigest()[:24]
        self._key = f"hub:{provider}:token:{fingerprint}"
        self._lock_key = f"hub:{provider}:token-lock:{fingerprint}"
        #: Fetches made through this object (diagnostics and tests).
        self.fetches = 0

    def _cached(self) -> str | None:
        cache = self.connector.cache
        if cache is not None:
            value = cache.get(self._key)
            return value.decode() if isinstance(value, bytes) else value
        entry = _local_tokens.get(self._key)
        return entry[0] if entry and entry[1] > time.time() else None

    def _store(self, token: str, expires_in: int) -> None:
        ttl = expires_in - REFRESH_MARGIN if expires_in > 2 * REFRESH_MARGIN else max(1, expires_in // 2)
        cache = self.connector.cache
        if cache is not None:
            cache.set(self._key, token, ex=ttl)
        else:
            _local_tokens[self._key] = (token, time.time() + ttl)

    def _lock(self):
        cache = self.connector.cache
        if cache is not None:
            return cache.lock(self._lock_key, timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT)
        with _local_guard:
            return _local_locks.setdefault(self._lock_key, threading.Lock())

    def get(self, *, invalid: str | None = None) -> str:
        """A valid token. ``invalid``: a token the provider just refused — replace it unless
        another worker already has."""
        cached = self._cached()
        if cached and cached != invalid:
            return cached
        lock = self._lock()
        acquired = lock.acquire(timeout=LOCK_WAIT) if isinstance(lock, _THREAD_LOCK) else lock.acquire()
        try:
            cached = self._cached()  # fetched by whoever held the lock before us?
            if cached and cached != invalid:
                return cached
            self.fetches += 1
            token, expires_in = self._fetch_token()
            self._store(token, expires_in)
            return token
        finally:
            if acquired:
                try:
                    lock.release()
                except Exception:  # the Redis lock expired meanwhile: nothing to release
                    pass
