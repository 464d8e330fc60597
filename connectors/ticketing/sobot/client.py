"""Sobot legacy ticket API client: ``POST /ws-open/ticket/ticket_api``.

The body is ``{"action": …, "access_token": <token>, "method": "post", "data": {…}}`` as
Sobot's legacy document for ``addCustomerTicket`` shows (blog.sobot.com/document/65); the
same token also travels in the ``token`` header, the open platform v5 convention.
**Unverified**: which of the two the legacy endpoint reads, whether it accepts the v5
``/api/get_token`` token at all (a 2018 integration fetched its ticket token from
``/ws-open/ticket/get_access_token`` instead) and the shape of its answer — assumed
``{"ret_code": "000000", "ret_msg": …, "item": {"ticketid": …}}``. An answer of another
shape fails permanently, naming its keys (:func:`~connectors.ticketing.sobot.wire.json_answer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.ticketing.sobot.token import sobot_token
from connectors.ticketing.sobot.wire import SUCCESS, TOKEN_ERRORS, error_for, json_answer

if TYPE_CHECKING:
    from hub.connector import Connector

TICKET_API = "/ws-open/ticket/ticket_api"


class SobotClient:
    def __init__(self, connector: "Connector"):
        self.connector = connector
        self.base_url = connector.config["base_url"].rstrip("/")
        self.tokens = sobot_token(connector)

    def ticket_api(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        """Call ``action``; return the answer's ``item``. A refused token is refetched and the
        call retried once."""
        where = f"ticket_api {action}"
        token = self.tokens.get()
        for attempt in (1, 2):
            body = json_answer(self.connector.http, "POST", self.base_url + TICKET_API, where, headers={"token": token},
                               json={"action": action, "access_token": token, "method": "post", "data": data})
            code = body["ret_code"]
            if code == SUCCESS:
                item = body.get("item")
                return item if isinstance(item, dict) else {}
            if code in TOKEN_ERRORS and attempt == 1:
                token = self.tokens.get(invalid=token)
                continue
            raise error_for(code, body.get("ret_msg"), where, scrub=(token,))
        raise AssertionError("unreachable")
