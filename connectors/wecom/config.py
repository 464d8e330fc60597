"""The ``config:`` block of a WeCom connector instance.

``secret`` is the Secret of the app that holds the customer-contact (客户联系) permission;
``callback_token`` and ``encoding_aes_key`` are the Token and EncodingAESKey set on the
callback URL in the admin console. All three are :class:`~hub.connector.Secret`, so the hub
masks them everywhere.

The EncodingAESKey's shape (43 base64 characters) is checked by ``check()`` and by the
webhook rather than by the schema: the standard suite proves that a *wrong* secret is
reported by ``check()`` as CheckFailed, and a schema error would pre-empt that.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from hub.connector import Secret
from hub.connector.fields import SecretMap

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
# WeCom doc 90454 (2023): per corp per API 10,000/min and 150,000/h. Older corps saw
# 2,000/min and 30,000/h — hence configurable.
DEFAULT_PER_MINUTE = 10_000
DEFAULT_PER_HOUR = 150_000


class WeComConfig(Schema):
    class Meta:
        unknown = RAISE

    base_url = fields.Url(load_default=DEFAULT_BASE_URL, require_tld=False, schemes={"http", "https"})
    corp_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    secret = Secret(required=True, validate=validate.Length(min=1))
    callback_token = Secret(load_default=None)
    encoding_aes_key = Secret(load_default=None)
    #: Tags named in a payload but missing in WeCom are created in this group.
    tag_group_name = fields.String(load_default="汇流同步", validate=validate.Length(min=1, max=30))
    rate_limit_per_minute = fields.Integer(load_default=DEFAULT_PER_MINUTE, validate=validate.Range(min=1))
    rate_limit_per_hour = fields.Integer(load_default=DEFAULT_PER_HOUR, validate=validate.Range(min=1))
    #: Seconds a callback's timestamp may differ from our clock.
    timestamp_tolerance = fields.Integer(load_default=300, validate=validate.Range(min=1))
    #: Page size for externalcontact/batch/get_by_user (WeCom allows at most 100).
    page_size = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    # -- customer groups, mass messages ---------------------------------------------------
    #: groupchat/list status_filter: 0 all, 1 owner departed, 2 inheriting, 3 inherited.
    group_status_filter = fields.Integer(load_default=0, validate=validate.OneOf([0, 1, 2, 3]))
    #: groupchat/list owner_filter (≤ 100 userids); required by WeCom (81017) when the
    #: app's visible range holds more than 1,000 members.
    group_owner_filter = fields.List(fields.String(), load_default=list, validate=validate.Length(max=100))
    #: Corp mass messages a customer may receive per day (China time); the messages sink
    #: leaves out customers who reached it.
    message_daily_limit = fields.Integer(load_default=1, validate=validate.Range(min=1))
    #: message_results reads mass messages created in this many trailing days.
    message_results_days = fields.Integer(load_default=7, validate=validate.Range(1, 30))
    # -- 会话内容存档 (chat archive, stream chat_messages; see connectors/wecom/archive) --------
    #: ``sdk``: Tencent's finance SDK loaded from ``sdk_path``; ``sandbox``: the imitation;
    #: ``package.module:factory``: your own backend (called with the connector).
    archive_backend = fields.String(load_default="sdk", validate=validate.Regexp(
        r"^(sdk|sandbox|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$", error="archive_backend is sdk, sandbox or package.module:factory"))
    #: Path of libWeWorkFinanceSdk_C.so. Never downloaded by the hub: install it yourself.
    sdk_path = fields.String(load_default=None)
    #: The chat-archive Secret (会话内容存档 Secret), distinct from ``secret``.
    archive_secret = Secret(load_default=None)
    #: RSA private keys (PEM) by ``publickey_ver``: keep old versions while messages
    #: encrypted for them may still be read.
    archive_private_keys = SecretMap(load_default=dict)
    #: Messages per GetChatData call (the SDK allows 1..1000).
    archive_page_size = fields.Integer(load_default=1000, validate=validate.Range(1, 1000))
    #: Seconds the SDK may take per GetChatData call.
    archive_timeout = fields.Integer(load_default=10, validate=validate.Range(1, 300))
    #: HTTP(S) proxy and its password for the SDK, where the host cannot reach Tencent directly.
    archive_proxy = fields.String(load_default=None)
    archive_proxy_password = Secret(load_default=None)
