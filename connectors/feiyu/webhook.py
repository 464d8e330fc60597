"""Leads pushed by a Feiyu lead-push rule (线索推送), in the shape real pushes have.

The one public receiver of real pushes (saoxia/erpnext_china, ``lead_domain_for_douyin.py``)
reads the lead id as ``id``, the phone as ``telphone`` (sic), a Unix ``create_time``,
``adv_name``, ``location`` (``省+市``) and answers ``{"code": 0, "message": "success"}``. The
push is authenticated by three headers, sent when the rule has a secret and a token:
``Access-Token`` (the rule's token), ``Timestamp`` and ``Signature`` over
``id|token|timestamp`` (:mod:`connectors.feiyu.auth.push_signing`, which accepts each reading
of that thin source). The door checks all three: the token in constant time, the timestamp
within ``push_tolerance`` (a replayed push is refused) and the signature. A push without them
is refused — no token-only door exists.

A push that already uses the Marketing API names (``clue_id``, ``telephone``) is accepted too.
Each lead gets ``dedupe_key = "clue:<id>"``, the same as the pull, so a repeated push and the
pull's copy are one inbox row each way; the ``leads`` pull reconciles anything a push missed.
A body is one lead; a list of leads (for forwarders; not a Feiyu form) is signed over its first
lead's id.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from hub.connector import WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.feiyu import normalize
from connectors.feiyu.auth.push_signing import signature_matches
from connectors.feiyu.streams import lead_record


def _leads(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise WebhookRejected("push body must be a JSON object (one lead)", status=400)


def _raw_id(lead: Any, index: int) -> str:
    if not isinstance(lead, dict):
        raise WebhookRejected(f"pushed lead {index + 1} is not a JSON object", status=400)
    value = lead.get("id", lead.get("clue_id"))
    if value in (None, ""):
        raise WebhookRejected(f"pushed lead {index + 1} has no id (clue_id)", status=400)
    return inputs.parse_id(value, f"lead {index + 1}: clue_id")


class FeiyuPushWebhook(WebhookHandler):
    #: A push rule sends one lead per request; batches are accepted up to these limits.
    max_body = 4 * 1024 * 1024
    max_records = 5000

    def handle(self, req: WebhookRequest) -> WebhookResult:
        config = self.connector.config
        token = config.get("push_token")
        if not token:
            raise WebhookRejected("push_token is not configured for this instance", status=404)
        given_token = req.header("Access-Token") or req.header("Access_Token") or ""
        if not hmac.compare_digest(given_token.encode(), token.encode()):
            raise WebhookRejected("missing or wrong Access-Token", status=401)
        timestamp = (req.header("Timestamp") or "").strip()
        # Seconds are assumed (unverified); a 13-digit value is read as milliseconds for the
        # replay window, and signed as sent either way.
        in_seconds = timestamp[:-3] if len(timestamp) == 13 and timestamp.isascii() and timestamp.isdigit() else timestamp
        inputs.check_timestamp(in_seconds, "Timestamp", config["push_tolerance"])
        signature = req.header("Signature") or ""
        if not signature:
            raise WebhookRejected("Signature is required", status=401)
        inputs.check_body_size(req.body, self.max_body)
        leads = _leads(inputs.parse_json(req.body, what="push body"))
        if not leads:
            raise WebhookRejected("push carried no leads", status=400)
        if len(leads) > self.max_records:
            raise WebhookRejected(f"push carries {len(leads)} leads; at most {self.max_records} per request", status=413)
        ids = [_raw_id(raw, index) for index, raw in enumerate(leads)]
        if not signature_matches(signature, ids[0], token, timestamp, config.get("push_secret")):
            raise WebhookRejected("wrong Signature", status=401)
        records = []
        for raw, clue_id in zip(leads, ids):
            lead = normalize.from_push(raw, config["push_field_map"])
            lead["clue_id"] = clue_id
            records.append(("leads", lead_record(lead, dedupe_key=f"clue:{clue_id}")))
        return WebhookResult(
            records=records,
            body=json.dumps({"code": 0, "message": "success"}),
            content_type="application/json",
        )

