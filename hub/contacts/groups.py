"""A contact's group memberships, derived from the timeline.

Group chats (a WeCom 客户群 today; any connector's tomorrow) reach the hub as events of
the kinds ``group_joined`` and ``group_left`` whose data names the group: ``chat_id``
(required), ``group_name``, ``owner`` / ``owner_name``, ``join_scene_label``. The latest
event per (connector, chat_id) — by ``occurred_at``, then by arrival — says whether the
contact is in the group now. No table of its own: the events are already unique per
native id and move with the contact on a merge, so the memberships do too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import Event

GROUP_KINDS = ("group_joined", "group_left")


def group_memberships(session, contact_id: int) -> list[dict[str, Any]]:
    """Groups the contact is or was in: current ones first (newest join first), then left ones."""
    rows = session.execute(
        select(Event.kind, Event.occurred_at, Event.data, Event.connector)
        .where(Event.contact_id == contact_id, Event.kind.in_(GROUP_KINDS))
        .order_by(Event.occurred_at, Event.id)
    ).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, occurred_at, data, connector in rows:
        data = data or {}
        chat_id = str(data.get("chat_id") or "")
        if not chat_id:
            continue
        entry = groups.setdefault((connector, chat_id), {"connector": connector, "chat_id": chat_id, "member": False})
        for key in ("group_name", "owner", "owner_name", "join_scene_label"):
            if data.get(key):
                entry[key] = data[key]
        if kind == "group_joined":
            entry.update(member=True, joined_at=occurred_at, left_at=None)
        else:
            entry.update(member=False, left_at=occurred_at)
    out = list(groups.values())
    out.sort(key=lambda g: (not g["member"], -(g.get("joined_at") or g.get("left_at")).timestamp() if (g.get("joined_at") or g.get("left_at")) else 0))
    return out
