"""Udesk open-API client: signs each call with a fresh nonce and checks Udesk's ``code``.

Udesk answers business results in the body: ``{"code": 1000, ...}`` is success; anything else
comes with ``code_message``. Auth and validation failures are permanent; HTTP 429 / 5xx are
transient (mapped by :mod:`hub.connector.http`). The query string (email, sign) is never put
in a message.

The open-API token is either configured (``api_token``, 管理中心 › 单点登录/API) or obtained
with the admin's e-mail and password from ``POST /open_api_v1/log_in`` →
``{"code": 1000, "open_api_auth_token": …}`` (as public integrations do); a logged-in token is
shared by every worker (:class:`hub.connector.tokens.SharedToken`) and fetched again when a
signature made with it is refused.

Each request carries a new nonce; Udesk refuses a nonce seen in the last 15 minutes with code
``20623``. That can only mean the same signed URL went out twice (a retried connection), so the
call is signed again and retried once.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import requests

from hub.connector import PermanentError, RateLimitedError, TransientError
from hub.connector.http import request

from connectors.ticketing.udesk.signing import auth_params

SUCCESS = 1000
#: Udesk's "too many requests" business code (also sent with HTTP 429).
RATE_LIMITED = 2016
#: The signature was refused (wrong token, e-mail or timestamp).
BAD_SIGNATURE = 2059
#: The nonce was already used within 15 minutes.
NONCE_REPLAYED = 20623
LOG_IN = "/open_api_v1/log_in"


class UdeskError(PermanentError):
    """Udesk refused the call with a business ``code``."""


class UdeskClient:
    def __init__(self, session: requests.Session, base_url: str, email: str, api_token: str | None = None, *,
                 token: Callable[..., str] | None = None):
        """``api_token``: a configured token; else ``token(invalid=None)`` supplies (and
        replaces, when given the refused one) a logged-in token."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.email = email
        self._static = api_token
        self._token = token

    def current_token(self, *, invalid: str | None = None) -> str:
        if self._static:
            return self._static
        if self._token is None:
            raise PermanentError("Udesk: neither api_token nor password configured")
        return self._token(invalid=invalid)

    def log_in(self, password: str) -> str:
        """``POST /open_api_v1/log_in {email, password}`` → the open-API token."""
        try:
            response = request(self.session, "POST", self.base_url + LOG_IN, json={"email": self.email, "password": password})
            body = response.json()
        except ValueError:
            raise TransientError("Udesk log_in: answer is not JSON") from None
        token = body.get("open_api_auth_token") if isinstance(body, dict) else None
        if body.get("code") != SUCCESS or not token:
            message = (body.get("code_message") or body.get("message") or "") if isinstance(body, dict) else ""
            raise UdeskError(f"Udesk log_in refused: {body.get('code')} {message}".rstrip(), code=body.get("code"))
        return str(token)

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None) -> dict[str, Any]:
        token = self.current_token()
        for attempt in (1, 2):
            body = self._once(method, path, token, params, json)
            code = body.get("code")
            if code == SUCCESS:
                return body
            message = body.get("code_message") or body.get("message") or ""
            if code == RATE_LIMITED:
                raise RateLimitedError(f"Udesk {method} {path}: {code} {message}", retry_after=60, code=code)
            if attempt == 1 and code == NONCE_REPLAYED:
                continue  # signed again with a fresh nonce
            if attempt == 1 and code == BAD_SIGNATURE and not self._static:
                token = self.current_token(invalid=token)  # log in again: the token may have changed
                continue
            if code == NONCE_REPLAYED:
                raise TransientError(f"Udesk {method} {path}: {code} {message}", code=code)
            raise UdeskError(f"Udesk {method} {path} refused: {code} {message}", code=code)
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, token: str, params: Mapping[str, Any] | None, json: Any) -> dict[str, Any]:
        query = {**{k: v for k, v in (params or {}).items() if v is not None}, **auth_params(self.email, token)}
        try:
            response = request(self.session, method, self.base_url + path, params=query, json=json)
        except RateLimitedError as exc:
            # Udesk's limit is per minute and it sends no Retry-After: wait out the minute.
            raise RateLimitedError(exc.message, retry_after=exc.retry_after or 60, code=exc.code) from None
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Udesk {method} {path}: answer is not JSON") from None
        if not isinstance(body, dict):
            raise TransientError(f"Udesk {method} {path}: answer is not a JSON object")
        return body
