"""The feiyu connector's config schema.

One instance reads leads through exactly one API (``api``): the legacy Feiyu CRM pull API
(``crm``: signature key + token made in the Feiyu console) or the Marketing API
(``marketing``: an Ocean Engine developer app with an OAuth refresh token). The push webhook
and the status write-back work with either.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from hub.connector import Secret

DEFAULT_CRM_BASE_URL = "https://feiyu.oceanengine.com"
DEFAULT_MARKETING_BASE_URL = "https://ad.oceanengine.com"


class IdString(fields.String):
    """An Ocean Engine id: digits, accepted as a string or an integer (YAML turns long ids
    into ints); always loaded as a string so 19-digit ids never lose precision in JSON."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.isdigit():
            raise ValidationError("must be a numeric id")
        return text


class FeiyuConfig(Schema):
    class Meta:
        unknown = RAISE

    api = fields.String(load_default="marketing", validate=validate.OneOf(["crm", "marketing"]))
    crm_base_url = fields.Url(load_default=DEFAULT_CRM_BASE_URL, require_tld=False)
    marketing_base_url = fields.Url(load_default=DEFAULT_MARKETING_BASE_URL, require_tld=False)

    # legacy Feiyu CRM open API (api: crm)
    signature_key = Secret(load_default=None)
    access_token = Secret(load_default=None)

    # Marketing API (api: marketing)
    app_id = IdString(load_default=None)
    secret = Secret(load_default=None)
    #: The refresh token from the first authorisation. It rotates on every refresh; the
    #: newest one lives in the instance state and wins — unless this value changes (the
    #: operator re-authorised), which the connector notices.
    refresh_token = Secret(load_default=None)
    advertiser_ids = fields.List(IdString(), load_default=list)

    # push webhook (Feiyu lead-push rule)
    #: The token set on the push rule: Feiyu sends it as ``Access-Token`` and signs with it.
    push_token = Secret(load_default=None)
    #: The push rule's 秘钥, when it has one (accepted as an HMAC key for the signature).
    push_secret = Secret(load_default=None)
    #: Seconds a push's ``Timestamp`` may differ from our clock (replay window).
    push_tolerance = fields.Integer(load_default=300, validate=validate.Range(30, 3600))
    #: Marketing API field name → the name the push rule sends it under, for renamed fields.
    push_field_map = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)

    # reading
    trailing_window_minutes = fields.Integer(load_default=30, validate=validate.Range(0, 24 * 60))
    page_size = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    start_date = fields.Date(load_default=None)
    max_window_days = fields.Integer(load_default=7, validate=validate.Range(1, 31))

    @validates_schema
    def _credentials_for_the_api(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("api", "marketing") == "crm":
            needed = ("signature_key", "access_token")
        else:
            needed = ("app_id", "secret", "refresh_token", "advertiser_ids")
        errors = {name: [f"required when api is {data.get('api', 'marketing')!r}"] for name in needed if not data.get(name)}
        if errors:
            raise ValidationError(errors)
