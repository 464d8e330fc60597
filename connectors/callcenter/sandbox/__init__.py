"""An in-memory Clink open API (``/cc/list_cdr_ibs``, ``/cc/list_cdr_obs``) for demos and tests.

It verifies the query signature exactly as Clink does (unknown key, bad signature, expired or
malformed timestamp each answer with Clink's error payload and a 4xx), enforces Clink's paging
limits (``limit`` 10–100, ``offset + limit`` ≤ 10000, a window of at most one month), and lists
only calls that have **ended** — a call in progress has no CDR yet, as in the real system.
It also signs generic CDR pushes the way a configured vendor would.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

import requests
from flask import Blueprint, jsonify, request

from hub.connector.records import WebhookRequest
from hub.connector.sandbox import Sandbox

from connectors.callcenter.sandbox.data import AGENTS, ENTERPRISE_ID, HOTLINE, make_cdr
from connectors.callcenter.signing import CLINK_TIMESTAMP_FORMAT, cdr_push_signature, clink_signature

ACCESS_KEY_ID = "5f0c1d2e3b4a59687766554433221100"
ACCESS_KEY_SECRET = "Sandbox+Clink/Secret0123456789=="
WEBHOOK_SECRET = "sandbox-cdr-push-secret-0001"
PUSH_TOKEN = "sandbox-clink-hangup-token-0001"
#: How a sandbox "vendor" names its push fields (exercises ``webhook_fields``).
VENDOR_FIELDS = {
    "call_id": "cdr_id", "direction": "call_direction", "customer_number": "caller", "hotline": "did",
    "agent": "agent_no", "agent_name": "agent_name", "start_time": "begin_at", "answer_time": "answer_at",
    "end_time": "end_at", "talk_duration": "talk_seconds", "status": "result", "recording_url": "record_url",
}
STREAMS = {"cdr_inbound": ("inbound", "cdrIbs"), "cdr_outbound": ("outbound", "cdrObs")}
PATHS = {"/cc/list_cdr_ibs": "cdr_inbound", "/cc/list_cdr_obs": "cdr_outbound"}
SANDBOX_SETTLE = 600
CHINA = timezone(timedelta(hours=8))


def china(ts: int) -> str:
    """A vendor-style local time string (``yyyy-MM-dd HH:mm:ss``, China time); "" for 0."""
    return datetime.fromtimestamp(ts, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def clink_error(status: int, code: str, message: str):
    return jsonify(requestId=str(uuid.uuid4()), error={"code": code, "message": message}), status


class ClinkSandbox(Sandbox):
    control_methods = ("add_records", "update_record", "new_call", "push_hangup")

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.cdrs: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in STREAMS}
        self._seq = 0
        self._clock = int(time.time()) - 3 * 3600
        self.pushed: list[str] = []

    # -- the remote users' actions --------------------------------------------------------
    def _next_start(self) -> int:
        self._clock += self.rng.randint(5, 40)
        # Calls the suite creates must already be settled (ended well before the read).
        self._clock = min(self._clock, int(time.time()) - SANDBOX_SETTLE - 3600)
        return self._clock

    def add_cdr(self, stream: str, start: int, **overrides: Any) -> dict[str, Any]:
        """Add one CDR that started at ``start`` (Unix seconds); ``overrides`` replace fields."""
        direction, _ = STREAMS[stream]
        self._seq += 1
        row = make_cdr(self.rng, direction, start, self._seq)
        row.update(overrides)
        self.cdrs[stream][row["uniqueId"]] = row
        return row

    def new_call(self, direction: str, customer_number: str, start: str | int, *, answered: bool = True,
                 talk_seconds: int = 180, ring_seconds: int = 12, agent: str | None = None,
                 province: str | None = None, city: str | None = None) -> dict[str, Any]:
        """One finished call as ``hub demo`` scripts it: ``direction`` ``inbound`` (to the 400
        line) or ``outbound`` (an agent dialling ``customer_number``), started at ``start``
        (ISO 8601 text or Unix seconds), answered or not, by agent 工号 ``agent`` (default:
        one of the sandbox's agents), the number's home location (归属地) ``province`` /
        ``city`` when given. The CDR's times, durations, status and recording agree."""
        stream = {"inbound": "cdr_inbound", "outbound": "cdr_outbound"}.get(direction)
        if stream is None:
            raise ValueError(f"direction must be inbound or outbound, not {direction!r}")
        begin = int(start) if isinstance(start, (int, float)) else int(datetime.fromisoformat(start).timestamp())
        names = dict(AGENTS)
        cno = agent or self.rng.choice(AGENTS)[0]
        if cno not in names:
            raise ValueError(f"unknown agent {cno!r} (agents: {', '.join(names)})")
        talk = max(1, int(talk_seconds)) if answered else 0
        bridge = begin + ring_seconds if answered else 0
        end = begin + ring_seconds + talk + 2
        if direction == "inbound":
            status, code = ("座席接听", "1") if answered else ("已呼叫座席，座席未接听", "2")
        else:
            status, code = ("双方接听", "28") if answered else ("客户未接听", "22")
        row = self.add_cdr(stream, begin, customerNumber=customer_number, cno=cno, clientName=names[cno],
                           bridgeTime=bridge, bridgeDuration=talk, endTime=end, totalDuration=end - begin,
                           status=status, statusCode=code,
                           **({"customerProvince": province} if province is not None else {}),
                           **({"customerCity": city} if city is not None else {}))
        row["recordFile"] = (f"{ENTERPRISE_ID}-{begin}-{customer_number}-{HOTLINE}-record-{row['uniqueId']}.mp3"
                             if answered else "")
        return dict(row)

    def add_records(self, stream: str, count: int) -> list[str]:
        return [self.add_cdr(stream, self._next_start())["uniqueId"] for _ in range(count)]

    def update_record(self, stream: str, native_id: str) -> None:
        # What changes on a CDR after the call: the satisfaction vote and the agent's notes.
        row = self.cdrs[stream][native_id]
        row.update(evaluation=1, mark=1, markData="客户要求回电", tags=["意向客户"])

    # -- what the suite inspects ----------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url, "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET,
            "page_size": 10, "settle_seconds": SANDBOX_SETTLE, "refresh_seconds": 86400, "initial_days": 2,
            "webhook_secret": WEBHOOK_SECRET, "webhook_fields": dict(VENDOR_FIELDS),
            "webhook_directions": {"inbound": ["IN"], "outbound": ["OUT"]}, "push_token": PUSH_TOKEN,
        }

    def sample_payload(self, sink: str) -> dict[str, Any]:
        raise KeyError(f"Clink has no sink {sink!r}")

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return []

    def push_body(self, row: Mapping[str, Any], direction: str, fields: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A vendor-shaped push of ``row`` (times as ``yyyy-MM-dd HH:mm:ss`` China time)."""
        fields = fields or VENDOR_FIELDS
        values = {
            "call_id": row["uniqueId"], "direction": "IN" if direction == "inbound" else "OUT",
            "customer_number": row["customerNumber"], "hotline": row.get("hotline") or row.get("clid"),
            "agent": row["cno"], "agent_name": row["clientName"], "start_time": china(row["startTime"]),
            "answer_time": china(row["bridgeTime"]), "end_time": china(row["endTime"]),
            "talk_duration": row["bridgeDuration"], "status": row["status"],
            "recording_url": f"https://record.example-cc.cn/r/{row['uniqueId']}.mp3" if row["recordFile"] else "",
        }
        return {fields[k]: v for k, v in values.items() if k in fields}

    def hangup_fields(self, row: Mapping[str, Any]) -> dict[str, str]:
        """``row`` as Clink's hang-up push sends it: ``cdr_*`` form fields, Unix-second times
        (the fields public ``tianrun_notify_call_end`` handlers read)."""
        status = str(row.get("statusCode") or ("28" if row["bridgeTime"] else "21"))
        return {
            "cdr_main_unique_id": row["uniqueId"], "cdr_enterprise_id": ENTERPRISE_ID,
            "cdr_customer_number": row["customerNumber"], "cdr_customer_area_code": row["customerNumber"][:3],
            "cdr_customer_number_type": "2" if row["customerNumber"].lstrip("0").startswith("1") else "1",
            "cdr_start_time": str(row["startTime"]), "cdr_answer_time": str(row["bridgeTime"] or 0),
            "cdr_bridge_time": str(row["bridgeTime"] or 0), "cdr_end_time": str(row["endTime"]),
            "cdr_call_type": row["callType"], "cdr_status": status, "cdr_mark": "2",
            "cdr_number_trunk": row.get("hotline") or row.get("clid") or "", "cdr_bridged_cno": row["cno"] or "",
            "userField": row.get("userField") or "",
        }

    def hangup_push(self, config: Mapping[str, Any], direction: str = "inbound") -> WebhookRequest:
        """A new call ends and Clink posts its hang-up push to ``…/webhooks/<instance>?token=…``."""
        row = self.add_cdr("cdr_inbound" if direction == "inbound" else "cdr_outbound", self._next_start())
        self.pushed.append(row["uniqueId"])
        body = urlencode(self.hangup_fields(row)).encode()
        return WebhookRequest(method="POST", path="/webhooks/clink",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              args={"token": config.get("push_token") or ""}, body=body, remote_addr="47.95.1.10")

    def push_hangup(self, unique_id: str, url: str, token: str = PUSH_TOKEN) -> dict[str, Any]:
        """Clink posts the hang-up push of call ``unique_id`` to ``url`` (``?token=`` appended),
        as form fields; returns the receiver's answer."""
        row = next((rows[unique_id] for rows in self.cdrs.values() if unique_id in rows), None)
        if row is None:
            raise ValueError(f"no call {unique_id!r}")
        sep = "&" if "?" in url else "?"
        resp = requests.post(f"{url}{sep}{urlencode({'token': token})}", data=self.hangup_fields(row), timeout=10)
        return {"status": resp.status_code, "body": resp.text[:200]}

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        row = self.add_cdr("cdr_inbound", self._next_start())
        self.pushed.append(row["uniqueId"])
        fields = {**{k: k for k in VENDOR_FIELDS}, **(config.get("webhook_fields") or {})}
        body = json.dumps(self.push_body(row, "inbound", fields), ensure_ascii=False).encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Hub-Timestamp": ts,
                   "X-Hub-Signature": cdr_push_signature(config.get("webhook_secret") or "", ts, body)}
        return WebhookRequest(method="POST", path="/webhooks/clink", headers=headers, args={}, body=body)

    # -- the API --------------------------------------------------------------------------
    def _authenticate(self):
        args = request.args
        for name in ("AccessKeyId", "Expires", "Timestamp", "Signature"):
            if not args.get(name):
                code = "MissingParameter.Signature" if name == "Signature" else f"MissingParameter.{name}"
                return clink_error(400, code, f"The input parameter {name} that is mandatory for processing this request is not supplied.")
        if args["AccessKeyId"] != ACCESS_KEY_ID:
            return clink_error(401, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        try:
            issued = datetime.strptime(args["Timestamp"], CLINK_TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc).timestamp()
            expires = int(args["Expires"])
        except ValueError:
            return clink_error(400, "InvalidTimestamp.Format", "Specified timestamp or date header is not in the correct format.")
        now = time.time()
        if now > issued + expires or issued > now + 900:
            return clink_error(401, "InvalidTimestamp.Expired", "Specified time stamp or date header is expired.")
        params = {k: v for k, v in args.items() if k != "Signature"}
        expected = clink_signature(ACCESS_KEY_SECRET, request.method, request.host, request.path, params)
        if args["Signature"] != expected:
            return clink_error(401, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        return None

    def blueprint(self) -> Blueprint:
        bp = Blueprint("clink_sandbox", __name__)

        @bp.before_request
        def _auth():
            return self._authenticate()

        def list_cdrs(stream: str):
            args = request.args
            try:
                offset = int(args.get("offset", 0))
                limit = int(args.get("limit", 10))
                now = int(time.time())
                start = int(args.get("startTime", datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0).timestamp()))
                end = int(args.get("endTime", now))
            except ValueError:
                return clink_error(400, "InvalidParameter", "offset, limit, startTime and endTime must be integers.")
            if not 10 <= limit <= 100:
                return clink_error(400, "InvalidParameter.Limit", "limit must be between 10 and 100.")
            if offset < 0 or offset + limit > 10000:
                return clink_error(400, "InvalidParameter.Offset", "offset + limit must not exceed 10000.")
            if end < start or end - start > 31 * 86400:
                return clink_error(400, "InvalidParameter.TimeRange", "startTime and endTime must be within one month.")
            _, key = STREAMS[stream]
            rows = sorted(
                (r for r in self.cdrs[stream].values() if start <= r["startTime"] <= end and r["endTime"] <= now),
                key=lambda r: (r["startTime"], r["uniqueId"]),
            )
            page = rows[offset: offset + limit]
            return jsonify({"requestId": str(uuid.uuid4()), "pageNumber": offset // limit + 1, "pageSize": limit,
                            "totalCount": len(rows), key: page})

        for path, stream in PATHS.items():
            bp.add_url_rule(path, f"list_{stream}", (lambda s: lambda: list_cdrs(s))(stream), methods=["GET"])
        return bp
