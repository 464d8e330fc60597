"""A small Clink open-API client: signs each request and turns Clink's errors into the hub's.

Clink answers errors with a 4xx status and ``{"requestId", "error": {"code", "message"}}``.
Authentication failures (unknown key, bad signature, expired request) are permanent for the
request as built, so they surface as :class:`PermanentError` — ``check()`` reports them as
:class:`CheckFailed`. Nothing here ever logs or raises the query string: it carries the
access key id and the signature.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

import requests

from hub.connector import PermanentError, TransientError
from hub.connector.http import request

from connectors.callcenter.signing import clink_signature, clink_timestamp

#: Clink error codes that mean "your credentials or signature are wrong".
AUTH_ERROR_CODES = frozenset({
    "InvalidAccessKeyId.NotFound",
    "SignatureDoesNotMatch",
    "InvalidTimestamp.Expired",
    "InvalidTimestamp.Format",
    "MissingParameter.Signature",
})


class ClinkClient:
    """Signed GETs against one Clink host (``https://api-bj.clink.cn`` etc.)."""

    def __init__(self, session: requests.Session, base_url: str, access_key_id: str, access_key_secret: str,
                 expires: int = 600):
        self.session = session
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.host = parts.netloc
        self.base_path = parts.path
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.expires = expires

    def signed_params(self, method: str, path: str, params: Mapping[str, Any]) -> dict[str, str]:
        """``params`` plus the auth parameters and a fresh signature (a new Timestamp each call)."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        query.update(AccessKeyId=self.access_key_id, Expires=str(self.expires), Timestamp=clink_timestamp())
        query["Signature"] = clink_signature(self._secret, method, self.host, self.base_path + path, query)
        return query

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = self.base_url + path
        try:
            # The Host header is sent explicitly: it is part of the signed string, so say it.
            response = request(self.session, "GET", url, params=self.signed_params("GET", path, params),
                               headers={"Host": self.host})
        except PermanentError as exc:
            raise PermanentError(f"Clink GET {path} refused: {_clink_error(exc)}", code=exc.code) from None
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Clink GET {path}: answer is not JSON") from None
        if isinstance(body, dict) and body.get("error"):
            # Some gateways answer 200 with an error object; treat it as the 4xx it means.
            error = body["error"]
            raise PermanentError(f"Clink GET {path} refused: {error.get('code')}: {error.get('message')}", code=error.get("code"))
        return body


def _clink_error(exc: PermanentError) -> str:
    """The ``code: message`` part of Clink's error payload in ``exc``, if it carried one."""
    text = exc.message
    start = text.find("{")
    if start >= 0:
        import json

        try:
            error = json.loads(text[start:]).get("error") or {}
            return f"HTTP {exc.code}: {error.get('code')}: {error.get('message')}"
        except ValueError:
            pass
    return text
