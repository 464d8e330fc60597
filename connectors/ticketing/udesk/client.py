"""Udesk open-API client: signs each call with a fresh nonce and checks Udesk's ``code``.

Udesk answers business results in the body: ``{"code": 1000, ...}`` is success; anything else
(``2059`` bad signature / replayed nonce, …) comes with ``code_message``. Auth and validation
failures are permanent; HTTP 429 / 5xx are transient (mapped by :mod:`hub.connector.http`).
The query string (email, sign) is never put in a message.
"""

from __future__ import annotations

from typing import Any, Mapping

import requests

from hub.connector import PermanentError, RateLimitedError, TransientError
from hub.connector.http import request

from connectors.ticketing.udesk.signing import auth_params

SUCCESS = 1000
#: Udesk's "too many requests" business code (also sent with HTTP 429).
RATE_LIMITED = 2016


class UdeskError(PermanentError):
    """Udesk refused the call with a business ``code``."""


class UdeskClient:
    def __init__(self, session: requests.Session, base_url: str, email: str, api_token: str):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.email = email
        self._token = api_token

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None) -> dict[str, Any]:
        query = {**{k: v for k, v in (params or {}).items() if v is not None}, **auth_params(self.email, self._token)}
        try:
            response = request(self.session, method, self.base_url + path, params=query, json=json)
        except RateLimitedError as exc:
            # Udesk's limit is per minute and it sends no Retry-After: wait out the minute.
            raise RateLimitedError(exc.message, retry_after=exc.retry_after or 60, code=exc.code) from None
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Udesk {method} {path}: answer is not JSON") from None
        code = body.get("code")
        if code == SUCCESS:
            return body
        message = body.get("code_message") or body.get("message") or ""
        if code == RATE_LIMITED:
            raise RateLimitedError(f"Udesk {method} {path}: {code} {message}", retry_after=60, code=code)
        raise UdeskError(f"Udesk {method} {path} refused: {code} {message}", code=code)
