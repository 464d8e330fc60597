"""An in-memory Example CRM: the same paths, payloads, status codes and signatures as the
real API, for demos and the standard connector suite."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from flask import Blueprint, jsonify, request

from hub.connector.records import WebhookRequest
from hub.connector.sandbox import Sandbox

from hub_example.signing import sign

API_KEY = "sandbox-api-key-0001"
WEBHOOK_SECRET = "sandbox-webhook-secret"
WRITABLE = {"name", "phone", "email", "tier"}


class ExampleSandbox(Sandbox):
    def __init__(self) -> None:
        self.contacts: dict[int, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[int, dict]] = {}
        self.applied: list[dict[str, Any]] = []
        self._ids = itertools.count(1001)
        self._clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        #: Answers to give writes before handling them: ``(status, retry_after or None)``.
        self.write_failures: list[tuple[int, str | None]] = []

    def fail_writes(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """Make the next ``times`` writes answer ``status`` (500, 429 with Retry-After, 400…)."""
        self.write_failures.extend([(status, retry_after)] * times)

    # -- state changes, as the CRM's users would make them -------------------------------
    def _tick(self, advance: bool = False) -> str:
        # Several new records share each timestamp, as they do in real bulk imports: the
        # connector's cursor must still neither skip nor repeat them.
        if advance or len(self.contacts) % 3 == 0:
            self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    def add_records(self, stream: str, count: int) -> list[str]:
        assert stream == "contacts", stream
        ids = []
        for _ in range(count):
            cid = next(self._ids)
            self.contacts[cid] = {
                "id": cid,
                "name": f"客户{cid}",
                "phone": f"+86139{cid:08d}",
                "email": f"c{cid}@example.cn",
                "tier": "silver",
                "updated_at": self._tick(),
            }
            ids.append(str(cid))
        return ids

    def update_record(self, stream: str, native_id: str) -> None:
        row = self.contacts[int(native_id)]
        row["tier"] = "gold"
        row["updated_at"] = self._tick(advance=True)

    # -- what the suite inspects ----------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "page_size": 10}

    def sample_payload(self, sink: str) -> dict[str, Any]:
        return {"name": "王小明", "phone": "+8613912345678", "tier": "gold"}

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self.applied)

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        (cid,) = self.add_records("contacts", 1)
        body = json.dumps(
            {"event_id": f"evt_{cid}", "type": "contact.updated", "contact": self.contacts[int(cid)]},
            ensure_ascii=False,
        ).encode()
        ts = str(int(time.time()))
        secret = config.get("webhook_secret") or ""
        headers = {"Content-Type": "application/json", "X-Example-Timestamp": ts, "X-Example-Signature": sign(secret, ts, body)}
        return WebhookRequest(method="POST", path="/webhooks/example", headers=headers, args={}, body=body)

    # -- the API --------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        bp = Blueprint("example_crm", __name__)

        @bp.before_request
        def _auth():
            if request.headers.get("Authorization") != f"Bearer {API_KEY}":
                return jsonify(error="invalid_api_key"), 401
            return None

        @bp.get("/v1/me")
        def me():
            return jsonify(account="sandbox", plan="demo")

        @bp.get("/v1/contacts")
        def list_contacts():
            try:
                limit = int(request.args.get("limit", 100))
            except ValueError:
                return jsonify(error="limit must be an integer"), 400
            if not 1 <= limit <= 500:
                return jsonify(error="limit must be 1..500"), 400
            since = request.args.get("updated_since")
            after = int(request.args.get("after_id", 0))
            rows = sorted(self.contacts.values(), key=lambda r: (r["updated_at"], r["id"]))
            if since:
                rows = [r for r in rows if (r["updated_at"], r["id"]) > (since, after)]
            page = rows[:limit]
            return jsonify(data=page, has_more=len(rows) > limit)

        def _idempotent(apply):
            if self.write_failures:
                status, retry_after = self.write_failures.pop(0)
                resp = jsonify(error=f"simulated {status}")
                resp.status_code = status
                if retry_after is not None:
                    resp.headers["Retry-After"] = retry_after
                return resp
            key = request.headers.get("Idempotency-Key")
            if not key:
                return jsonify(error="Idempotency-Key header required"), 400
            if key in self.idempotency:
                status, body = self.idempotency[key]
                return jsonify(body), status
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or set(body) - WRITABLE:
                return jsonify(error=f"writable fields are {sorted(WRITABLE)}"), 422
            status, result = apply(body)
            if status < 300:
                self.idempotency[key] = (status, result)
                self.applied.append(dict(result))
            return jsonify(result), status

        @bp.post("/v1/contacts")
        def create_contact():
            def apply(body):
                cid = next(self._ids)
                self.contacts[cid] = {"id": cid, **{k: body.get(k) for k in WRITABLE}, "updated_at": self._tick()}
                return 201, self.contacts[cid]

            return _idempotent(apply)

        @bp.patch("/v1/contacts/<int:cid>")
        def update_contact(cid: int):
            def apply(body):
                if cid not in self.contacts:
                    return 404, {"error": f"no contact {cid}"}
                self.contacts[cid].update(body, updated_at=self._tick(advance=True))
                return 200, self.contacts[cid]

            return _idempotent(apply)

        return bp
