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
        ("via", "记录方式", "Recorded from", None), ("change_type", "变更类型", "Change", None),
        ("fail_reason", "失败原因", "Failure reason", None),
    ):
        register("field", key, {"zh-CN": zh, "en": en}, format=fmt)
