"""Udesk open-API authentication (API v2, ``sign_version=v2``) and the webhook token check.

Every call carries ``email`` (an admin's login), ``timestamp`` (Unix seconds), ``nonce`` (a
fresh random string — Udesk refuses a nonce it has seen in the last 15 minutes), ``sign_version=v2``
and ``sign = hex(SHA256(email + "&" + open_api_token + "&" + timestamp + "&" + nonce + "&" + "v2"))``.
The order and separator were checked against public integrations of the Udesk open API; the
token itself never travels.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

SIGN_VERSION = "v2"


def udesk_sign(email: str, api_token: str, timestamp: str, nonce: str, sign_version: str = SIGN_VERSION) -> str:
    return hashlib.sha256(f"{email}&{api_token}&{timestamp}&{nonce}&{sign_version}".encode()).hexdigest()


def auth_params(email: str, api_token: str) -> dict[str, str]:
    """Fresh auth query parameters — a new nonce for every single request."""
    timestamp = str(int(time.time()))
    nonce = uuid.uuid4().hex
    return {"email": email, "timestamp": timestamp, "nonce": nonce, "sign_version": SIGN_VERSION,
            "sign": udesk_sign(email, api_token, timestamp, nonce)}


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a webhook token (Udesk pushes carry no signature)."""
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())
