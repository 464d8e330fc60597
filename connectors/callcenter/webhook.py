"""A generic, signed CDR push for call-center vendors without a documented push format.

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
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult

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


def parse_time(value: Any) -> int | None:
    """Unix seconds from epoch seconds / milliseconds, ``yyyy-MM-dd HH:mm:ss`` (China time) or ISO 8601."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(float(value))
        return number // 1000 if number > 10**11 else number
    text = str(value).strip().replace("T", " ").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unrecognised time {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return int(parsed.timestamp())


def normalise_cdr(raw: Mapping[str, Any], fields: Mapping[str, str], directions: Mapping[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """``(stream, normalised CDR)`` for one pushed CDR; raises ValueError when unusable."""
    out: dict[str, Any] = {}
    for ours, theirs in fields.items():
        if theirs in raw and raw[theirs] is not None:
            out[CANONICAL_FIELDS[ours]] = raw[theirs]
    call_id = out.get("uniqueId")
    if call_id in (None, ""):
        raise ValueError(f"no call id in field {fields['call_id']!r}")
    out["uniqueId"] = str(call_id)
    for key in TIME_FIELDS:
        if key in out:
            out[key] = parse_time(out[key])
    for key in INT_FIELDS:
        if key in out and out[key] not in ("", None):
            out[key] = int(float(out[key]))
    if "totalDuration" not in out and out.get("startTime") and out.get("endTime"):
        out["totalDuration"] = out["endTime"] - out["startTime"]
    if "bridgeDuration" not in out and out.get("bridgeTime") and out.get("endTime"):
        out["bridgeDuration"] = out["endTime"] - out["bridgeTime"]
    for key in ("customerNumber", "hotline", "cno", "clientNumber"):
        if key in out:
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

    def handle(self, req: WebhookRequest) -> WebhookResult:
        config = self.connector.config
        secret = config.get("webhook_secret")
        if not secret:
            raise WebhookRejected("CDR push is not enabled for this instance (no webhook_secret)", status=404)
        timestamp = (req.header(TIMESTAMP_HEADER) or "").strip()
        signature = (req.header(SIGNATURE_HEADER) or "").strip().lower()
        if signature.startswith("sha256="):
            signature = signature[len("sha256="):]
        if not timestamp.isdigit():
            raise WebhookRejected(f"missing or malformed {TIMESTAMP_HEADER}")
        if abs(time.time() - int(timestamp)) > config.get("webhook_tolerance", 300):
            raise WebhookRejected(f"{TIMESTAMP_HEADER} is outside the allowed window (replayed or clock skew)")
        if not signature or not hmac.compare_digest(signature, cdr_push_signature(secret, timestamp, req.body)):
            raise WebhookRejected(f"bad {SIGNATURE_HEADER}")
        try:
            payload = json.loads(req.body)
        except ValueError:
            raise WebhookRejected("body is not JSON", status=400) from None
        items = payload if isinstance(payload, list) else [payload]
        fields = {**DEFAULT_FIELDS, **(config.get("webhook_fields") or {})}
        directions = {**DEFAULT_DIRECTIONS, **(config.get("webhook_directions") or {})}
        records: list[tuple[str, Record]] = []
        for item in items:
            if not isinstance(item, dict):
                raise WebhookRejected("each CDR must be a JSON object", status=400)
            try:
                stream, cdr = normalise_cdr(item, fields, directions)
            except (ValueError, TypeError) as exc:
                raise WebhookRejected(f"malformed CDR: {exc}", status=400) from None
            updated = datetime.fromtimestamp(cdr["startTime"], tz=timezone.utc) if cdr.get("startTime") else None
            records.append((stream, Record(native_id=cdr["uniqueId"], data=cdr, updated_at=updated,
                                           dedupe_key=f"cdr:{cdr['uniqueId']}")))
        if not records:
            raise WebhookRejected("no CDR in the body", status=400)
        return WebhookResult(records=records, body=json.dumps({"code": 0, "message": "ok"}), content_type="application/json")
