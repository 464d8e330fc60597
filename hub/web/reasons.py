"""Why something failed, in the reader's language.

Errors are stored as the pipeline wrote them (``PermanentError: crm_b contacts: HTTP 422:
…``, ``fields.created_at: invalid date/time '2026-13-45'``): precise, English, and for
engineers. The ops pages show a short localised reason first and keep the raw text one
click away. :func:`explain` recognises the shapes the core writes — connector error
classes, HTTP statuses, unreachable hosts, mapping field errors, dead-letter budget — and
falls back to a generic sentence, never to nothing.
"""

from __future__ import annotations

import re
from typing import Callable

_GAVE_UP = re.compile(r"^gave up after (\d+) attempts?: (.*)$", re.S)
_CLASS = re.compile(r"^([A-Z]\w*(?:Error|Failed|Rejected|Exception)): (.*)$", re.S)
_HTTP = re.compile(r"\bHTTP (\d{3})\b")
_DESTINATION = re.compile(r"^destination (\S+) is not configured or not enabled")
_FIELD = re.compile(r"^((?:fields|identities|attributes|events|tags|data|payload|keys?)[\w.\[\]-]*|[a-z_][\w]*(?:\.[\w\[\]]+)+): (.*)$", re.S)
_UNREACHABLE = re.compile(r"timed? ?out|Connection ?(refused|reset|aborted)|ConnectionError|Name or service not known|"
                          r"Temporary failure in name resolution|No route to host|Max retries exceeded", re.I)


def _field_reason(field: str, detail: str, t: Callable[..., str]) -> str:
    low = detail.lower()
    if "date" in low and ("time" in low or "invalid" in low):
        return t("reason.bad_datetime", field=field)
    if "phone" in low:
        return t("reason.bad_phone", field=field)
    if "no entry for" in low:
        return t("reason.no_entry", field=field)
    if "required" in low or "missing" in low:
        return t("reason.missing", field=field)
    return t("reason.bad_field", field=field)


def explain(error: str | None, t: Callable[..., str]) -> str:
    """A one-line localised reason for a stored error (``t`` is the UI's translator)."""
    text = (error or "").strip()
    if not text:
        return ""
    gave_up = _GAVE_UP.match(text)
    if gave_up:
        return t("reason.gave_up", n=gave_up.group(1)) + explain(gave_up.group(2), t)
    if text.startswith("mapping unavailable:"):
        return t("reason.mapping_unavailable")
    destination = _DESTINATION.match(text)
    if destination:
        return t("reason.destination_gone", destination=destination.group(1))
    cls = None
    match = _CLASS.match(text)
    if match:
        cls, text = match.group(1), match.group(2)
    http = _HTTP.search(text)
    if http:
        status = int(http.group(1))
        if status in (401, 403):
            return t("reason.http_auth", status=status)
        if status == 404:
            return t("reason.http_not_found", status=status)
        if status == 429:
            return t("reason.rate_limited")
        if status >= 500:
            return t("reason.http_down", status=status)
        return t("reason.http_refused", status=status)
    if cls == "RateLimitedError":
        return t("reason.rate_limited")
    if cls == "WebhookRejected" or "signature" in text.lower():
        return t("reason.webhook_rejected")
    if _UNREACHABLE.search(text):
        return t("reason.unreachable")
    field = _FIELD.match(text)
    if field:
        return _field_reason(field.group(1), field.group(2), t)
    if cls == "PermanentError":
        return t("reason.refused")
    if cls in ("TransientError", "ConnectorError"):
        return t("reason.transient")
    return t("reason.unknown")


#: The catalogue entries :func:`explain` uses (merged into :mod:`hub.web.ui.i18n`).
MESSAGES = {
    "zh-CN": {
        "reason.gave_up": "重试 {n} 次后放弃：", "reason.mapping_unavailable": "映射文件无法加载，请运行 hub mappings lint 检查。",
        "reason.destination_gone": "写入目标 {destination} 已不在配置中或已停用。",
        "reason.http_auth": "对方系统拒绝了凭证（HTTP {status}），请检查配置中的密钥或权限。",
        "reason.http_not_found": "对方系统找不到这条记录或接口（HTTP {status}）。",
        "reason.rate_limited": "对方系统限流，稍后会自动重试。", "reason.http_down": "对方系统暂时故障（HTTP {status}）。",
        "reason.http_refused": "对方系统拒收了这条数据（HTTP {status}），请检查写出映射。",
        "reason.webhook_rejected": "推送校验未通过（签名或令牌不符）。", "reason.unreachable": "无法连接对方系统（超时或拒绝连接）。",
        "reason.bad_datetime": "字段 {field} 的日期时间无法识别。", "reason.bad_phone": "字段 {field} 不是有效的手机号。",
        "reason.no_entry": "字段 {field} 的值不在对照表中。", "reason.missing": "缺少必填字段 {field}。",
        "reason.bad_field": "字段 {field} 的值无法转换。", "reason.refused": "对方系统拒绝了这次操作。",
        "reason.transient": "对方系统暂时出错，稍后会自动重试。", "reason.unknown": "处理失败，详见技术详情。",
        "reason.raw": "技术详情",
    },
    "en": {
        "reason.gave_up": "Gave up after {n} attempts: ", "reason.mapping_unavailable": "The mapping could not be loaded; run hub mappings lint.",
        "reason.destination_gone": "The destination {destination} is no longer configured or is disabled.",
        "reason.http_auth": "The remote system refused our credentials (HTTP {status}); check the keys or permissions in the config.",
        "reason.http_not_found": "The remote system has no such record or endpoint (HTTP {status}).",
        "reason.rate_limited": "The remote system is throttling us; it will be retried.", "reason.http_down": "The remote system is failing (HTTP {status}).",
        "reason.http_refused": "The remote system refused this data (HTTP {status}); check the outbound mapping.",
        "reason.webhook_rejected": "A push failed verification (signature or token mismatch).",
        "reason.unreachable": "Could not reach the remote system (timeout or connection refused).",
        "reason.bad_datetime": "The date/time in {field} could not be read.", "reason.bad_phone": "{field} is not a valid phone number.",
        "reason.no_entry": "The value of {field} is not in the lookup table.", "reason.missing": "The required field {field} is missing.",
        "reason.bad_field": "The value of {field} could not be converted.", "reason.refused": "The remote system refused the operation.",
        "reason.transient": "The remote system had a temporary error; it will be retried.", "reason.unknown": "Processing failed; see the technical details.",
        "reason.raw": "Technical details",
    },
}
