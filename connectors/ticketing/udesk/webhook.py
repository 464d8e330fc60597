"""Udesk pushes: event callbacks and trigger (触发器) HTTP notifications, ``POST {action, message}``.

Udesk signs neither (its event-callback documentation defines no signature), so the callback
URL carries a shared secret: ``…/webhooks/<instance>?token=<webhook_token>`` (or the header
``X-Udesk-Token``), compared in constant time. A push without the right token is refused and
nothing is stored.

Ticket changes reach us through a trigger whose HTTP notification posts
``{"action": "Ticket_create" | "Ticket_update", "message": <ticket as the open API returns it>}``;
they become ``tickets`` records deduplicated by ``(ticket id, updated_at)``. Udesk's built-in
event callbacks (``Customer_create``, ``ImSubSession_close``, …) are acknowledged but carry no
ticket, so they store nothing; the pull reconciles anything a push missed.
"""

from __future__ import annotations

import json

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult

from connectors.ticketing.udesk.signing import token_matches
from connectors.ticketing.udesk.streams import annotate, parse_udesk_time

TICKET_ACTIONS = ("Ticket_create", "Ticket_update")


class UdeskWebhook(WebhookHandler):
    def handle(self, req: WebhookRequest) -> WebhookResult:
        expected = self.connector.config.get("webhook_token")
        if not expected:
            raise WebhookRejected("Udesk pushes are not enabled for this instance (no webhook_token)", status=404)
        presented = req.args.get("token") or req.header("X-Udesk-Token")
        if not token_matches(presented, expected):
            raise WebhookRejected("missing or wrong Udesk webhook token")
        try:
            event = json.loads(req.body)
            action = event["action"]
            message = event["message"]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("body is not a Udesk {action, message} event", status=400) from None
        ok = WebhookResult(body=json.dumps({"code": 1000}), content_type="application/json")
        if action not in TICKET_ACTIONS:
            return ok
        try:
            ticket_id = str(int(message["id"]))
            updated = parse_udesk_time(message["updated_at"])
        except (KeyError, TypeError, ValueError):
            raise WebhookRejected("ticket event without a usable id / updated_at", status=400) from None
        record = Record(native_id=ticket_id, data=annotate(message), updated_at=updated,
                        dedupe_key=f"udesk:ticket:{ticket_id}:{message['updated_at']}")
        ok.records = [("tickets", record)]
        return ok
