"""Leads pushed by a Feiyu lead-push rule (线索推送).

Feiyu posts each new lead as JSON to the URL in the rule, with the fields renamed to the
receiver's names as the rule says (``push_field_map`` undoes that; by default the names are
the Marketing API's). No request signature is documented for these pushes — only a token
the rule can send — so the push is authenticated by ``push_token``, compared in constant
time, taken from the header ``push_token_header`` (default ``X-Feiyu-Token``) or the query
parameter ``push_token_param`` (default ``token``).

A token does not protect the body's integrity (TLS does); that is why every pushed lead is
also read again by the ``leads`` pull, which reconciles it. Each pushed lead gets
``dedupe_key = "clue:<clue_id>"`` so a repeated push of one lead is one inbox row.
Accepted bodies: one lead object, a list of leads, or ``{"data"|"list": [leads]}``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from hub.connector import WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.feiyu import normalize
from connectors.feiyu.streams import lead_record


def _leads(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "list"):
            if isinstance(body.get(key), list):
                return body[key]
        return [body]
    raise WebhookRejected("push body must be a JSON object or list", status=400)


class FeiyuPushWebhook(WebhookHandler):
    #: A push rule sends one lead per request; batches are accepted up to these limits.
    max_body = 4 * 1024 * 1024
    max_records = 5000

    def handle(self, req: WebhookRequest) -> WebhookResult:
        config = self.connector.config
        expected = config.get("push_token")
        if not expected:
            raise WebhookRejected("push_token is not configured for this instance", status=404)
        given = req.header(config["push_token_header"]) or req.args.get(config["push_token_param"]) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRejected("missing or wrong push token", status=401)
        inputs.check_body_size(req.body, self.max_body)
        body = inputs.parse_json(req.body, what="push body")
        leads = _leads(body)
        if len(leads) > self.max_records:
            raise WebhookRejected(f"push carries {len(leads)} leads; at most {self.max_records} per request", status=413)
        records = []
        for index, raw in enumerate(leads):
            if not isinstance(raw, dict):
                raise WebhookRejected(f"pushed lead {index + 1} is not a JSON object", status=400)
            lead = normalize.from_push(raw, config["push_field_map"])
            if lead.get("clue_id") in (None, ""):
                raise WebhookRejected(f"pushed lead {index + 1} has no clue_id", status=400)
            clue_id = inputs.parse_id(lead["clue_id"], f"lead {index + 1}: clue_id")
            lead["clue_id"] = clue_id
            records.append(("leads", lead_record(lead, dedupe_key=f"clue:{clue_id}")))
        if not records:
            raise WebhookRejected("push carried no leads", status=400)
        return WebhookResult(
            records=records,
            body=json.dumps({"code": 0, "message": "success"}),
            content_type="application/json",
        )
