"""Udesk pushes: event callbacks (事件回调) and ticket-trigger (触发器) HTTP requests.

Neither is signed (Udesk's event-callback documentation defines no signature), so the callback
URL carries a shared secret: ``…/webhooks/<instance>?token=<webhook_token>`` (or the header
``X-Udesk-Token``), compared in constant time. A push without the right token is refused and
nothing is stored.

* **Event callbacks** (udesk.cn/doc/apiv2/webhook): ``POST {"action", "message"}``.
  ``Customer_create`` / ``Customer_update`` carry the customer (``id, nick_name, email,
  other_emails, cellphones[{id, content}] …``) and become ``customers`` records;
  ``Customer_destroy`` a deleted one. ``Organization_*``, ``ImSubSession_*``,
  ``ShutQueue_create``, ``AgentNote_update`` and ``ImSurveyVote_create`` are acknowledged and
  store nothing. Udesk can send the callback as a form (its content_type setting): ``action``
  and ``message`` (JSON text) fields are read then.
* **Ticket triggers**: a trigger's HTTP-request action posts a body the admin writes with
  Udesk's placeholders — Udesk publishes no fixed format. Any other body is read as a trigger
  notification about one ticket, whose id is ``ticket_id``, ``ticket.id``, ``message.id`` or
  ``id``. When the body carries the whole ticket (with ``updated_at``) it becomes a ``tickets``
  record (deduplicated by id + ``updated_at``); when it carries only the id the hub queues a
  ``tickets`` pull (``WebhookResult.pulls``), which reads the ticket from the open API. The
  ``action`` name of a trigger body is not read.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.ticketing.udesk.customers import customer_record
from connectors.ticketing.udesk.signing import token_matches
from connectors.ticketing.udesk.streams import annotate

CUSTOMER_ACTIONS = ("Customer_create", "Customer_update", "Customer_destroy")
#: Documented callbacks the hub has no stream for: acknowledged, nothing stored.
OTHER_EVENTS = frozenset({"Organization_create", "Organization_update", "Organization_destroy", "ImSubSession_create",
                          "ImSubSession_close", "ShutQueue_create", "AgentNote_update", "ImSurveyVote_create"})


def _body(req: WebhookRequest) -> dict[str, Any]:
    content_type = (req.header("Content-Type") or "").lower()
    if "form" in content_type:
        try:
            fields = dict(parse_qsl(req.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=100))
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("form body is not UTF-8 form fields", status=400) from None
        if "message" in fields:
            fields["message"] = inputs.parse_json(fields["message"], what="message")
        return inputs.ensure_storable(fields, what="push")
    event = inputs.parse_json(req.body)
    if not isinstance(event, dict):
        raise WebhookRejected("body must be a JSON object", status=400)
    return event


class UdeskWebhook(WebhookHandler):
    max_body = 512 * 1024  # one ticket or customer with its custom fields
    max_records = 1

    def handle(self, req: WebhookRequest) -> WebhookResult:
        expected = self.connector.config.get("webhook_token")
        if not expected:
            raise WebhookRejected("Udesk pushes are not enabled for this instance (no webhook_token)", status=404)
        presented = req.args.get("token") or req.header("X-Udesk-Token")
        if not token_matches(presented, expected):
            raise WebhookRejected("missing or wrong Udesk webhook token")
        inputs.check_body_size(req.body, self.max_body)
        event = _body(req)
        ok = WebhookResult(body=json.dumps({"code": 1000}), content_type="application/json")
        action = event.get("action")
        if action is not None and not isinstance(action, str):  # a list would even break the set lookup
            raise WebhookRejected("action must be a string", status=400)
        if action in CUSTOMER_ACTIONS:
            ok.records = [("customers", self._customer(event))]
            return ok
        if action in OTHER_EVENTS:
            return ok
        return self._trigger(event, ok)

    @staticmethod
    def _customer(event: dict[str, Any]) -> Record:
        message = event.get("message")
        if not isinstance(message, dict) or "id" not in message:
            raise WebhookRejected(f"{event['action']} without message.id", status=400)
        customer = {**message, "id": inputs.parse_id(message["id"], "message.id")}
        stamp = message.get("updated_at") or ""
        return customer_record(customer, deleted=event["action"] == "Customer_destroy",
                               dedupe_key=f"udesk:customer:{customer['id']}:{event['action']}:{stamp}")

    def _trigger(self, event: dict[str, Any], ok: WebhookResult) -> WebhookResult:
        ticket = next((v for v in (event.get("ticket"), event.get("message")) if isinstance(v, dict)), event)
        raw_id = ticket.get("id", event.get("ticket_id"))
        if raw_id in (None, ""):
            raise WebhookRejected("neither a Udesk event (action) nor a ticket trigger body (ticket id)", status=400)
        ticket_id = inputs.parse_id(raw_id, "ticket id")
        if ticket.get("updated_at") in (None, ""):
            ok.pulls = ["tickets"]  # only the id: read the ticket from the open API now
            return ok
        updated = inputs.parse_time(ticket["updated_at"], "updated_at", inputs.zone_of(self.connector.config))
        data = annotate({**ticket, "id": int(ticket_id)})
        ok.records = [("tickets", Record(native_id=ticket_id, data=data, updated_at=updated,
                                         dedupe_key=f"udesk:ticket:{ticket_id}:{ticket['updated_at']}"))]
        return ok
