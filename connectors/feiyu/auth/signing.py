"""The legacy Feiyu CRM open-API request signature.

``Signature = base64( hex( HMAC_SHA256(signature_key, path_and_query + " " + timestamp) ) )``
— base64 of the *hex string* (not of the raw digest), with exactly one space before the
Unix timestamp. For the pull API the signed text is
``/crm/v2/openapi/pull-clues/?start_time=S&end_time=E`` (raw, un-encoded values, no page
parameters); the request then carries the headers ``Signature``, ``Timestamp`` and
``Access-Token``.

Sources (checked with the code-search corpus): Feiyu's own Python sample "测试拉取一定时间段内
线索" (``hmac.new(key, data, sha256).hexdigest()`` then ``base64.b64encode``, comment "注意data
拼成时间戳前有个空格", timeout 300 s) and several PHP clients
(``base64_encode(hash_hmac('sha256', $url.' '.$time, $signature_key))`` — PHP's hash_hmac
returns hex by default). For the status callback ``/crm/v2/openapi/clue/callback/`` the same
clients sign the bare path + " " + timestamp (e.g. ``sprintf('%s %s', $path, $time)``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PULL_PATH = "/crm/v2/openapi/pull-clues/"
CALLBACK_PATH = "/crm/v2/openapi/clue/callback/"
#: Feiyu's sample rejects requests whose timestamp is further than this from its clock.
TIMESTAMP_TOLERANCE = 300


def signature(signature_key: str, signed_path: str, timestamp: str) -> str:
    """The ``Signature`` header value for ``signed_path`` at ``timestamp``."""
    digest = hmac.new(signature_key.encode(), f"{signed_path} {timestamp}".encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def pull_signed_path(start_time: str, end_time: str) -> str:
    """What the pull API signs: the path and the two time bounds, un-encoded."""
    return f"{PULL_PATH}?start_time={start_time}&end_time={end_time}"


def headers(signature_key: str, access_token: str, signed_path: str, timestamp: str) -> dict[str, str]:
    return {
        "Signature": signature(signature_key, signed_path, timestamp),
        "Timestamp": timestamp,
        "Access-Token": access_token,
    }
