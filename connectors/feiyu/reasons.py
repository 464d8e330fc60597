"""Why a lead was marked invalid: ``event_data.reason_code`` of the Marketing API clue callback.

Ocean Engine's official SDK (oceanengine/ad_open_sdk_go,
``models/model_tools_clue_callback_v2_request_event_data.go`` and
``model_tools_clue_callback_v2_event_data_reason_code.go``) gives the callback an
``event_data{deal_sub_amount, reason_code, reason_message}`` with ``reason_code`` one of the
values below. The "无效线索" state (10000) is refused without a ``reason_code`` — so a
write-back of an invalid lead carries one: the payload's, or :data:`DEFAULT_REASON` (``OTHER``)
with the CRM's text as ``reason_message``.
"""

from __future__ import annotations

from typing import Any

from hub.connector import PermanentError

INVALID = 10000
DEFAULT_REASON = "OTHER"
#: General reasons (the industry-specific EDU_*/HOME_*/HOUSE_* codes are accepted too).
GENERAL = frozenset({
    "INVALID_NUMBER",                # 空号 / 错号
    "CALL_THREE_TIMES_NO_RESPONSE",  # 三次未接通
    "CONNECTED_NO_INTENTION",        # 接通无意向
    "MISMATCH_DIFFERENT_LOCATIONS",  # 异地
    "MISMATCH_LOW_BUDGET",           # 预算不足
    "NO_AD_RESPONSE",                # 否认留资
    "OFFENSIVE_LANGUAGE",            # 辱骂
    "OTHER",
})
INDUSTRY = frozenset({
    "EDU_FIRST_CLASS_ATTENDED", "EDU_INTERESTED", "EDU_MISMATCH_CLASS_TIME", "EDU_MISMATCH_COURSE",
    "EDU_MISMATCH_DIFFERENT_LOCATIONS", "EDU_UNABLE_TO_ATTEND_IN_PERSON", "HOME_APPOINTMENT_SCHEDULED",
    "HOME_CAN_ADD_WECHAT", "HOME_COLLABORATION_WITH_PEERS", "HOME_CONNECTED_WITH_INTERESTED_PARTY",
    "HOME_CONTRACT_SIGNED", "HOME_MEASUREMENT_COMPLETED", "HOME_MISMATCH_DIFFERENT_LOCATIONS",
    "HOME_MISMATCH_LOW_BUDGET", "HOME_NO_SHOW_FOR_MEASUREMENT_VISIT", "HOME_ORDER_DISPATCHED",
    "HOME_RENOVATION_TYPE_NOT_ACCEPTABLE", "HOME_SERVICE_DELIVERY_COMPLETED", "HOUSE_INTERESTED",
    "HOUSE_NEW_HOUSE_REPORT", "HOUSE_OLD_HOUSE_LOOK", "HOUSE_NEW_HOUSE_LOOK", "HOUSE_OLD_HOUSE_DEAL",
    "HOUSE_NEW_HOUSE_DEAL", "HOUSE_NO_INTENTION",
})
REASON_CODES = GENERAL | INDUSTRY
MESSAGE_MAX = 200


def event_data(state: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The callback's ``event_data`` for ``payload`` (None when there is nothing to send)."""
    code = str(payload.get("reason_code") or "").strip().upper()
    message = str(payload.get("reason_message") or "").strip()[:MESSAGE_MAX]
    if code and code not in REASON_CODES:
        raise PermanentError(f"clue_status: reason_code {code!r} is not one of Ocean Engine's codes "
                             f"({', '.join(sorted(GENERAL))}, or an EDU_/HOME_/HOUSE_ code)")
    if state == INVALID and not code:
        code = DEFAULT_REASON
    data: dict[str, Any] = {}
    if code:
        data["reason_code"] = code
    if message:
        data["reason_message"] = message
    amount = payload.get("deal_sub_amount")
    if amount not in (None, ""):
        try:
            data["deal_sub_amount"] = int(amount)
        except (TypeError, ValueError):
            raise PermanentError(f"clue_status: deal_sub_amount must be a whole number, not {amount!r}") from None
    return data or None
