"""Entry point module of the wecom connector plugin."""

from hub.hookspecs import hookimpl

from connectors.wecom.connector import WeComConnector


@hookimpl
def hub_register_connectors(register):
    register(WeComConnector)


@hookimpl
def hub_register_labels(register):
    """How the timeline shows WeCom events' detail; member user ids by their display names
    (the connector's member directory, ``member:<userid>`` in its durable state)."""
    for key, zh, en, fmt in (
        ("userid", "跟进成员", "Member", "member"), ("takeover_userid", "接替成员", "Taking over", "member"),
        ("state", "渠道码", "Channel code", None), ("add_way", "添加方式", "Added via", None),
        ("change_type", "变更类型", "Change", None),
        ("fail_reason", "失败原因", "Failure reason", None),
        # customer groups, the chat archive, mass messages, departed members (issue 18)
        ("chat_id", "群 ID", "Group id", None), ("group_name", "群名称", "Group", None),
        ("owner", "群主", "Group owner", "member"), ("owner_name", "群主姓名", "Owner name", None),
        ("join_scene", "入群方式代码", "Join scene", None), ("join_scene_label", "入群方式", "Joined via", None),
        ("invitor", "邀请人", "Invited by", "member"), ("quit_scene", "退群方式", "Left via", None),
        ("dismissed", "群已解散", "Group dismissed", "yesno"), ("direction", "方向", "Direction", None),
        ("member_name", "成员", "Member name", None), ("text", "内容", "Text", None),
        ("msgtype", "消息类型", "Message type", None), ("roomid", "群聊 ID", "Chat room", None),
        ("media", "媒体（仅 ID）", "Media (ids only)", None), ("seq", "存档序号", "Archive seq", None),
        ("msgid", "消息 ID", "Message id", None), ("sent", "已发送", "Sent", "yesno"),
        ("status", "状态", "Status", None), ("reason", "原因", "Reason", None),
        ("handover_userid", "离职成员", "Departed member", "member"), ("handover_name", "离职成员姓名", "Departed member name", None),
    ):
        register("field", key, {"zh-CN": zh, "en": en}, format=fmt)
    # a chat's direction (the call center registers inbound / outbound for the same key)
    register("field", "direction", {"zh-CN": "方向", "en": "Direction"},
             values={"in": {"zh-CN": "客户发出", "en": "From the customer"}, "out": {"zh-CN": "成员发出", "en": "To the customer"}})
    register("field", "via", {"zh-CN": "记录方式", "en": "Recorded from"},
             values={"callback": {"zh-CN": "实时回调", "en": "Callback"}, "scan": {"zh-CN": "定时核对", "en": "Scheduled scan"}})
