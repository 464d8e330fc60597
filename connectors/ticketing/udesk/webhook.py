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

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.ticketing.udesk.signing import token_matches
from connectors.ticketing.udesk.streams import annotate

TICKET_ACTIONS = ("Ticket_create", "Ticket_update")


class UdeskWebhook(WebhookHandler):
    max_body = 512 * 1024  # one ticket with its custom fields
    max_records = 1

    def handle(self, req: WebhookRequest) -> WebhookResult:
        expected = self.connector.config.get("webhook_token")
        if not expected:
            raise WebhookRejected("Udesk pushes are not enabled for this instance (no webhook_token)", status=404)
        presented = req.args.get("token") or req.header("X-Udesk-Token")
        if not token_matches(presented, expected):
            raise WebhookRejected("missing or wrong Udesk webhook token")
        inputs.check_body_size(req.body, self.max_body)
        event = inputs.parse_json(req.body)
        if not isinstance(event, dict) or "action" not in event or "message" not in event:
            raise WebhookRejected("body is not a Udesk {action, message} event", status=400)
        action, message = event["action"], event["message"]
        ok = WebhookResult(body=json.dumps({"code": 1000}), content_type="application/json")
        if action not in TICKET_ACTIONS:
            return ok
        if not isinstance(message, dict) or "id" not in message or "updated_at" not in message:
            raise WebhookRejected("ticket event without an id / updated_at", status=400)
        ticket_id = inputs.parse_id(message["id"], "message.id")
        updated = inputs.parse_time(message["updated_at"], "message.updated_at", inputs.zone_of(self.connector.config))
        record = Record(native_id=ticket_id, data=annotate(message), updated_at=updated,
                        dedupe_key=f"udesk:ticket:{ticket_id}:{message['updated_at']}")
        ok.records = [("tickets", record)]
        return ok
