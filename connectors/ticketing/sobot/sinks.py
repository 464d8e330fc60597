"""Sobot ``tickets`` sink: open a ticket through Open Platform 5.0 ``save_user_ticket``.

Payload (what the outbound mapping yields) — Sobot's own 5.0 field names::

    {"ticket_title": "…", "ticket_content": "…", "user_tels": "+8613812345678",
     "user_email": "…", "ticket_typeid": "…", "ticket_from": "…"}

``companyid`` comes from the config, and so do ``ticket_typeid`` (the leaf category the
ticket is filed under — required by Sobot) and ``ticket_from`` (its source — required) when
the payload leaves them out. Sobot finds the customer by "客户 ID > 对接 ID > 客户邮箱 >
客户手机号" and creates one when none matches (taadis/zhichi ``save_user_ticket.go``); the
sink sends whichever of e-mail and mobile the contact has, plus the configured preferred
contact way (``first_contact_type`` 1 e-mail, 2 mobile) when the contact has that identity.
Sobot stores national mobiles: the hub's E.164 ``+86…`` is sent as 11 digits. Title and
content are cut to 300 / 3000 characters (the legacy API's documented limits; the 5.0 limits
are unverified).

**Create only.** The hub only opens tickets here: a write with ``native_id`` (the contact's
previous ticket) opens a new one. Narrow the mapping with ``when:``.

**Idempotency.** Sobot has no idempotency key. As for Udesk, ``key → ticket id`` is kept in
durable state (``Sink.remember_write``): a repeated key returns the recorded ticket without
calling Sobot. The key is also appended to the content as ``[huiliu:<key>]``, so the one
remaining gap — Sobot created the ticket but the answer was lost before the state was saved,
and a retry opens it again — leaves a duplicate that is recognisable (and searchable) in
Sobot. Delivery is at least once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.connector import PermanentError, Sink, WriteResult

if TYPE_CHECKING:
    from connectors.ticketing.sobot.connector import SobotConnector

EMAIL, MOBILE = 1, 2
TITLE_MAX, CONTENT_MAX = 300, 3000


def marker(idempotency_key: str) -> str:
    return f"[huiliu:{idempotency_key}]"


def national(phone: Any) -> str:
    """``+8613812345678`` → ``13812345678``; other text unchanged (stripped)."""
    text = str(phone).strip()
    return text[3:] if text.startswith("+86") else text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TicketsSink(Sink):
    name = "tickets"
    description = "open a Sobot ticket (Open Platform 5.0 save_user_ticket; idempotent per key via durable state)"

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c: "SobotConnector" = self.connector  # type: ignore[assignment]
        done = self.written_before(idempotency_key)
        if done:
            return done
        item = c.client.save_user_ticket(self._ticket(payload, idempotency_key))
        if not item.get("ticketid"):
            # Sobot said success: the ticket most likely exists. Retrying would open another.
            raise PermanentError(f"Sobot answered success without item.ticketid; look for {marker(idempotency_key)}")
        ticket_id = str(item["ticketid"])
        self.remember_write(idempotency_key, ticket_id)
        return WriteResult(native_id=ticket_id, created=True, data=item)

    def _ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        config = self.connector.config
        title = str(payload.get("ticket_title") or "").strip()
        if not title:
            raise PermanentError("a Sobot ticket needs ticket_title")
        phone = national(payload["user_tels"]) if payload.get("user_tels") else ""
        email = str(payload.get("user_email") or "").strip()
        if not (phone or email):
            raise PermanentError("a Sobot ticket needs user_tels or user_email")
        typeid = str(payload.get("ticket_typeid") or config["ticket_typeid"]).strip()
        source = str(payload.get("ticket_from") if payload.get("ticket_from") not in (None, "") else config["ticket_from"])
        if not source.isdigit():
            raise PermanentError(f"ticket_from must be Sobot's numeric source code, not {source!r}")
        tail = "\n\n" + marker(idempotency_key)
        body = str(payload.get("ticket_content") or title).strip()
        ticket: dict[str, Any] = {
            "companyid": config["company_id"],
            "ticket_title": _cut(title, TITLE_MAX),
            "ticket_content": _cut(body, CONTENT_MAX - len(tail)) + tail,
            "ticket_typeid": typeid,
            "ticket_from": source,
        }
        if phone:
            ticket["user_tels"] = phone
        if email:
            ticket["user_email"] = email
        way = config["first_contact_type"]
        value = phone if way == MOBILE else email
        if value:
            ticket["first_contact_type"], ticket["first_contact_info"] = way, value
        return ticket
