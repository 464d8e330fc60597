"""Sobot (智齿) connector: a ticket stream and a ticket-creation sink through the Open
Platform 5.0 ticket APIs (the only ones the ``get_token`` token is documented for). No webhook.

Config keys
-----------
``base_url``            ``https://www.sobot.com`` (default); ``https://www.soboten.com`` (Tencent Cloud) or another region's host
``appid``               the open-platform app id (智齿售后提供)
``app_key``             its key (secret); it only signs ``get_token``, it never travels
``company_id``          your company id (企业 ID), sent as ``companyid`` with every ticket
``ticket_typeid``       the leaf ticket category new tickets are filed under (required by Sobot)
``ticket_from``         the ticket source code new tickets carry (required by Sobot; see 数据字典)
``first_contact_type``  preferred contact way sent with a ticket: 2 mobile (default) or 1 e-mail
``page_size``           tickets per page read, 1–50 (default 50)
``initial_days``        how far back the first read starts, in days (default 30)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit, Secret

from connectors.ticketing.sobot.client import SobotClient
from connectors.ticketing.sobot.sandbox import SobotSandbox
from connectors.ticketing.sobot.sinks import TicketsSink
from connectors.ticketing.sobot.streams import CHINA, FORMAT, TicketsStream

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
    ticket_typeid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    ticket_from = fields.String(required=True, validate=validate.Regexp(r"^\d{1,4}$", error="ticket_from must be Sobot's numeric source code"))
    first_contact_type = fields.Integer(load_default=2, validate=validate.OneOf([1, 2]))
    page_size = fields.Integer(load_default=50, validate=validate.Range(1, 50))
    initial_days = fields.Integer(load_default=30, validate=validate.Range(1, 3650))


class SobotConnector(Connector):
    name = "sobot"
    title = "Sobot 智齿工单"
    version = "1.0.0"
    config_schema = SobotConfig
    streams = {"tickets": TicketsStream}
    sinks = {"tickets": TicketsSink}
    # Sobot publishes no quota for the ticket API: one call a second is polite.
    rate_limits = (RateLimit(calls=60, per_seconds=60),)
    sandbox = SobotSandbox
    # No webhook: the suite skips the push checks; nothing to tune.
    suite_options: ClassVar[dict[str, Any]] = {}

    @cached_property
    def client(self) -> SobotClient:
        return SobotClient(self)

    def check(self) -> None:
        """Get a token (or find one cached for these credentials) and read one page of
        tickets updated today — a harmless call that proves the token opens the 5.0 APIs."""
        try:
            now = datetime.now(CHINA).replace(microsecond=0)
            self.client.query_tickets_by_update_time(
                {"update_start_datetime": (now - timedelta(days=1)).strftime(FORMAT),
                 "update_end_datetime": now.strftime(FORMAT), "page_no": 1, "page_size": 1})
        except PermanentError as exc:
            hint = f" ({HINTS[str(exc.code)]})" if str(exc.code) in HINTS else ""
            raise CheckFailed(f"Sobot refused the credentials{hint}: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Sobot unreachable: {exc.message}") from None
