"""A new customer, read in full the moment WeCom says it was added.

The ``add_external_contact`` callback carries only ids (``UserID``, ``ExternalUserID``,
``State``, ``WelcomeCode``). The customer's name, the member's remark mobiles and the unionid —
what joins the friend to a CRM customer — would wait for the next scheduled scan. So the door
calls ``externalcontact/get?external_userid=`` (WeCom doc 92114: ``external_contact{…}`` and
``follow_user[{userid, remark, description, createtime, tags[{group_name, tag_name, tag_id,
type}], remark_corp_name, remark_mobiles, oper_userid, add_way, state}]``, paged by
``next_cursor`` past 500 follow users) and adds the relation in the scan's shape. One call per
new friend, within the 5 s WeCom allows; if it fails the callback is still stored as it came
and the scan fills the rest in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hub.connector import ConnectorError

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

log = logging.getLogger(__name__)
#: follow_user pages read at most (500 follow users a page).
MAX_PAGES = 3
#: Seconds per externalcontact/get call: WeCom wants the callback answered within 5 s.
CALL_TIMEOUT = 2.0


def relation_now(connector: "WeComConnector", external_userid: str, userid: str) -> dict[str, Any] | None:
    """``{"external_contact", "follow_info"}`` of one relation as the scan stores it, or None."""
    cursor = ""
    try:
        for _ in range(MAX_PAGES):
            params = {"external_userid": external_userid, **({"cursor": cursor} if cursor else {})}
            answer = connector.client.call("GET", "externalcontact/get", params=params, timeout=CALL_TIMEOUT)
            follow = next((f for f in answer.get("follow_user") or [] if f.get("userid") == userid), None)
            if follow is not None:
                return {"external_contact": dict(answer.get("external_contact") or {}), "follow_info": _scan_shape(follow)}
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return None
    except ConnectorError as exc:
        log.warning("externalcontact/get for a new customer failed (%s); the scan will fill it in", exc.message)
    return None


def _scan_shape(follow: dict[str, Any]) -> dict[str, Any]:
    """follow_user (tags with names) → the scan's follow_info (``tags[{id, name, group_name}]``)."""
    out = {k: v for k, v in follow.items() if k != "tags"}
    out["tags"] = [{"id": t.get("tag_id", ""), "name": t.get("tag_name", ""), "group_name": t.get("group_name", "")}
                   for t in follow.get("tags") or [] if t.get("tag_id")]
    out["tag_id"] = [t["id"] for t in out["tags"]]
    return out
