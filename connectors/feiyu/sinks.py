"""The ``clue_status`` sink: write a lead's follow-up status back to Feiyu.

Payload ``{clue_id, advertiser_id, clue_convert_state, reason_code?, reason_message?,
deal_sub_amount?}``; the last three travel as the Marketing API's ``event_data``, and an
invalid lead (10000) always carries a ``reason_code`` (:mod:`connectors.feiyu.reasons`). With the Marketing API this is
``POST /open_api/2/tools/clue/callback/`` (states such as 194 回访-信息确认, 195 回访-加为好友,
196 回访-高潜成交, 527 到店/上门, 285 正价品支付, 10000 无效线索); with the legacy CRM API
``POST /crm/v2/openapi/clue/callback/`` (1 无效, 2 潜在客户, 3 高价值客户, 4 已付费).

Feiyu lists every callback as a deep-conversion report (飞鱼CRM › 营销 › 深度转化 › 上报明细)
and takes no idempotency key, so a retried delivery would report twice. The sink therefore
remembers the idempotency keys it has delivered (the newest few thousand, in the durable
instance state) and does not call again for a key it has seen.
"""

from __future__ import annotations

from typing import Any

from hub.connector import PermanentError, Sink, WriteResult

from connectors.feiyu.reasons import event_data

STATE_KEY = "clue_status_sent"
REMEMBERED_KEYS = 5000

#: The legacy CRM API knows four states only (1 无效, 2 潜在客户, 3 高价值客户, 4 已付费).
#: A Marketing-API state from the shipped mapping is reported as the nearest of them, so one
#: mapping serves instances on either API (our correspondence, not Ocean Engine's).
CRM_STATE_OF = {10000: 1, 194: 2, 195: 2, 196: 3, 527: 3, 285: 4}
CRM_STATES = (1, 2, 3, 4)


class ClueStatusSink(Sink):
    name = "clue_status"
    description = "write a lead's conversion status back (clue callback)"

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c = self.connector
        clue_id = str(payload.get("clue_id") or native_id or "")
        if not clue_id.isdigit():
            raise PermanentError("clue_status: payload needs a numeric clue_id")
        try:
            convert_state = int(payload["clue_convert_state"])
        except (KeyError, TypeError, ValueError):
            raise PermanentError("clue_status: payload needs an integer clue_convert_state") from None
        if c.config.get("api") == "crm" and convert_state not in CRM_STATES:
            if convert_state not in CRM_STATE_OF:
                raise PermanentError(f"clue_status: the legacy CRM API takes states 1–4 (or a Marketing API state it can "
                                     f"stand for: {sorted(CRM_STATE_OF)}), not {convert_state}")
            convert_state = CRM_STATE_OF[convert_state]
        advertiser_id = payload.get("advertiser_id")
        advertiser_id = str(advertiser_id) if advertiser_id not in (None, "") else None

        details = event_data(convert_state, payload)

        sent: dict[str, str] = dict(c.state.get(STATE_KEY) or {})
        if idempotency_key in sent:
            return WriteResult(native_id=sent[idempotency_key], created=False)
        answer = c.api().callback(clue_id, advertiser_id, convert_state, details)
        sent[idempotency_key] = clue_id
        if len(sent) > REMEMBERED_KEYS:
            sent = dict(list(sent.items())[-REMEMBERED_KEYS:])
        c.state.set(STATE_KEY, sent)
        return WriteResult(native_id=clue_id, created=False,
                           data={"clue_convert_state": convert_state, "event_data": details, "answer": answer})
