"""The WeCom server-API client: access tokens, frequency limits and errcodes.

* **Tokens.** One access token per (corp, app secret), cached in Redis (``connector.cache``)
  or, without Redis, in this process, until shortly before ``expires_in``. Only one worker
  fetches at a time (a Redis lock; a thread lock in process): ``gettoken`` has its own
  frequency limit and a fleet of workers refetching at once would trip it. WeCom may
  invalidate a token early: on 40001 / 40014 / 42001 the client refetches — unless another
  worker already did — and retries the call once.
* **Limits.** WeCom limits each API per corp (10,000/min and 150,000/h since 2023). The
  client counts its own calls per API in fixed windows shared through Redis and answers
  :class:`RateLimitedError` *before* WeCom blocks the corp for a whole minute or hour; WeCom's
  own 45009 / 45033 become RateLimitedError too.
* **Secrets.** The access token and the corp secret travel only in query strings, which
  :func:`hub.connector.http.request` never puts in messages; errmsg text is scrubbed too,
  and exception chains (whose ``requests`` errors could show the URL) are cut.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any

from hub.connector import ConnectorError, PermanentError, RateLimitedError, TransientError
from hub.connector.http import request

from connectors.wecom.errors import TOKEN_ERRORS, error_for

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

#: Seconds before ``expires_in`` at which a cached token is considered stale.
REFRESH_MARGIN = 300
LOCK_TIMEOUT = 15
LOCK_WAIT = 10

_local_tokens: dict[str, tuple[str, float]] = {}
_local_locks: dict[str, threading.Lock] = {}
_local_windows: dict[str, tuple[int, int]] = {}
_local_guard = threading.Lock()


def _clean(exc: ConnectorError) -> ConnectorError:
    """Drop the exception chain: a requests error's text may contain the full URL."""
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
    return exc


class WeComClient:
    """Calls ``<base_url>/cgi-bin/<path>`` with a valid access token."""

    def __init__(self, connector: "WeComConnector"):
        self.connector = connector
        config = connector.config
        self.base_url = config["base_url"].rstrip("/")
        self.corp_id: str = config["corp_id"]
        self._secret: str = config["secret"]
        fingerprint = hashlib.sha256(f"{self.base_url}\0{self.corp_id}\0{self._secret}".encode()).hexdigest()[:24]
        self._token_key = f"hub:wecom:token:{fingerprint}"
        self._lock_key = f"hub:wecom:token-lock:{fingerprint}"
        self._limits = ((60, config["rate_limit_per_minute"]), (3600, config["rate_limit_per_hour"]))
        #: gettoken calls this client made (diagnostics and tests).
        self.token_fetches = 0

    # -- tokens ---------------------------------------------------------------------------
    def _cached(self) -> str | None:
        cache = self.connector.cache
        if cache is not None:
            value = cache.get(self._token_key)
            return value.decode() if isinstance(value, bytes) else value
        entry = _local_tokens.get(self._token_key)
        if entry and entry[1] > time.time():
            return entry[0]
        return None

    def _store(self, token: str, expires_in: int) -> None:
        ttl = expires_in - REFRESH_MARGIN if expires_in > 2 * REFRESH_MARGIN else max(1, expires_in // 2)
        cache = self.connector.cache
        if cache is not None:
            cache.set(self._token_key, token, ex=ttl)
        else:
            _local_tokens[self._token_key] = (token, time.time() + ttl)

    def _forget(self, token: str) -> None:
        cache = self.connector.cache
        if cache is not None:
            # Only delete it if it is still the bad one (another worker may have refreshed).
            current = cache.get(self._token_key)
            if current is not None and (current.decode() if isinstance(current, bytes) else current) == token:
                cache.delete(self._token_key)
        else:
            entry = _local_tokens.get(self._token_key)
            if entry and entry[0] == token:
                _local_tokens.pop(self._token_key, None)

    def _locked(self):
        cache = self.connector.cache
        if cache is not None:
            return cache.lock(self._lock_key, timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT)
        with _local_guard:
            return _local_locks.setdefault(self._lock_key, threading.Lock())

    def token(self, *, invalid: str | None = None) -> str:
        """A valid access token. ``invalid``: a token WeCom just refused — replace it unless
        another worker already has."""
        cached = self._cached()
        if cached and cached != invalid:
            return cached
        lock = self._locked()
        acquired = lock.acquire(timeout=LOCK_WAIT) if isinstance(lock, type(threading.Lock())) else lock.acquire()
        try:
            cached = self._cached()  # fetched by whoever held the lock before us?
            if cached and cached != invalid:
                return cached
            if cached and invalid:
                self._forget(invalid)
            return self._fetch()
        finally:
            if acquired:
                try:
                    lock.release()
                except Exception:  # the Redis lock expired meanwhile: nothing to release
                    pass

    def _fetch(self) -> str:
        self.token_fetches += 1
        body = self._get_json(
            "GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret}
        )
        code = int(body.get("errcode", 0) or 0)
        if code != 0 or not body.get("access_token"):
            exc = error_for(code, body.get("errmsg", "no access_token"), "gettoken", scrub=(self._secret,))
            if code in TOKEN_ERRORS or code in (40013, 40091, 40056, 41004):
                # On gettoken these mean a wrong corp id or secret: retrying cannot help.
                exc = PermanentError(exc.message, code=code)
            raise _clean(exc)
        token = str(body["access_token"])
        self._store(token, int(body.get("expires_in", 7200)))
        return token

    # -- limits ---------------------------------------------------------------------------
    def _throttle(self, path: str) -> None:
        """Count this call against the configured per-corp per-API windows."""
        now = int(time.time())
        cache = self.connector.cache
        for seconds, limit in self._limits:
            window = now // seconds
            key = f"hub:wecom:calls:{self.corp_id}:{path}:{seconds}"
            if cache is not None:
                count = int(cache.incr(f"{key}:{window}"))
                if count == 1:
                    cache.expire(f"{key}:{window}", seconds + 5)
            else:
                with _local_guard:
                    seen_window, count = _local_windows.get(key, (window, 0))
                    count = count + 1 if seen_window == window else 1
                    _local_windows[key] = (window, count)
            if count > limit:
                retry_after = float(seconds - now % seconds)
                raise RateLimitedError(
                    f"WeCom {path}: configured limit of {limit} calls per {seconds}s reached", retry_after=retry_after, code="local"
                )

    # -- calls ----------------------------------------------------------------------------
    def _get_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base_url}/cgi-bin/{path}"
        failure: ConnectorError | None = None
        try:
            response = request(self.connector.http, method, url, **kwargs)
        except ConnectorError as exc:
            failure = exc
        if failure is not None:
            raise _clean(failure)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError(f"WeCom {path}: answer is not a JSON object (HTTP {response.status_code})")
        return body

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> dict[str, Any]:
        """Call ``/cgi-bin/<path>``; return the body when errcode is 0, raise otherwise."""
        token = self.token()
        for attempt in (1, 2):
            self._throttle(path)
            kwargs: dict[str, Any] = {"params": {**(params or {}), "access_token": token}}
            if json is not None:
                kwargs["json"] = json
            body = self._get_json(method, path, **kwargs)
            code = int(body.get("errcode", 0) or 0)
            if code == 0:
                return body
            if code in TOKEN_ERRORS and attempt == 1:
                token = self.token(invalid=token)
                continue
            raise error_for(code, body.get("errmsg", ""), path, scrub=(token, self._secret))
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", path, json=body)
