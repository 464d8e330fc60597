"""Sobot's wire conventions: JSON answers carrying ``ret_code``, mapped onto the hub's errors.

Sobot answers HTTP 200 with ``{"ret_code": "000000", "ret_msg": …, "item": …}``; any other
``ret_code`` is an error. The codes below are Sobot's published table (接口返回状态编码,
developer.zhichi.com/pages/950d89): ``900001`` token empty, ``900002`` token expired or
invalid ("请重新获取"), ``900003`` bad signature, ``900004`` no API configuration for this
appid, ``700046`` the company's edition has no API access, ``999999`` unknown system error.
Everything else is refused business input → :class:`PermanentError`.

Sobot publishes **no throttling code and no quota** for these APIs: HTTP 429 (and 5xx,
timeouts) are mapped by :mod:`hub.connector.http`; without ``Retry-After`` the hub waits a
minute (an assumption). Messages never carry the query string (``sign``), the token or the
app key, and exception chains — whose ``requests`` errors may show the URL — are cut.
"""

from __future__ import annotations

from typing import Any

import requests

from hub.connector import ConnectorError, PermanentError, RateLimitedError, TransientError, scrubbed
from hub.connector.http import request

SUCCESS = "000000"
#: The token is missing or no longer valid: fetch a new one and retry the call once.
TOKEN_ERRORS = frozenset({"900001", "900002"})
#: "系统未知异常": treated as passing.
TRANSIENT_ERRORS = frozenset({"999999"})
#: Seconds to wait after an HTTP 429 without ``Retry-After`` (Sobot documents no window).
DEFAULT_RETRY_AFTER = 60.0


def error_for(ret_code: str, ret_msg: Any, where: str, *, scrub: tuple[str, ...] = ()) -> ConnectorError:
    """The exception for a non-success ``ret_code``; ``scrub`` lists values (token, app key)
    that must not reach the message even if Sobot echoed them."""
    text = scrubbed(str(ret_msg or "")[:200], scrub)
    message = f"Sobot {where}: ret_code {ret_code}: {text}".rstrip(": ")
    if ret_code in TRANSIENT_ERRORS or ret_code in TOKEN_ERRORS:
        # A token still refused after a fresh fetch: most likely another client of the same
        # appid fetched a newer one meanwhile — the next attempt gets the current token.
        return TransientError(message, code=ret_code)
    return PermanentError(message, code=ret_code)


def json_answer(session: requests.Session, method: str, url: str, where: str, **kwargs: Any) -> dict[str, Any]:
    """Call Sobot; return the decoded answer, which carries a ``ret_code`` (not yet checked)."""
    try:
        response = request(session, method, url, **kwargs)
    except RateLimitedError as exc:
        raise RateLimitedError(f"Sobot {where}: {exc.message}", retry_after=exc.retry_after or DEFAULT_RETRY_AFTER,
                               code=exc.code) from None
    except ConnectorError as exc:
        raise exc from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransientError(f"Sobot {where}: answer is not a JSON object (HTTP {response.status_code})")
    if "ret_code" not in body:
        # Say what came back (keys only): never the values, which may carry customer data.
        keys = ", ".join(sorted(str(k) for k in body)[:10])
        raise PermanentError(f"Sobot {where}: answer without ret_code (keys: {keys})")
    body["ret_code"] = str(body["ret_code"])
    return body
