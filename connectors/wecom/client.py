"""The WeCom server-API client: access tokens, frequency limits and errcodes.

* **Tokens.** One access token per (corp, app secret), shared by every worker
  (:class:`hub.connector.tokens.SharedToken`): ``gettoken`` has its own frequency limit and
  a fleet of workers refetching at once would trip it. WeCom may
  invalidate a token early: on 40001 / 40014 / 42001 the client refetches — unless another
  worker already did — and retries the call once.
* **Limits.** WeCom limits each API per corp (10,000/min and 150,000/h since 2023). The
  client counts its own calls per API in fixed windows shared through Redis and answers
  :class:`RateLimitedError` *before* WeCom blocks the corp for a whole minute or hour — for
  the hour window with ``paused=True``, so delivery holds the instance's writes until the
  next hour without using up attempts. WeCom's own 45009 is told apart as a minute or an hour
  block by :mod:`connectors.wecom.limits` (an hour block pauses too); 45033 retries in 1 s.
* **Secrets.** The access token and the corp secret travel only in query strings, which
  :func:`hub.connector.http.request` never puts in messages; errmsg text is scrubbed too,
  and exception chains (whose ``requests`` errors could show the URL) are cut.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from hub.connector import ConnectorError, PermanentError, RateLimitedError, TransientError
from hub.connector.http import request
from hub.connector.tokens import SharedToken

from connectors.wecom import limits
from connectors.wecom.errors import TOKEN_ERRORS, error_for

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

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
        self.tokens = SharedToken(connector, "wecom", (self.base_url, self.corp_id, self._secret), self._fetch)
        self.limits = {60: config["rate_limit_per_minute"], 3600: config["rate_limit_per_hour"]}
        self._limits = tuple(self.limits.items())
        #: APIs this process saw blocked (45009) and has not yet seen succeed.
        self.known_blocks: set[str] = set()

    # -- tokens ---------------------------------------------------------------------------
    def token(self, *, invalid: str | None = None) -> str:
        """A valid access token. ``invalid``: a token WeCom just refused — replace it unless
        another worker already has."""
        return self.tokens.get(invalid=invalid)

    @property
    def token_fetches(self) -> int:
        """gettoken calls this client made (diagnostics and tests)."""
        return self.tokens.fetches

    def _fetch(self) -> tuple[str, int]:
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
        return str(body["access_token"]), int(body.get("expires_in", 7200))

    # -- limits ---------------------------------------------------------------------------
    def _throttle(self, path: str) -> int:
        """Count this call against the configured per-corp per-API windows; return this
        hour's count. Over the hour limit the instance is paused until the next hour."""
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
                    f"WeCom {path}: configured limit of {limit} calls per {seconds}s reached", retry_after=retry_after, code="local",
                    paused=seconds >= 3600,
                )
        return count

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

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Call ``/cgi-bin/<path>``; return the body when errcode is 0, raise otherwise.
        ``timeout``: seconds for this call (a callback must answer WeCom within 5 s)."""
        token = self.token()
        for attempt in (1, 2):
            hour_calls = self._throttle(path)
            kwargs: dict[str, Any] = {"params": {**(params or {}), "access_token": token}}
            if json is not None:
                kwargs["json"] = json
            if timeout is not None:
                kwargs["timeout"] = timeout
            body = self._get_json(method, path, **kwargs)
            code = int(body.get("errcode", 0) or 0)
            if code == 0:
                if path in self.known_blocks:
                    limits.forget(self, path)
                return body
            if code in TOKEN_ERRORS and attempt == 1:
                token = self.token(invalid=token)
                continue
            if code == limits.FREQUENCY:
                message = error_for(code, body.get("errmsg", ""), path, scrub=(token, self._secret)).message
                raise limits.frequency_error(self, path, message, hour_calls)
            raise error_for(code, body.get("errmsg", ""), path, scrub=(token, self._secret))
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", path, json=body)
