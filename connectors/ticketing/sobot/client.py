"""Sobot Open Platform 5.0 client: ``/api/ws/5/ticket/…`` with the ``token`` header.

The ``get_token`` token is documented for the Open Platform 5.0 APIs only, so tickets are
created with ``POST /api/ws/5/ticket/save_user_ticket`` (JSON body) and read with
``GET /api/ws/5/ticket/query_tickets_by_update_time`` (query string), the token in the
``token`` header — as taadis/zhichi (``client/http_client.go``, ``ticket/*.go``) and
shizg666/homeauto-v3 (``SobotUtils.java``) call them. Answers carry ``ret_code`` /
``ret_msg`` and ``item`` (one object) or ``items`` (a page): see
:mod:`connectors.ticketing.sobot.wire`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.ticketing.sobot.token import sobot_token
from connectors.ticketing.sobot.wire import SUCCESS, TOKEN_ERRORS, error_for, json_answer

if TYPE_CHECKING:
    from hub.connector import Connector

SAVE_USER_TICKET = "/api/ws/5/ticket/save_user_ticket"
QUERY_TICKETS_BY_UPDATE_TIME = "/api/ws/5/ticket/query_tickets_by_update_time"


class SobotClient:
    def __init__(self, connector: "Connector"):
        self.connector = connector
        self.base_url = connector.config["base_url"].rstrip("/")
        self.tokens = sobot_token(connector)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             json: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a 5.0 API; return the whole answer (``ret_code`` already checked). A refused
        token is refetched and the call retried once."""
        where = path.rsplit("/", 1)[-1]
        token = self.tokens.get()
        for attempt in (1, 2):
            kwargs: dict[str, Any] = {"headers": {"token": token}}
            if params is not None:
                kwargs["params"] = params
            if json is not None:
                kwargs["json"] = json
            body = json_answer(self.connector.http, method, self.base_url + path, where, **kwargs)
            code = body["ret_code"]
            if code == SUCCESS:
                return body
            if code in TOKEN_ERRORS and attempt == 1:
                token = self.tokens.get(invalid=token)
                continue
            raise error_for(code, body.get("ret_msg"), where, scrub=(token,))
        raise AssertionError("unreachable")

    def save_user_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Create a ticket on behalf of a customer; return the answer's ``item``."""
        item = self.call("POST", SAVE_USER_TICKET, json=ticket).get("item")
        return item if isinstance(item, dict) else {}

    def query_tickets_by_update_time(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of tickets updated in a window (the whole answer: ``items``/``item``,
        ``page_no``, ``page_count``, ``total_count``)."""
        return self.call("GET", QUERY_TICKETS_BY_UPDATE_TIME, params=params)
