"""HTTP helpers every REST connector needs: one place that turns transport failures and
status codes into the hub's error classes, so retry decisions are uniform.

* connection errors, timeouts, 5xx            → :class:`TransientError`
* 429 (and 503 with ``Retry-After``)          → :class:`RateLimitedError` with ``retry_after``
* other 4xx                                   → :class:`PermanentError`

Error messages carry method, path and status — never the query string, which often holds
credentials (``access_token=…``, ``corpsecret=…``).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from hub.connector.errors import PermanentError, RateLimitedError, TransientError

DEFAULT_TIMEOUT = 15.0


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _where(method: str, url: str) -> str:
    return f"{method.upper()} {urlsplit(url).path}"


def raise_for_status(response: requests.Response) -> requests.Response:
    """Translate a non-2xx response into the hub's error classes; return it otherwise."""
    status = response.status_code
    if status < 400:
        return response
    where = _where(response.request.method or "GET", response.url)
    detail = response.text[:200].strip()
    message = f"{where}: HTTP {status}" + (f": {detail}" if detail else "")
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        raise RateLimitedError(message, retry_after=retry_after, code=status)
    if status >= 500 or status == 408:
        raise TransientError(message, code=status)
    raise PermanentError(message, code=status)


def request(session: requests.Session, method: str, url: str, *, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> requests.Response:
    """``session.request`` with a timeout and errors translated (see the module docstring)."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TransientError(f"{_where(method, url)}: timed out after {timeout:g}s") from exc
    except requests.ConnectionError as exc:
        raise TransientError(f"{_where(method, url)}: connection failed: {type(exc).__name__}") from exc
    return raise_for_status(response)
