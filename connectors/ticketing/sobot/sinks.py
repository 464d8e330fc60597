"""Sobot ``tickets`` sink: open a ticket through the legacy ``addCustomerTicket`` action.

Payload (what the outbound mapping yields) — Sobot's own field names, ``soruce`` misspelt
exactly as the API spells it::

    {"ticketTitle": "…", "ticketContent": "…", "customerPhone": "+8613812345678",
     "customerEmail": "…", "soruce": 0, "ticketStartWay": 2, "ticketLevel": 1, "ticketStatus": 0}

``companyId`` comes from the config, and so do ``ticketStartWay`` / ``ticketLevel`` /
``ticketStatus`` when the payload leaves them out. Sobot files the ticket against the
customer it finds by e-mail (``ticketStartWay`` 1) or mobile (2) — creating one if neither
matches — so the sink uses the configured way when the payload has that identity, else the
other one. Sobot stores 11-digit mobiles: the hub's E.164 ``+86…`` is sent nationally.
Title and content are cut to Sobot's documented 300 / 3000 characters.

**Create only.** The legacy API cannot update a ticket: a write with ``native_id`` (the
contact's previous ticket) opens a new one. Narrow the mapping with ``when:``.

**Idempotency.** Sobot has no idempotency key, no custom field on customer tickets and no
search in this API. As for Udesk, ``key → ticket id`` is kept in durable state (``Sink.remember_write``):
a repeated key returns the recorded ticket without calling Sobot. The key is also appended
to the content as ``[huiliu:<key>]``, so the one remaining gap — Sobot created the ticket
but the answer was lost before the state was saved, and a retry opens it again — leaves a
duplicate that is recognisable (and searchable) in Sobot. Delivery is at least once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.connector import PermanentError, Sink, WriteResult

if TYPE_CHECKING:
    from connectors.ticketing.sobot.connector import SobotConnector

EMAIL, MOBILE = 1, 2
#: Sobot's "普通用户来源" when the payload sets none: 0 PC (1 微信, 2 APP, 3 微博, 4 WAP).
DEFAULT_SOURCE = 0
TITLE_MAX, CONTENT_MAX = 300, 3000


def marker(idempotency_key: str) -> str:
    return f"[huiliu:{idempotency_key}]"


def _national(phone: Any) -> str:
    text = str(phone).strip()
    return text[3:] if text.startswith("+86") else text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(payload: dict[str, Any], key: str, default: int) -> int:
    value = payload.get(key)
    try:
        return default if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        raise PermanentError(f"{key} must be a number, not {value!r}") from None


class TicketsSink(Sink):
    name = "tickets"
    description = "open a Sobot ticket (legacy addCustomerTicket; idempotent per key via durable state)"

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c: "SobotConnector" = self.connector  # type: ignore[assignment]
        done = self.written_before(idempotency_key)
        if done:
            return done
        item = c.client.ticket_api("addCustomerTicket", self._ticket(payload, idempotency_key))
        if not item.get("ticketid"):
            # Sobot said success: the ticket most likely exists. Retrying would open another.
            raise PermanentError(f"Sobot answered success without item.ticketid; look for {marker(idempotency_key)}")
        ticket_id = str(item["ticketid"])
        self.remember_write(idempotency_key, ticket_id)
        return WriteResult(native_id=ticket_id, created=True, data=item)

    def _ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        config = self.connector.config
        title = str(payload.get("ticketTitle") or "").strip()
        if not title:
            raise PermanentError("a Sobot ticket needs ticketTitle")
        phone = _national(payload["customerPhone"]) if payload.get("customerPhone") else ""
        email = str(payload.get("customerEmail") or "").strip()
        way = _int(payload, "ticketStartWay", config["ticket_start_way"])
        if way not in (EMAIL, MOBILE):
            raise PermanentError(f"ticketStartWay must be 1 (e-mail) or 2 (mobile), not {way}")
        if not (phone if way == MOBILE else email):
            way = EMAIL if email else MOBILE if phone else 0
        if not way:
            raise PermanentError("a Sobot ticket needs customerPhone or customerEmail")
        tail = "\n\n" + marker(idempotency_key)
        body = str(payload.get("ticketContent") or title).strip()
        ticket = {
            "companyId": config["company_id"],
            "ticketTitle": _cut(title, TITLE_MAX),
            "ticketStartWay": way,
            "ticketContent": _cut(body, CONTENT_MAX - len(tail)) + tail,
            "soruce": _int(payload, "soruce", DEFAULT_SOURCE),
            "ticketStatus": _int(payload, "ticketStatus", config["ticket_status"]),
            "ticketLevel": _int(payload, "ticketLevel", config["ticket_level"]),
        }
        if phone:
            ticket["customerPhone"] = phone
        if email:
            ticket["customerEmail"] = email
        return ticket
