"""Example CRM connector: the smallest complete connector, a template for vendors.

* config: ``base_url``, ``api_key`` (secret), ``webhook_secret`` (secret), ``page_size``
* stream ``contacts``: ``GET /v1/contacts?updated_since&after_id&limit``, keyset order
  ``(updated_at, id)``; the cursor is the last ``(updated_at, id)`` seen, so a re-read
  from it neither repeats nor skips a record, even when many share one timestamp.
* sink ``contacts``: ``POST /v1/contacts`` (create) / ``PATCH /v1/contacts/<id>``, both with
  an ``Idempotency-Key`` header the CRM honours for 24 h.
* webhook: ``X-Example-Timestamp`` + ``X-Example-Signature`` (see :mod:`hub_example.signing`).
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any, Iterator

from marshmallow import RAISE, Schema, fields, validate

from hub.connector import (
    CheckFailed,
    Connector,
    ConnectorError,
    PermanentError,
    RateLimit,
    ReadBatch,
    Record,
    Secret,
    Sink,
    Stream,
    WebhookHandler,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    WriteResult,
    inputs,
)
from hub.connector.http import request

from hub_example.sandbox import ExampleSandbox
from hub_example.signing import sign

TIMESTAMP_TOLERANCE = 300


class ExampleConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(required=True, require_tld=False)
    api_key = Secret(required=True, validate=validate.Length(min=8))
    webhook_secret = Secret(load_default=None)
    page_size = fields.Integer(load_default=100, validate=validate.Range(1, 500))


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ContactsStream(Stream):
    name = "contacts"
    description = "CRM contacts, incremental by (updated_at, id)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        c: ExampleConnector = self.connector  # type: ignore[assignment]
        params: dict[str, Any] = {"limit": c.config["page_size"]}
        if cursor:
            params["updated_since"] = cursor["updated_at"]
            params["after_id"] = cursor["id"]
        while True:
            page = c.get("/v1/contacts", params=params)
            rows = page["data"]
            if not rows:
                return
            last = rows[-1]
            cursor = {"updated_at": last["updated_at"], "id": last["id"]}
            yield ReadBatch(
                records=[Record(native_id=str(r["id"]), data=r, updated_at=_parse_ts(r["updated_at"])) for r in rows],
                cursor=cursor,
            )
            if not page.get("has_more"):
                return
            params.update(updated_since=cursor["updated_at"], after_id=cursor["id"])


class ContactsSink(Sink):
    name = "contacts"
    description = "create or update a CRM contact"

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c: ExampleConnector = self.connector  # type: ignore[assignment]
        headers = {"Idempotency-Key": idempotency_key}
        if native_id:
            body = c.call("PATCH", f"/v1/contacts/{native_id}", json=payload, headers=headers)
            return WriteResult(native_id=str(body["id"]), created=False, data=body)
        body = c.call("POST", "/v1/contacts", json=payload, headers=headers)
        return WriteResult(native_id=str(body["id"]), created=True, data=body)


class ExampleWebhook(WebhookHandler):
    """One signed event per push. Everything the sender controls is read through
    :mod:`hub.connector.inputs` — never ``str.isdigit()``/``int()``/``json.loads`` by hand."""

    max_body = 64 * 1024  # one contact event
    max_records = 1

    def handle(self, req: WebhookRequest) -> WebhookResult:
        secret = self.connector.config.get("webhook_secret")
        if not secret:
            raise WebhookRejected("webhook_secret is not configured for this instance", status=404)
        timestamp = inputs.check_timestamp(req.header("X-Example-Timestamp"), "X-Example-Timestamp", TIMESTAMP_TOLERANCE)
        signature = req.header("X-Example-Signature") or ""
        if not signature.isascii() or not hmac.compare_digest(signature, sign(secret, timestamp, req.body)):
            raise WebhookRejected("bad X-Example-Signature")
        event = inputs.parse_json(req.body, what="event")
        contact = event.get("contact") if isinstance(event, dict) else None
        if not isinstance(contact, dict) or "id" not in contact or "updated_at" not in contact:
            raise WebhookRejected("event has no contact with an id and updated_at", status=400)
        if not isinstance(event.get("event_id"), str) or not isinstance(event.get("type"), str):
            raise WebhookRejected("event_id and type must be strings", status=400)
        record = Record(
            native_id=inputs.parse_id(contact["id"], "contact.id"),
            data=contact,
            updated_at=inputs.parse_time(contact["updated_at"], "contact.updated_at", inputs.zone_of(self.connector.config, "UTC")),
            deleted=event["type"] == "contact.deleted",
            dedupe_key=f"event:{event['event_id'][:200]}",
        )
        return WebhookResult(records=[("contacts", record)], body=json.dumps({"ok": True}), content_type="application/json")


class ExampleConnector(Connector):
    name = "example"
    title = "Example CRM"
    version = "0.2.0"
    config_schema = ExampleConfig
    streams = {"contacts": ContactsStream}
    sinks = {"contacts": ContactsSink}
    webhook = ExampleWebhook
    rate_limits = (RateLimit(calls=600, per_seconds=60),)
    sandbox = ExampleSandbox

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.config['api_key']}", **kwargs.pop("headers", {})}
        url = self.config["base_url"].rstrip("/") + path
        return request(self.http, method, url, headers=headers, **kwargs).json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def check(self) -> None:
        try:
            self.get("/v1/me")
        except PermanentError as exc:
            raise CheckFailed(f"Example CRM rejected the api_key ({exc.code})", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Example CRM unreachable: {exc.message}") from None
