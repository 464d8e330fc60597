"""Labels for what the core itself puts on the timeline: attribute changes of note and the
hub's own writes (``hub.pipeline.process``), registered like a plugin's (``hub.web.labels``)."""

from __future__ import annotations

from typing import Callable

#: The delivery states of the hub's own writes, as support reads them.
STATES = {
    "pending": ("待发送", "Pending"), "held": ("待审批（hub plan）", "Held for approval"), "sending": ("发送中", "Sending"),
    "delivered": ("已送达", "Delivered"), "matched": ("已关联现有记录，未新建", "Linked to an existing record"),
    "dead": ("失败（死信）", "Failed (dead letter)"), "discarded": ("已放弃", "Discarded"),
}


def register_core_labels(register: Callable[..., None]) -> None:
    register("event", "attribute_changed", {"zh-CN": "属性变更", "en": "Attribute changed"})
    register("event", "outbound_write", {"zh-CN": "汇流写入", "en": "Written by Huiliu"})
    register("event", "automation", {"zh-CN": "自动化", "en": "Automation"})
    register("channel", "automation", {"zh-CN": "自动化", "en": "Automation"}, icon="M13 2 4 14h7l-1 8 9-12h-7l1-8Z")
    register("field", "automation", {"zh-CN": "自动化", "en": "Automation"})
    # the departure hand-over (hub.automations.departure): one entry per customer and state
    register("field", "departed_member", {"zh-CN": "离职成员", "en": "Departed member"}, format="member")
    register("field", "takeover", {"zh-CN": "接替成员", "en": "Taking over"}, format="member")
    register("field", "transfer_status", {"zh-CN": "转接状态", "en": "Transfer"}, values={
        state: {"zh-CN": zh, "en": en} for state, zh, en in (
            ("queued", "待发送", "Queued"), ("waiting", "等待接替", "Waiting for takeover"), ("done", "已接替", "Taken over"),
            ("refused", "客户拒绝", "Refused by the customer"), ("limit", "接替成员客户已满", "Takeover at its customer limit"),
            ("failed", "失败", "Failed"))})
    for key, zh, en in (("attribute", "属性", "Attribute"), ("old", "原值", "Old value"), ("new", "新值", "New value"),
                        ("source", "来源", "Changed in"), ("destination", "目标系统", "Destination"), ("sink", "写入项", "Sink"),
                        ("outbox_id", "写入编号", "Write no."), ("origin", "起因", "Caused by"),
                        ("record_id", "目标记录号", "Record in destination"),
                        ("attempts", "尝试次数", "Attempts"), ("error", "错误", "Error")):
        register("field", key, {"zh-CN": zh, "en": en})
    register("field", "action", {"zh-CN": "操作", "en": "Action"},
             values={"create": {"zh-CN": "新建记录", "en": "Create"}, "update": {"zh-CN": "更新记录", "en": "Update"}})
    register("field", "delivery", {"zh-CN": "送达状态", "en": "Delivery"},
             values={state: {"zh-CN": zh, "en": en} for state, (zh, en) in STATES.items()})
