"""Entry point module of the callcenter plugin: registers the Clink connector (CDR pull +
generic signed CDR push)."""

from hub.hookspecs import hookimpl

from connectors.callcenter.connector import ClinkConnector


@hookimpl
def hub_register_connectors(register):
    register(ClinkConnector)


#: The phone icon of call events (24×24 path data).
PHONE_ICON = ("M6.6 10.8a15.2 15.2 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1"
              "A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.46.57 3.6a1 1 0 0 1-.25 1l-2.2 2.2Z")


@hookimpl
def hub_register_labels(register):
    """How the timeline shows a call's detail (the keys mappings/clink.cdr_*.yaml writes)."""
    register("event", "call", {"zh-CN": "通话", "en": "Call"}, icon=PHONE_ICON)
    for key, zh, en, fmt in (
        ("hotline", "热线号码", "Hotline", None), ("agent", "座席工号", "Agent no.", None),
        ("agent_name", "座席", "Agent", None), ("queue", "队列", "Queue", None),
        ("started_at", "开始时间", "Started", "datetime"), ("answered_at", "接通时间", "Answered", "datetime"),
        ("ended_at", "结束时间", "Ended", "datetime"), ("total_seconds", "总时长", "Total time", "duration"),
        ("talk_seconds", "通话时长", "Talk time", "duration"), ("status", "状态", "Status", None),
        ("status_code", "状态码", "Status code", None), ("recording", "录音", "Recording", None),
        ("evaluation", "满意度评价", "Satisfaction", None), ("call_id", "通话 ID", "Call id", None),
    ):
        register("field", key, {"zh-CN": zh, "en": en}, format=fmt)
    register("field", "direction", {"zh-CN": "方向", "en": "Direction"},
             values={"inbound": {"zh-CN": "呼入", "en": "Inbound"}, "outbound": {"zh-CN": "外呼", "en": "Outbound"}})
