"""The CDR push doors of the ``clink`` connector.

Two doors share ``/webhooks/<instance>``: Clink's own hang-up push — unsigned ``cdr_*`` form
fields authenticated by ``?token=`` (and optionally the source IP) — is handled by
:mod:`connectors.callcenter.hangup` whenever a request carries that token and no
``X-Hub-Signature``; everything else is the generic signed JSON push below.

A generic, signed CDR push for call-center vendors without a documented push format.

No public CDR push format (or signature) was found for Clink or most 400-line vendors, so the
hub defines one and the vendor's push rule is configured to match it:

* ``POST`` a JSON object (one CDR) or an array of objects; field names are whatever the vendor
  sends — ``webhook_fields`` maps our names to theirs (``call_id: uniqueId``, …).
* ``X-Hub-Timestamp``: Unix seconds; refused when more than ``webhook_tolerance`` (300 s) away
  from our clock, so a captured push cannot be replayed later.
* ``X-Hub-Signature``: ``hex(HMAC-SHA256(webhook_secret, timestamp + "." + raw body))``
  (an optional ``sha256=`` prefix is accepted), compared in constant time.

Each CDR is normalised to the field names of Clink's own CDRs (``uniqueId``, ``customerNumber``,
``hotline``, ``cno``, ``startTime`` …, times as Unix seconds) so one mapping per stream serves
both the pull and the push, and routed to ``cdr_inbound`` / ``cdr_outbound`` by its direction.
The record's ``dedupe_key`` is the call id: a vendor retrying the same CDR is stored once.
Anything unsigned, stale, malformed or without a call id is refused and nothing is stored.
"""

from __future__ import annotations

import hmac
import json
import math
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Mapping

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.callcenter.hangup import TOKEN_PARAM, handle_hangup
from connectors.callcenter.signing import cdr_push_signature

SIGNATURE_HEADER = "X-Hub-Signature"
TIMESTAMP_HEADER = "X-Hub-Timestamp"
CHINA = timezone(timedelta(hours=8))

#: Our field name → the normalised (Clink-style) key it lands in.
CANONICAL_FIELDS: dict[str, str] = {
    "call_id": "uniqueId",
    "direction": "direction",
    "customer_number": "customerNumber",
    "hotline": "hotline",
    "agent": "cno",
    "agent_name": "clientName",
    "agent_number": "clientNumber",
    "start_time": "startTime",
    "answer_time": "bridgeTime",
    "end_time": "endTime",
    "total_duration": "totalDuration",
    "talk_duration": "bridgeDuration",
    "status": "status",
    "recording_url": "recordUrl",
    "customer_province": "customerProvince",
    "customer_city": "customerCity",
}
DEFAULT_FIELDS: dict[str, str] = {name: name for name in CANONICAL_FIELDS}
TIME_FIELDS = ("startTime", "bridgeTime", "endTime")
INT_FIELDS = ("totalDuration", "bridgeDuration")
DEFAULT_DIRECTIONS: dict[str, list[str]] = {
    "inbound": ["inbound", "in", "ib", "1", "呼入"],
    "outbound": ["outbound", "out", "ob", "2", "4", "外呼", "呼出"],
}
STREAM_FOR_DIRECTION = {"inbound": "cdr_inbound", "outbound": "cdr_outbound"}


