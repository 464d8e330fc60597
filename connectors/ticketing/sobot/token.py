"""The Sobot access token, fetched in one place and shared by every worker.

Every ``GET /api/get_token`` issues a **new** token (valid ``expires_in`` seconds, 24 h today)
and Sobot warns that fetching one per business call "easily invalidates tokens". So the token
is a :class:`hub.connector.tokens.SharedToken` per (base URL, appid, app key), as WeCom's
is: cached in Redis until shortly before it expires, one worker fetching at a time. A token
Sobot refuses (``900001``/``900002``) is replaced by ``get(invalid=that token)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.connector import PermanentError
from hub.connector.tokens import SharedToken

from connectors.ticketing.sobot.signing import token_params
from connectors.ticketing.sobot.wire import SUCCESS, TOKEN_ERRORS, error_for, json_answer

if TYPE_CHECKING:
    from hub.connector import Connector

#: What Sobot documents when ``expires_in`` is missing or unreadable.
DEFAULT_EXPIRES_IN = 86400


def _seconds(value: object) -> int:
    try:
        return int(str(value))  # Sobot sends it as a string ("86400")
    except ValueError:
        return DEFAULT_EXPIRES_IN


def sobot_token(connector: "Connector") -> SharedToken:
    base_url = connector.config["base_url"].rstrip("/")
    appid: str = connector.config["appid"]
    app_key: str = connector.config["app_key"]

    def fetch() -> tuple[str, int]:
        body = json_answer(connector.http, "GET", f"{base_url}/api/get_token", "get_token",
                           params=token_params(appid, app_key))
        code, item = body["ret_code"], body.get("item") or {}
        if code != SUCCESS or not isinstance(item, dict) or not item.get("token"):
            exc = error_for(code, body.get("ret_msg") or "no item.token in the answer", "get_token", scrub=(app_key,))
            if code in TOKEN_ERRORS or code == SUCCESS:
                exc = PermanentError(exc.message, code=code)  # on get_token these cannot pass by retrying
            raise exc
        return str(item["token"]), _seconds(item.get("expires_in", DEFAULT_EXPIRES_IN))

    return SharedToken(connector, "sobot", (base_url, appid, app_key), fetch)
