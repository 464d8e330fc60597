"""Udesk connector: tickets pulled by ``updated_at``, a create/update sink and the trigger webhook.

Config keys
-----------
``base_url``           your Udesk domain, ``https://<sub>.udesk.cn`` (or ``https://<sub>.s2.udesk.cn``)
``email``              the admin login the open-API token belongs to
``api_token``          the open-API token (secret) — 管理中心 › 单点登录/API › API 密钥
``page_size``          tickets per page, 1–100 (default 100)
``idempotency_field``  optional ticket custom field (``TextField_…``) that records the write key
``webhook_token``      shared secret expected as ``?token=`` / ``X-Udesk-Token`` on pushes (secret)
``timezone``           zone of pushed times without an offset (default ``Asia/Shanghai``)
"""

from __future__ import annotations

from functools import cached_property

from marshmallow import RAISE, Schema, fields, validate

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit, Secret, inputs

from connectors.ticketing.udesk.client import UdeskClient
from connectors.ticketing.udesk.sandbox import UdeskSandbox
from connectors.ticketing.udesk.sinks import TicketsSink
from connectors.ticketing.udesk.streams import TicketsStream
from connectors.ticketing.udesk.webhook import UdeskWebhook


class UdeskConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(required=True, require_tld=False)
    email = fields.Email(required=True)
    api_token = Secret(required=True, validate=validate.Length(min=8))
    page_size = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    idempotency_field = fields.String(load_default=None, validate=validate.Regexp(r"^(TextField|SelectField)_\d+$"))
    webhook_token = Secret(load_default=None, validate=validate.Length(min=16))
    #: The zone of pushed times without a UTC offset (an IANA name).
    timezone = inputs.TimeZone(load_default=inputs.DEFAULT_ZONE)


class UdeskConnector(Connector):
    name = "udesk"
    title = "Udesk 工单"
    version = "1.0.0"
    config_schema = UdeskConfig
    streams = {"tickets": TicketsStream}
    sinks = {"tickets": TicketsSink}
    webhook = UdeskWebhook
    # Udesk's documented default: 60 open-API calls per minute per company.
    rate_limits = (RateLimit(calls=60, per_seconds=60, scope="all"),)
    sandbox = UdeskSandbox
    # Udesk documents no signature for trigger webhooks: a token authenticates them.
    suite_options = {"webhook_signs_body": False}

    @cached_property
    def client(self) -> UdeskClient:
        return UdeskClient(self.http, self.config["base_url"], self.config["email"], self.config["api_token"])

    def check(self) -> None:
        try:
            self.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})
        except PermanentError as exc:
            raise CheckFailed(f"Udesk refused the credentials: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Udesk unreachable: {exc.message}") from None