def parse_time(value: Any, field: str = "time", zone: tzinfo = CHINA) -> int | None:
    """Unix seconds from epoch seconds / milliseconds, ``yyyy-MM-dd HH:mm:ss`` (``zone``, the
    connector's configured zone) or ISO 8601; :class:`WebhookRejected` (400) when unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    return int(inputs.parse_time(value, field, zone).timestamp())


def normalise_cdr(raw: Mapping[str, Any], fields: Mapping[str, str], directions: Mapping[str, list[str]],
                  zone: tzinfo = CHINA) -> tuple[str, dict[str, Any]]:
    """``(stream, normalised CDR)`` for one pushed CDR; raises ValueError or
    :class:`WebhookRejected` when unusable."""
    out: dict[str, Any] = {}
    for ours, theirs in fields.items():
        if theirs in raw and raw[theirs] is not None:
            out[CANONICAL_FIELDS[ours]] = raw[theirs]
    call_id = out.get("uniqueId")
    if call_id in (None, ""):
        raise ValueError(f"no call id in field {fields['call_id']!r}")
    if not isinstance(call_id, (str, int)) or isinstance(call_id, bool) or len(str(call_id)) > 128:
        raise ValueError(f"call id in field {fields['call_id']!r} must be a string of at most 128 characters")
    out["uniqueId"] = str(call_id)
    names = {CANONICAL_FIELDS[ours]: theirs for ours, theirs in fields.items()}
    for key in TIME_FIELDS:
        if key in out:
            out[key] = parse_time(out[key], names[key], zone)
    for key in INT_FIELDS:
        if key in out and out[key] not in ("", None):
            value = out[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out[key] = inputs.parse_int(value, names[key], minimum=0, maximum=10**9)
    if "totalDuration" not in out and out.get("startTime") and out.get("endTime"):
        out["totalDuration"] = out["endTime"] - out["startTime"]
    if "bridgeDuration" not in out and out.get("bridgeTime") and out.get("endTime"):
        out["bridgeDuration"] = out["endTime"] - out["bridgeTime"]
    for key in ("customerNumber", "hotline", "cno", "clientNumber"):
        if key in out:
            if isinstance(out[key], (dict, list)):
                raise ValueError(f"field {names[key]!r} must be a string")
            out[key] = str(out[key])  # keep raw digits (leading 0s!); the mapping normalises phones
    direction_value = str(out.pop("direction", "")).strip().lower()
    for direction, values in directions.items():
        if direction_value in {str(v).lower() for v in values}:
            out["direction"] = direction
            out["source"] = "push"
            out["raw"] = dict(raw)
            return STREAM_FOR_DIRECTION[direction], out
    raise ValueError(f"unknown direction {direction_value!r} in field {fields['direction']!r}")


class SignedCdrWebhook(WebhookHandler):
    """Verifies and normalises generic CDR pushes (see the module docstring)."""

    max_body = 2 * 1024 * 1024
    max_records = 2000

    def handle(self, req: WebhookRequest) -> WebhookResult:
        config = self.connector.config
        if req.header(SIGNATURE_HEADER) is None and TOKEN_PARAM in req.args:
            # No signature but a URL token: Clink's own hang-up push (connectors/callcenter/hangup.py).
            inputs.check_body_size(req.body, self.max_body)
            return handle_hangup(config, req)
        secret = config.get("webhook_secret")
        if not secret:
            raise WebhookRejected("CDR push is not enabled for this instance (no webhook_secret)", status=404)
        inputs.check_body_size(req.body, self.max_body)
        signature = (req.header(SIGNATURE_HEADER) or "").strip().lower()
        if signature.startswith("sha256="):
            signature = signature[len("sha256="):]
        timestamp = inputs.check_timestamp(req.header(TIMESTAMP_HEADER), TIMESTAMP_HEADER, config.get("webhook_tolerance", 300))
        # compare_digest refuses non-ASCII text with a TypeError: such a signature is just wrong.
        if not signature or not signature.isascii() \
                or not hmac.compare_digest(signature, cdr_push_signature(secret, timestamp, req.body)):
            raise WebhookRejected(f"bad {SIGNATURE_HEADER}")
        payload = inputs.parse_json(req.body)
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > self.max_records:
            raise WebhookRejected(f"push carries {len(items)} CDRs; at most {self.max_records} per request", status=413)
        zone = inputs.zone_of(config)
        fields = {**DEFAULT_FIELDS, **(config.get("webhook_fields") or {})}
        directions = {**DEFAULT_DIRECTIONS, **(config.get("webhook_directions") or {})}
        records: list[tuple[str, Record]] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise WebhookRejected(f"CDR {index + 1} is not a JSON object", status=400)
            try:
                stream, cdr = normalise_cdr(item, fields, directions, zone)
            except WebhookRejected as exc:
                raise WebhookRejected(f"malformed CDR {index + 1}: {exc.message}", status=400) from None
            except (ValueError, TypeError) as exc:
                raise WebhookRejected(f"malformed CDR {index + 1}: {exc}", status=400) from None
            updated = datetime.fromtimestamp(cdr["startTime"], tz=timezone.utc) if cdr.get("startTime") else None
            records.append((stream, Record(native_id=cdr["uniqueId"], data=cdr, updated_at=updated,
                                           dedupe_key=f"cdr:{cdr['uniqueId']}")))
        if not records:
            raise WebhookRejected("no CDR in the body", status=400)
        return WebhookResult(records=records, body=json.dumps({"code": 0, "message": "ok"}), content_type="application/json")
