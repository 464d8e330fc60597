"""Sobot (智齿) connector: a ticket-creation sink through the legacy ticket API. No stream, no
webhook.

Config keys
-----------
``base_url``          ``https://www.sobot.com`` (default); another region's host if yours is there
``appid``             the open-platform app id (智齿售后提供)
``app_key``           its key (secret); it only signs ``get_token``, it never travels
``company_id``        your company id (企业 ID), sent as ``companyId`` with every ticket
``ticket_start_way``  preferred customer identity: 2 mobile (default) or 1 e-mail
``ticket_level``      default priority: 0 低, 1 中 (default), 2 高, 3 紧急
``ticket_status``     default status: 0 尚未受理 (default), 1 受理中, 2 等待回复, 3 已解决, 99 已关闭
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit, Secret

from connectors.ticketing.sobot.client import SobotClient
from connectors.ticketing.sobot.sandbox import SobotSandbox
from connectors.ticketing.sobot.sinks import TicketsSink

#: What a refused get_token most likely means, for check().
HINTS = {"900003": "wrong app_key", "900004": "unknown appid (or another region's base_url)",
         "700046": "the company's Sobot edition has no API access"}


class SobotConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(load_default="https://www.sobot.com", require_tld=False)
    appid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    app_key = Secret(required=True, validate=validate.Length(min=1))
    company_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    ticket_start_way = fields.Integer(load_default=2, validate=validate.OneOf([1, 2]))
    ticket_level = fields.Integer(load_default=1, validate=validate.OneOf([0, 1, 2, 3]))
    ticket_status = fields.Integer(load_default=0, validate=validate.OneOf([0, 1, 2, 3, 99]))


class SobotConnector(Connector):
    name = "sobot"
    title = "Sobot 智齿工单"
    version = "1.0.0"
    config_schema = SobotConfig
    sinks = {"tickets": TicketsSink}
    # Sobot publishes no quota for the ticket API: one ticket a second is polite.
    rate_limits = (RateLimit(calls=60, per_seconds=60),)
    sandbox = SobotSandbox
    # No stream and no webhook: the suite skips the read and push checks; nothing to tune.
    suite_options: ClassVar[dict[str, Any]] = {}

    @cached_property
    def client(self) -> SobotClient:
        return SobotClient(self)

    def check(self) -> None:
        """Get a token (or find one cached for these credentials). ``company_id`` is not
        checked: the legacy ticket API has no harmless read to prove it."""
        try:
            self.client.tokens.get()
        except PermanentError as exc:
            hint = f" ({HINTS[str(exc.code)]})" if str(exc.code) in HINTS else ""
            raise CheckFailed(f"Sobot refused the credentials{hint}: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Sobot unreachable: {exc.message}") from None
