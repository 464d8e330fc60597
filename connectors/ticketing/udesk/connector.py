"""Udesk connector: tickets pulled by ``updated_at``, customers, a create/update sink, event
callbacks and ticket-trigger pushes.

Config keys
-----------
``base_url``           your Udesk domain, ``https://<sub>.udesk.cn`` (or ``https://<sub>.s2.udesk.cn``)
``email``              the admin login the open-API token belongs to
``api_token``          the open-API token (secret) — 管理中心 › 单点登录/API › API 密钥
``password``           instead of ``api_token``: the admin's password (secret); the token is then
                       obtained from ``POST /open_api_v1/log_in`` and shared by all workers
``page_size``          tickets per page, 1–100 (default 100)
``idempotency_field``  optional ticket custom field (``TextField_…``) that records the write key
``webhook_token``      shared secret expected as ``?token=`` / ``X-Udesk-Token`` on pushes (secret)
``timezone``           zone of pushed times without an offset (default ``Asia/Shanghai``)
"""

from __future__ import annotations

from functools import cached_property

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit, Secret, inputs

from hub.connector.tokens import SharedToken

from connectors.ticketing.udesk.client import UdeskClient
from connectors.ticketing.udesk.customers import CustomersStream
from connectors.ticketing.udesk.sandbox import UdeskSandbox
from connectors.ticketing.udesk.sinks import TicketsSink
from connectors.ticketing.udesk.streams import TicketsStream
from connectors.ticketing.udesk.webhook import UdeskWebhook


#: How long a token from /open_api_v1/log_in is reused before logging in again.
LOGIN_TOKEN_SECONDS = 86400


class UdeskConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(required=True, require_tld=False)
    email = fields.Email(required=True)
    api_token = Secret(load_default=None, validate=validate.Length(min=8))
    password = Secret(load_default=None, validate=validate.Length(min=1))
    page_size = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    idempotency_field = fields.String(load_default=None, validate=validate.Regexp(r"^(TextField|SelectField)_\d+$"))
    webhook_token = Secret(load_default=None, validate=validate.Length(min=16))

    @validates_schema
    def _one_credential(self, data, **kwargs):
        if not data.get("api_token") and not data.get("password"):
            raise ValidationError("give api_token, or password to obtain one from /open_api_v1/log_in", "api_token")
    #: The zone of pushed times without a UTC offset (an IANA name).
    timezone = inputs.TimeZone(load_default=inputs.DEFAULT_ZONE)


class UdeskConnector(Connector):
    name = "udesk"
    title = "Udesk 工单"
    version = "1.0.0"
    config_schema = UdeskConfig
    streams = {"tickets": TicketsStream, "customers": CustomersStream}
    sinks = {"tickets": TicketsSink}
    webhook = UdeskWebhook
    # Udesk's documented default: 60 open-API calls per minute per company.
    rate_limits = (RateLimit(calls=60, per_seconds=60, scope="all"),)
    sandbox = UdeskSandbox
    # Udesk documents no signature for trigger webhooks: a token authenticates them.
    suite_options = {"webhook_signs_body": False}

    @cached_property
    def client(self) -> UdeskClient:
        config = self.config
        if config.get("api_token"):
            return UdeskClient(self.http, config["base_url"], config["email"], config["api_token"])
        client = UdeskClient(self.http, config["base_url"], config["email"], token=lambda invalid=None: tokens.get(invalid=invalid))
        # The log_in token does not expire on a schedule; re-login daily and whenever refused.
        tokens = SharedToken(self, "udesk", (config["base_url"], config["email"], config["password"]),
                             lambda: (client.log_in(config["password"]), LOGIN_TOKEN_SECONDS))
        return client

    def check(self) -> None:
        try:
            self.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})
        except PermanentError as exc:
            raise CheckFailed(f"Udesk refused the credentials: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Udesk unreachable: {exc.message}") from None
