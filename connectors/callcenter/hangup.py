"""Clink's hang-up push (挂机推送): unsigned form fields, authenticated by the URL.

Clink posts a call's record when the call ends, as plain form fields prefixed ``cdr_`` — the
fields public integration code reads in its ``tianrun_notify_call_end`` handler:
``cdr_main_unique_id`` (the call, e.g. ``ccic2_202-1367040082.6``), ``cdr_enterprise_id``,
``cdr_customer_number``, ``cdr_customer_area_code``, ``cdr_customer_number_type`` (1 landline,
2 mobile), ``cdr_start_time`` / ``cdr_answer_time`` / ``cdr_bridge_time`` / ``cdr_end_time``
(Unix seconds), ``cdr_call_type`` (3 click-to-call, 4 preview outbound; 1 inbound),
``cdr_status`` (21/22 customer did not answer, 24 agent did not answer, 28 both answered),
``cdr_mark``, ``cdr_number_trunk``, ``cdr_bridged_cno`` and ``userField``. Tinet's own
``CdrConst`` names the same ``cdr_*`` keys.

Clink signs nothing, so the push URL carries a secret: ``/webhooks/<instance>?token=<push_token>``
(constant-time compare); ``push_ips`` optionally restricts the source addresses (Clink's
egress IPs; CIDRs allowed). The fields are read from the form body and the query (GET or POST),
normalised to the field names of Clink's pulled CDRs (``uniqueId``, ``customerNumber``,
``startTime``, ``bridgeTime``, ``endTime``, ``cno``, ``hotline``, ``statusCode`` …) and routed
to ``cdr_inbound`` / ``cdr_outbound`` by ``cdr_call_type``; the record's dedupe key is the call
id, so a retried push and the pull's copy are one call.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import parse_qsl

from hub.connector import Record, WebhookRejected, WebhookRequest, WebhookResult, inputs

TOKEN_PARAM = "token"
#: ``cdr_call_type`` → direction. 3 and 4 are published; 1 (呼入) and 2 (网上400) are inbound and
#: 5–9 (predictive, direct, auto…) outbound in Clink's pulled records.
INBOUND_TYPES = {"1", "2"}
OUTBOUND_TYPES = {"3", "4", "5", "6", "7", "8", "9"}
#: ``cdr_status`` texts as the source lists them.
STATUS_TEXT = {"21": "客户未接听(超时)", "22": "客户未接听(空号拥塞)", "24": "座席未接听", "28": "双方接听"}
MAX_FIELD = 512


def _fields(req: WebhookRequest) -> dict[str, str]:
    """Form fields of the body (when it is a form) and the query, the body winning."""
    out = {k: v for k, v in req.args.items() if k != TOKEN_PARAM}
    content_type = (req.header("Content-Type") or "").lower()
    if req.body and ("form" in content_type or not content_type):
        try:
            text = req.body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("hang-up push body is not a UTF-8 form", status=400) from None
        out.update(pairs)
    for key, value in out.items():
        if len(value) > MAX_FIELD:
            raise WebhookRejected(f"field {key} is longer than {MAX_FIELD} characters", status=400)
    return inputs.ensure_storable(out, what="hang-up push")


def _allowed(remote: str | None, allow: list[str]) -> bool:
    if not allow:
        return True
    try:
        address = ipaddress.ip_address((remote or "").strip())
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allow)


def _time(fields: Mapping[str, str], key: str) -> int | None:
    value = (fields.get(key) or "").strip()
    if value in ("", "0"):
        return None
    return inputs.parse_epoch(value, key)


def normalise_hangup(fields: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    call_id = (fields.get("cdr_main_unique_id") or "").strip()
    if not call_id or len(call_id) > 128:
        raise WebhookRejected("cdr_main_unique_id is required (at most 128 characters)", status=400)
    call_type = (fields.get("cdr_call_type") or "").strip()
    if call_type in INBOUND_TYPES:
        direction = "inbound"
    elif call_type in OUTBOUND_TYPES:
        direction = "outbound"
    else:
        raise WebhookRejected(f"unknown cdr_call_type {call_type[:8]!r}", status=400)
    start, bridge, end = (_time(fields, k) for k in ("cdr_start_time", "cdr_bridge_time", "cdr_end_time"))
    answer = _time(fields, "cdr_answer_time")
    status_code = (fields.get("cdr_status") or "").strip()
    cdr: dict[str, Any] = {
        "uniqueId": call_id, "mainUniqueId": call_id, "callType": call_type, "direction": direction,
        "customerNumber": (fields.get("cdr_customer_number") or "").strip(),
        "customerAreaCode": fields.get("cdr_customer_area_code") or None,
        "hotline": fields.get("cdr_number_trunk") or None,
        "cno": fields.get("cdr_bridged_cno") or None,
        "startTime": start, "answerTime": answer, "bridgeTime": bridge or 0, "endTime": end,
        "status": STATUS_TEXT.get(status_code, status_code), "statusCode": status_code,
        "mark": fields.get("cdr_mark") or None, "userField": fields.get("userField") or fields.get("CDR(userfield)") or None,
        "enterpriseId": fields.get("cdr_enterprise_id") or None,
        "source": "hangup_push", "raw": dict(fields),
    }
    if start and end:
        cdr["totalDuration"] = max(0, end - start)
    if bridge and end:
        cdr["bridgeDuration"] = max(0, end - bridge)
    if not cdr["customerNumber"]:
        raise WebhookRejected("cdr_customer_number is required", status=400)
    return ("cdr_inbound" if direction == "inbound" else "cdr_outbound"), cdr


def handle_hangup(config: Mapping[str, Any], req: WebhookRequest) -> WebhookResult:
    expected = config.get("push_token")
    if not expected:
        raise WebhookRejected("the Clink hang-up push is not enabled for this instance (no push_token)", status=404)
    given = req.args.get(TOKEN_PARAM) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRejected("missing or wrong push token", status=401)
    if not _allowed(req.remote_addr, list(config.get("push_ips") or [])):
        raise WebhookRejected("source address is not in push_ips", status=403)
    stream, cdr = normalise_hangup(_fields(req))
    updated = datetime.fromtimestamp(cdr["startTime"], tz=timezone.utc) if cdr.get("startTime") else None
    record = Record(native_id=cdr["uniqueId"], data=cdr, updated_at=updated, dedupe_key=f"cdr:{cdr['uniqueId']}")
    return WebhookResult(records=[(stream, record)], body=json.dumps({"result": "success"}), content_type="application/json")
