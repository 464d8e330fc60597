"""WeCom ``errcode`` → the hub's error classes.

WeCom answers HTTP 200 with ``{"errcode": N, "errmsg": ...}``; only the errcode says what
happened. The hub needs to know whether to retry, slow down or give up.
"""

from __future__ import annotations

from hub.connector import ConnectorError, PermanentError, RateLimitedError, TransientError, scrubbed

#: The access token is invalid / expired: refetch it and retry the call once.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: Frequency (45009) and concurrency (45033) limits. A minute block lasts 60 s; the client
#: tells an hour block (up to 60 min) apart and pauses instead (connectors/wecom/limits.py).
RATE_LIMIT_RETRY_AFTER = {45009: 60.0, 45033: 1.0}
#: "System busy" and internal-error answers that pass.
TRANSIENT_ERRORS = frozenset({-1, 45022})
#: Per-customer transfer answer "this customer is already being transferred".
ALREADY_TRANSFERRING = 40129


def error_for(errcode: int, errmsg: str, where: str, *, scrub: tuple[str, ...] = ()) -> ConnectorError:
    """The exception for a non-zero errcode. ``scrub`` lists values (tokens, secrets) that
    must not appear in the message even if WeCom echoed them."""
    text = scrubbed(str(errmsg or "")[:200], scrub)
    message = f"WeCom {where}: errcode {errcode}: {text}".rstrip(": ")
    if errcode in RATE_LIMIT_RETRY_AFTER:
        return RateLimitedError(message, retry_after=RATE_LIMIT_RETRY_AFTER[errcode], code=errcode)
    if errcode in TRANSIENT_ERRORS:
        return TransientError(message, code=errcode)
    if errcode in TOKEN_ERRORS:
        # Still invalid after a fresh token: most likely a secret rotated under us.
        return TransientError(message, code=errcode)
    return PermanentError(message, code=errcode)
