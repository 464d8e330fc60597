"""Clink (天润融通) call-center connector: CDR pull for inbound and outbound calls, Clink's own
hang-up push (:mod:`connectors.callcenter.hangup`) and the generic signed CDR push
(:mod:`connectors.callcenter.webhook`) for real-time delivery.

Config keys
-----------
``base_url``           Clink API host, ``https://api-bj.clink.cn`` (Beijing) / ``https://api-sh.clink.cn`` …
``access_key_id``      Clink 接口密钥 AccessKeyId (系统管理 › 系统对接 › 接口密钥)
``access_key_secret``  its AccessKeySecret (secret)
``expires``            request validity Clink enforces, seconds (default 600)
``page_size``          CDRs per page, 10–100 (default 100)
``settle_seconds``     read a start-time window only after this long (default 3600: calls end)
``refresh_seconds``    trailing window re-read for late-filled fields (default 86400, 0 = off)
``initial_days``       how far back the first read goes (default 30)
``webhook_secret``     enables the signed CDR push (secret); unset = pushes refused
``webhook_fields``     our field name → the vendor's field name in a push
``webhook_directions`` ``{inbound: [...], outbound: [...]}`` values of the direction field
``webhook_tolerance``  accepted clock skew of ``X-Hub-Timestamp``, seconds (default 300)
``push_token``         enables Clink's own hang-up push (secret): its URL is ``…/webhooks/<instance>?token=<push_token>``
``push_ips``           optional allow-list of the hang-up push's source addresses (IPs or CIDRs)
``timezone``           zone of pushed times without an offset (default ``Asia/Shanghai``)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit, Secret, inputs

from connectors.callcenter.client import ClinkClient
from connectors.callcenter.sandbox import ClinkSandbox
from connectors.callcenter.streams import InboundCdrStream, OutboundCdrStream
from connectors.callcenter.webhook import CANONICAL_FIELDS, SignedCdrWebhook


class ClinkConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(required=True, require_tld=False)
    access_key_id = fields.String(required=True, validate=validate.Length(min=1))
    access_key_secret = Secret(required=True, validate=validate.Length(min=1))
    expires = fields.Integer(load_default=600, validate=validate.Range(1, 86400))
    page_size = fields.Integer(load_default=100, validate=validate.Range(10, 100))
    settle_seconds = fields.Integer(load_default=3600, validate=validate.Range(0, 7 * 86400))
    refresh_seconds = fields.Integer(load_default=86400, validate=validate.Range(0, 31 * 86400))
    initial_days = fields.Integer(load_default=30, validate=validate.Range(1, 3650))
    webhook_secret = Secret(load_default=None, validate=validate.Length(min=16))
    webhook_fields = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    webhook_directions = fields.Dict(keys=fields.String(validate=validate.OneOf(["inbound", "outbound"])),
                                     values=fields.List(fields.String()), load_default=dict)
    webhook_tolerance = fields.Integer(load_default=300, validate=validate.Range(10, 3600))
    #: The secret in Clink's hang-up push URL (``?token=``); unset = that door is closed.
    push_token = Secret(load_default=None, validate=validate.Length(min=16))
    #: Source addresses allowed to send the hang-up push (IPs or CIDRs); empty = any.
    push_ips = fields.List(fields.String(), load_default=list)

    @validates("push_ips")
    def _networks(self, value: list[str], **_: Any) -> None:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValidationError(f"push_ips: {item!r} is not an IP address or CIDR network") from None
    #: The zone of pushed times without a UTC offset (an IANA name).
    timezone = inputs.TimeZone(load_default=inputs.DEFAULT_ZONE)

    @validates("webhook_fields")
    def _known_fields(self, value: dict[str, str], **_: Any) -> None:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValidationError(f"unknown CDR field(s) {unknown}; known: {sorted(CANONICAL_FIELDS)}")


class ClinkConnector(Connector):
    name = "clink"
    title = "Clink 天润融通 (call center / 400)"
    version = "1.0.0"
    config_schema = ClinkConfig
    streams = {"cdr_inbound": InboundCdrStream, "cdr_outbound": OutboundCdrStream}
    sinks = {}
    webhook = SignedCdrWebhook
    # Clink publishes no per-tenant quota; stay polite (one page at a time per stream).
    rate_limits = (RateLimit(calls=300, per_seconds=60, scope="read"),)
    sandbox = ClinkSandbox
    #: CDR streams re-read a trailing window for late-filled fields (evaluation, tags, notes).
    suite_options = {"rereads_trailing_window": True}

    @cached_property
    def client(self) -> ClinkClient:
        return ClinkClient(self.http, self.config["base_url"], self.config["access_key_id"],
                           self.config["access_key_secret"], self.config["expires"])

    def check(self) -> None:
        """One cheap signed call: the first inbound CDR of the last day."""
        import time

        now = int(time.time())
        try:
            self.client.get("/cc/list_cdr_ibs", {"startTime": now - 86400, "endTime": now, "offset": 0, "limit": 10})
        except PermanentError as exc:
            raise CheckFailed(f"Clink refused the credentials: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"Clink unreachable: {exc.message}") from None
