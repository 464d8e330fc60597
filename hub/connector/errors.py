"""Errors a connector raises so the hub knows what to do next.

* :class:`TransientError` — try again later with backoff (timeouts, 5xx).
* :class:`RateLimitedError` — the provider said "slow down"; honour ``retry_after``.
* :class:`PermanentError` — retrying cannot help (400, bad credentials); dead-letter it.
* :class:`WebhookRejected` — an incoming webhook failed verification; answer 4xx, store nothing.
"""

from __future__ import annotations

from typing import Iterable


def scrubbed(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by ``***`` — for messages that quote a
    remote's answer or a driver's error, which may echo a token or a password."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ConnectorError(Exception):
    """Base class for everything a connector reports to the hub."""

    retryable = False

    def __init__(self, message: str, *, code: str | int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class TransientError(ConnectorError):
    """A failure that may pass: network errors, timeouts, 5xx, expired tokens after refetch."""

    retryable = True


class RateLimitedError(TransientError):
    """The provider throttled us. ``retry_after`` (seconds) comes from the provider when it says.

    ``paused=True`` says more: the remote has blocked this instance's calls until
    ``retry_after`` has passed (WeCom's hour-level 45009 blocks an API for up to an hour). The
    hub then holds *every* write of the instance until then, and the wait does not use up the
    write's retry budget — trying earlier cannot succeed, so it is not a failed attempt.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | int | None = None,
                 paused: bool = False):
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.paused = paused and retry_after is not None and retry_after > 0


class PermanentError(ConnectorError):
    """Retrying will not help: invalid data, rejected credentials, missing permission."""


class CheckFailed(PermanentError):
    """``Connector.check()`` found the configuration unusable (wrong secret, unreachable host)."""


class WebhookRejected(ConnectorError):
    """An incoming webhook failed verification or parsing. Nothing from it is stored."""

    def __init__(self, message: str, *, status: int = 401):
        super().__init__(message)
        self.status = status
