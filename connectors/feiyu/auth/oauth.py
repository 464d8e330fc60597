"""Ocean Engine Marketing API OAuth: access tokens from a *rotating* refresh token.

``POST /open_api/oauth2/refresh_token/ {app_id, secret, grant_type: "refresh_token",
refresh_token}`` answers ``data{access_token, expires_in, refresh_token,
refresh_token_expires_in}`` and invalidates the refresh token it was given. Losing the new
one means a human must re-authorise the app, so it is written to the durable instance state
*before* anything else happens, and refreshes are serialised (a Redis lock when the hub
gives us Redis, a process lock otherwise) so two workers never spend the same token.

The access token (valid ``expires_in`` seconds, about a day) is cached in Redis when
available and in the instance state otherwise, and renewed five minutes early.

Which refresh token to use: the rotated one in state wins over the config's. If the config's
value changes (the operator re-authorised and pasted a fresh token), the state remembers a
fingerprint of the config token it descends from and switches to the new one.

**The refresh token itself expires** (``refresh_token_expires_in``, about 30 days). An instance
that rarely needs a new access token could let it lapse, and then only a human re-authorisation
helps. So when the refresh token has less than :data:`RENEW_BEFORE` left, the next call renews
it even though the access token still works. While that renewal fails, the calls go on with the
current access token and the connector leaves a notice for the connectors page
(:mod:`hub.connector.notices`) saying when the refresh token will expire; a successful refresh
clears it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ConnectorError, PermanentError, TransientError
from hub.connector.http import request
from hub.connector.notices import clear_notice, set_notice

from connectors.feiyu.errors import marketing_error

if TYPE_CHECKING:
    from connectors.feiyu.connector import FeiyuConnector

REFRESH_PATH = "/open_api/oauth2/refresh_token/"
#: Renew this many seconds before Ocean Engine says the access token expires.
EXPIRY_MARGIN = 300
#: Renew the refresh token when it has less than this left (seconds).
RENEW_BEFORE = 5 * 86400
#: The refresh token's life when an answer does not say (Ocean Engine documents about 30 days).
REFRESH_TOKEN_LIFETIME = 30 * 86400

CHINA = timezone(timedelta(hours=8))

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class TokenManager:
    """Hands out a valid Marketing API access token for one connector instance."""

    def __init__(self, connector: "FeiyuConnector"):
        self.connector = connector
        self.config = connector.config
        self.state = connector.state
        self.cache = connector.cache
        self._cache_key = f"feiyu:{connector.instance}:access_token"
        self._lock_key = f"feiyu:{connector.instance}:refresh_lock"

    # -- the refresh token -----------------------------------------------------------------
    def current_refresh_token(self) -> str:
        configured = self.config.get("refresh_token") or ""
        stored = self.state.get("refresh_token")
        if stored and self.state.get("refresh_token_origin") == _fingerprint(configured):
            return stored
        return configured

    # -- the access token ------------------------------------------------------------------
    def _cached(self) -> str | None:
        if self.cache is not None:
            raw = self.cache.get(self._cache_key)
            if raw:
                return raw.decode() if isinstance(raw, bytes) else str(raw)
            return None
        entry = self.state.get("access_token")
        if entry and entry.get("origin") == _fingerprint(self.config.get("refresh_token") or "") and entry.get("expires_at", 0) > time.time():
            return entry["token"]
        return None

    def _store_access(self, token: str, expires_in: int) -> None:
        ttl = max(60, int(expires_in) - EXPIRY_MARGIN)
        if self.cache is not None:
            self.cache.set(self._cache_key, token, ex=ttl)
        else:
            origin = _fingerprint(self.config.get("refresh_token") or "")
            self.state.set("access_token", {"token": token, "expires_at": time.time() + ttl, "origin": origin})

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Ocean Engine rejected it), unless a newer one replaced it."""
        if self._cached() != token:
            return
        if self.cache is not None:
            self.cache.delete(self._cache_key)
        else:
            self.state.set("access_token", None)

    def refresh_token_expires_at(self) -> float:
        """When the refresh token in use expires (Unix seconds). For the config's token, whose
        age the hub cannot know, :data:`REFRESH_TOKEN_LIFETIME` after it was first seen."""
        configured = _fingerprint(self.config.get("refresh_token") or "")
        if self.state.get("refresh_token") and self.state.get("refresh_token_origin") == configured:
            at = self.state.get("refresh_token_expires_at")
            if at:
                return float(at)
        seen = self.state.get("config_refresh_token_seen") or {}
        if seen.get("fingerprint") != configured:
            seen = {"fingerprint": configured, "at": int(time.time())}
            self.state.set("config_refresh_token_seen", seen)
        return float(seen["at"]) + REFRESH_TOKEN_LIFETIME

    def _renewal_due(self) -> bool:
        return self.refresh_token_expires_at() - time.time() < RENEW_BEFORE

    def access_token(self) -> str:
        token = self._cached()
        if token and not self._renewal_due():
            return token
        with self._lock():
            # Another worker may have refreshed while we waited for the lock.
            token = self._cached()
            if token and not self._renewal_due():
                return token
            try:
                return self._refresh()
            except ConnectorError as exc:
                self._warn(exc)
                if token:  # the access token still works: keep going, keep warning
                    return token
                raise

    def _warn(self, exc: ConnectorError) -> None:
        expires = datetime.fromtimestamp(self.refresh_token_expires_at(), CHINA).strftime("%Y-%m-%d %H:%M")
        set_notice(self.state, f"Ocean Engine refresh-token renewal is failing ({exc.message[:160]}); the refresh "
                               f"token expires {expires} (Beijing) — after that only re-authorising the app helps")

    # -- refreshing ------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[None]:
        if self.cache is not None:
            lock = self.cache.lock(self._lock_key, timeout=60, blocking_timeout=60)
            if not lock.acquire():
                raise TransientError("another worker is refreshing the Ocean Engine token; try again")
            try:
                yield
            finally:
                try:
                    lock.release()
                except Exception:  # the lock expired under us: nothing left to release
                    pass
            return
        with _process_locks_guard:
            lock = _process_locks.setdefault(self._lock_key, threading.Lock())
        with lock:
            yield

    def _refresh(self) -> str:
        c = self.connector
        url = c.config["marketing_base_url"].rstrip("/") + REFRESH_PATH
        body = {
            "app_id": int(c.config["app_id"]),
            "secret": c.config["secret"],
            "grant_type": "refresh_token",
            "refresh_token": self.current_refresh_token(),
        }
        response = request(c.http, "POST", url, json=body)
        try:
            answer: dict[str, Any] = response.json()
        except (ValueError, json.JSONDecodeError):
            raise TransientError(f"POST {REFRESH_PATH}: answer is not JSON") from None
        code = answer.get("code")
        if code != 0:
            error = marketing_error(REFRESH_PATH, answer)
            if isinstance(error, PermanentError):
                raise PermanentError(
                    f"Ocean Engine refused the token refresh (code {code}: {answer.get('message', '')}); "
                    "check app_id and secret, or re-authorise the app and put the new refresh_token in the config",
                    code=code,
                )
            raise error
        data = answer.get("data") or {}
        new_refresh = data.get("refresh_token")
        if not new_refresh or not data.get("access_token"):
            raise TransientError(f"POST {REFRESH_PATH}: answer lacks the new tokens")
        # Persist the rotated refresh token first: the old one is already dead.
        self.state.set("refresh_token", new_refresh)
        self.state.set("refresh_token_origin", _fingerprint(c.config.get("refresh_token") or ""))
        lifetime = int(data.get("refresh_token_expires_in") or REFRESH_TOKEN_LIFETIME)
        self.state.set("refresh_token_expires_at", int(time.time()) + lifetime)
        self._store_access(data["access_token"], int(data.get("expires_in") or 86400))
        clear_notice(self.state)
        return data["access_token"]
