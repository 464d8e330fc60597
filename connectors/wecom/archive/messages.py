"""Archived messages → ``chat_messages`` records.

Message shape (doc 91774): ``msgid``, ``action`` (send / recall / switch), ``from``,
``tolist[]``, ``roomid`` (group chats; empty for one-to-one), ``msgtime`` (ms),
``msgtype`` and a body under the type's name — ``text.content``; ``mixed.item[]`` whose
``content`` is itself JSON text; ``image`` / ``voice`` / ``video`` / ``file`` with
``sdkfileid``, ``md5sum``, ``filesize``; ``revoke.pre_msgid`` for a recall.

One record per message that concerns one customer:

* one-to-one, sent by the customer → direction ``in``; sent by a member → ``out`` (the
  customer is the external id in ``tolist``);
* group chat (``roomid``), sent by a customer → ``in`` for that customer. A member's message
  to a group concerns many customers and none in particular: not recorded;
* a recall (``action: recall``) updates the recalled message's record (``recalled: true``);
* ``switch`` (a member changed device) and member-to-member chats are skipped.

Media are referenced (``sdkfileid``), never downloaded. The native id is the ``msgid`` and
the dedupe key ``wecom-msg:<msgid>``, so a re-read page stores nothing twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from hub.connector import Record

from connectors.wecom.members import MemberDirectory, is_external

MEDIA_TYPES = ("image", "voice", "video", "file", "emotion")
PLACEHOLDER = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]", "emotion": "[表情]"}


def _text_and_media(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    kind = message.get("msgtype") or ""
    if kind == "text":
        return str((message.get("text") or {}).get("content") or ""), []
    if kind == "mixed":
        texts, media = [], []
        for item in (message.get("mixed") or {}).get("item") or []:
            part_type = item.get("type") or ""
            try:
                content = json.loads(item.get("content") or "{}")
            except ValueError:
                content = {}
            if part_type == "text":
                texts.append(str(content.get("content") or ""))
            elif part_type in MEDIA_TYPES:
                media.append(_media(part_type, content))
        return "".join(texts), media
    if kind in MEDIA_TYPES:
        return PLACEHOLDER[kind], [_media(kind, message.get(kind) or {})]
    return f"[{kind}]" if kind else "", []


def _media(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    ref = {"type": kind}
    for key in ("sdkfileid", "md5sum", "filesize", "filename", "play_length"):
        if body.get(key) not in (None, ""):
            ref[key] = body[key]
    return ref


def message_record(message: dict[str, Any], seq: int, directory: MemberDirectory,
                   group_name: Callable[[str], str | None]) -> Record | None:
    """The record for one decrypted message, or None when it concerns no one customer."""
    action = message.get("action") or "send"
    if action == "switch":
        return None
    sender = message.get("from") or ""
    receivers = [t for t in message.get("tolist") or [] if t]
    roomid = message.get("roomid") or ""
    if is_external(sender):
        direction, customer = "in", sender
        member = None if roomid else next((t for t in receivers if not is_external(t)), None)
    elif not roomid:
        direction, member = "out", sender
        customer = next((t for t in receivers if is_external(t)), None)
    else:
        return None
    if not customer:
        return None
    msgtime = int(message.get("msgtime") or 0)
    data: dict[str, Any] = {
        "seq": seq, "direction": direction, "external_userid": customer, "userid": member,
        "member_name": directory.name(member) if member else None, "roomid": roomid or None,
        "group_name": group_name(roomid) if roomid else None, "sent_at": msgtime // 1000 if msgtime else None,
        "msgtype": message.get("msgtype"),
    }
    who = data["member_name"] or member or ""
    if direction == "out":
        data["label"] = f"{who}发给客户"
    elif roomid:
        data["label"] = f"客户在群「{data['group_name'] or roomid}」"
    else:
        data["label"] = f"客户发给{who}" if who else "客户"
    if action == "recall":
        pre = (message.get("revoke") or {}).get("pre_msgid") or ""
        if not pre:
            return None
        data.update(msgid=pre, recalled=True, recall_msgid=message.get("msgid"))
        return Record(native_id=pre, data={k: v for k, v in data.items() if v is not None},
                      updated_at=_at(msgtime), dedupe_key=f"wecom-msg:{pre}:recalled")
    msgid = message.get("msgid") or ""
    if not msgid:
        return None
    text, media = _text_and_media(message)
    data.update(msgid=msgid, text=text, media=media)
    return Record(native_id=msgid, data={k: v for k, v in data.items() if v is not None},
                  updated_at=_at(msgtime), dedupe_key=f"wecom-msg:{msgid}")


def _at(msgtime: int) -> datetime | None:
    return datetime.fromtimestamp(msgtime / 1000, timezone.utc) if msgtime else None
