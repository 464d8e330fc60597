"""Signatures of the call-center connectors, in one place so the connector and its sandbox
cannot drift apart.

* **Clink query signature** (天润融通 open API v2). Every request carries ``AccessKeyId``,
  ``Expires`` (seconds) and ``Timestamp`` (UTC ``yyyy-MM-dd'T'HH:mm:ss'Z'``) in the query, plus
  ``Signature = Base64(HmacSHA1(AccessKeySecret, METHOD + host + path + "?" + canonical))`` where
  ``canonical`` is every other query parameter sorted by name, as ``name=value`` joined with
  ``&``, name and value each encoded **exactly as Java's** ``URLEncoder.encode(s, "UTF-8")``
  (ti-net/clink-sdk ``core/auth/AccessKeyAuth.java`` ``percentEncode``, signed by
  ``HmacSHA1Signer``): letters, digits and ``.-*_`` stay, space → ``+``, everything else
  ``%XX`` in upper case. That differs from Python's ``quote_plus`` in two characters: Java
  keeps ``*`` (Python: ``%2A``) and encodes ``~`` (Python keeps it) — see :func:`java_urlencode`.
* **Generic CDR push signature** (our own, for vendors without a documented one):
  ``X-Hub-Signature = hex(HMAC-SHA256(secret, timestamp + "." + raw body))`` with the Unix
  timestamp in ``X-Hub-Timestamp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import quote_plus

CLINK_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def clink_timestamp(now: datetime | None = None) -> str:
    """Clink's ``Timestamp`` parameter: UTC, second precision, literal ``Z``."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(CLINK_TIMESTAMP_FORMAT)


def java_urlencode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``: unreserved are ``A-Za-z0-9.-*_``, space
    is ``+``. Python's ``quote_plus`` differs only on ``*`` (kept here) and ``~`` (encoded here)."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def clink_canonical_query(params: Mapping[str, object]) -> str:
    """Sorted ``k=v`` pairs (both Java-URL-encoded, ``Signature`` excluded) joined with ``&``."""
    return "&".join(
        f"{java_urlencode(key)}={java_urlencode(str(params[key]))}" for key in sorted(params) if key != "Signature"
    )


def clink_string_to_sign(method: str, host: str, path: str, params: Mapping[str, object]) -> str:
    return f"{method.upper()}{host}{path}?{clink_canonical_query(params)}"


def clink_signature(secret: str, method: str, host: str, path: str, params: Mapping[str, object]) -> str:
    """Base64 of the HMAC-SHA1 over :func:`clink_string_to_sign` (not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), clink_string_to_sign(method, host, path, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def cdr_push_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``"{timestamp}.{raw body}"`` — the generic CDR webhook's signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
