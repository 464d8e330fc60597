"""Ocean Engine answers HTTP 200 with a ``code``; these helpers turn non-zero codes into the
hub's error classes.

Codes (from the Marketing API's public return-code table as quoted by SDKs; the numbers
below could not all be confirmed against the official page from here, so unknown codes
fall back to "4xxxx permanent, 5xxxx transient"):

* 40100 — too many requests (frequency limit)                 → RateLimitedError
* 40102 / 40104 / 40105 — access token expired / empty / invalid → refresh once, retry
* 40103 / 40107 — refresh token expired / invalid             → PermanentError (re-authorise)
* 5xxxx — system busy / internal errors                       → TransientError
"""

from __future__ import annotations

from typing import Any

from hub.connector import ConnectorError, PermanentError, RateLimitedError, TransientError

OK = 0
RATE_LIMITED = {40100}
ACCESS_TOKEN_REJECTED = {40102, 40104, 40105}
REFRESH_TOKEN_REJECTED = {40103, 40107}
#: Suggested pause after a 40100 (Ocean Engine sends no Retry-After).
RATE_LIMIT_PAUSE = 10.0


def marketing_error(path: str, answer: dict[str, Any]) -> ConnectorError:
    code = answer.get("code")
    message = str(answer.get("message") or "")[:200]
    text = f"{path}: Ocean Engine code {code}: {message}"
    if code in RATE_LIMITED:
        return RateLimitedError(text, retry_after=RATE_LIMIT_PAUSE, code=code)
    if isinstance(code, int) and code >= 50000:
        return TransientError(text, code=code)
    return PermanentError(text, code=code)


def crm_error(path: str, answer: dict[str, Any]) -> ConnectorError:
    """The legacy CRM API answers ``{status, msg}``; anything but success is refused
    credentials or parameters (the sample clients treat ``-2`` as "pull failed")."""
    status = answer.get("status")
    message = str(answer.get("msg") or "")[:200]
    return PermanentError(f"{path}: Feiyu CRM status {status}: {message}", code=status)
