"""The callbacks issue-18 added to the WeCom webhook, kept out of :mod:`.webhook`:

* ``change_external_chat`` → ``group_chats`` membership records (:mod:`.groups`);
* ``change_contact`` (member create / update / delete) → the member directory (:mod:`.members`);
* ``msg_audit_approved`` (a customer agreed to chat archiving, doc 91774 "获取会话同意情况")
  → acknowledged: the archive itself is read by the ``chat_messages`` pull;
* ``add_external_contact`` with a ``WelcomeCode`` → an urgent ``welcome`` write
  (:class:`~hub.connector.UrgentWrite`), rendered by the instance's welcome mapping from
  ``event.state`` (the channel code) and sent right after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.connector import Record, UrgentWrite

from connectors.wecom.groups import chat_event_records
from connectors.wecom.members import change_contact

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector


def more_for(connector: "WeComConnector", event: dict[str, str], plain: bytes) -> tuple[list[tuple[str, Record]], list[UrgentWrite]]:
    """Extra records and urgent writes for one decrypted callback."""
    kind = event.get("Event", "")
    if event.get("MsgType") != "event":
        return [], []
    if kind == "change_external_chat":
        return chat_event_records(connector, event, plain), []
    if kind == "change_contact":
        return change_contact(connector, event), []
    if kind == "change_external_contact" and event.get("ChangeType") == "add_external_contact" and event.get("WelcomeCode"):
        welcome: dict[str, Any] = {
            "welcome_code": event["WelcomeCode"],
            "state": event.get("State") or "",
            "userid": event.get("UserID") or "",
            "external_userid": event.get("ExternalUserID") or "",
            "create_time": event.get("CreateTime") or "",
        }
        return [], [UrgentWrite(sink="welcome", event=welcome, key=event["WelcomeCode"])]
    return [], []
