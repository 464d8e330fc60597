"""Entry point module of the ticketing plugin: registers Udesk (tickets stream, create/update
sink, trigger webhook) and Sobot 智齿 (tickets stream and ticket-creation sink)."""

from hub.hookspecs import hookimpl

from connectors.ticketing.sobot.connector import SobotConnector
from connectors.ticketing.udesk.connector import UdeskConnector


@hookimpl
def hub_register_connectors(register):
    register(UdeskConnector)
    register(SobotConnector)


@hookimpl
def hub_register_labels(register):
    """How the timeline shows a ticket's detail (mappings/udesk.tickets.yaml, sobot.tickets.yaml)."""
    register("channel", "sobot", {"zh-CN": "智齿工单", "en": "Sobot tickets"},
             icon="M4 5h16a1 1 0 0 1 1 1v3a2 2 0 0 0 0 4v3a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-3a2 2 0 0 0 0-4V6a1 1 0 0 1 1-1Z")
    for key, zh, en in (
        ("ticket_id", "工单号", "Ticket id"), ("ticket_code", "工单编号", "Ticket code"), ("subject", "主题", "Subject"),
        ("status", "状态", "Status"), ("priority", "优先级", "Priority"), ("platform", "渠道", "Channel"), ("source", "来源", "Source"),
        ("category", "分类", "Category"), ("assignee", "受理人", "Assignee"), ("group", "受理组", "Group"),
    ):
        register("field", key, {"zh-CN": zh, "en": en})
