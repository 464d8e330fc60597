"""Customer groups (客户群): the ``group_chats`` stream and ``change_external_chat`` callbacks.

Records are **memberships** of external members (customers), not groups: a group's
members are many contacts, and a record maps to one. Native id ``<chat_id>:<userid>``;
data carries the group (name, owner and the owner's display name, status) and the member's
join time, join scene and inviter, so the mapping can put ``group_joined`` /
``group_left`` on the customer's timeline.

* Scan: ``externalcontact/groupchat/list`` (cursor, ``limit`` 1..1000, ``status_filter``,
  ``owner_filter.userid_list`` ≤ 100; doc 92120/93414) then ``groupchat/get`` with
  ``need_name: 1`` per group (doc 92122). A full scan with change detection: WeCom has no
  "changed since" filter. A membership that vanished is a deletion (the member left, or the
  group was dismissed).
* Callbacks ``Event=change_external_chat`` (doc 92130): ``ChangeType`` create / update /
  dismiss; ``UpdateDetail`` add_member / del_member / change_owner / change_name /
  change_notice; ``JoinScene``, ``QuitScene``, ``MemChangeCnt``, ``MemChangeList`` (``Item``
  children). The callback names only ids, so the handler reads ``groupchat/get`` for the
  rest; when that call fails it still records what the callback says (the next scan fills in).

A small per-group index in durable state (``group:<chat_id>``: name, owner, members with
join times, recent leavers) lets a dismissal — whose group can no longer be read — and a
scan tombstone name the group and the join they end.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from defusedxml import ElementTree as SafeET

from hub.connector import ConnectorError, PermanentError, ReadBatch, Record, inputs

from connectors.wecom.members import MemberDirectory, is_external
from connectors.wecom.scan import ChangeDetectingScan, Page, ScanContext
from connectors.wecom.streams import _ScanStream

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

LIST_LIMIT = 100
#: groupchat/get join_scene (doc 92122).
JOIN_SCENES = {1: "直接邀请入群", 2: "邀请链接入群", 3: "扫描群二维码入群"}
#: change_external_chat QuitScene (doc 92130): 0 left by themselves, 1 removed by owner/admin.
QUIT_SCENES = {0: "自己退群", 1: "被群主或群管理员移出"}
MEMBER_TYPE_EXTERNAL = 2
#: groupchat/get: no such chat_id (dismissed, or never a customer group).
CHAT_GONE = 40050


def membership_id(chat_id: str, userid: str) -> str:
    return f"{chat_id}:{userid}"


def split_membership_id(native_id: str) -> tuple[str, str]:
    chat_id, _, userid = native_id.partition(":")
    return chat_id, userid


def _now() -> datetime:
    return datetime.now(timezone.utc)


class GroupIndex:
    """``group:<chat_id>`` in durable state (see the module docstring)."""

    def __init__(self, connector: "WeComConnector"):
        self.state = connector.state

    def get(self, chat_id: str) -> dict[str, Any]:
        return dict(self.state.get(f"group:{chat_id}") or {})

    def put_group(self, chat: dict[str, Any], members: dict[str, int | None]) -> None:
        old = self.get(chat["chat_id"])
        left = {**old.get("left", {}), **{ext: t for ext, t in (old.get("members") or {}).items() if ext not in members}}
        for ext in members:
            left.pop(ext, None)
        self.state.set(f"group:{chat['chat_id']}", {"name": chat.get("name"), "owner": chat.get("owner"),
                                                    "members": members, "left": dict(list(left.items())[-500:])})

    def member_left(self, chat_id: str, ext: str) -> int | None:
        entry = self.get(chat_id)
        if not entry:
            return None
        join_time = (entry.get("members") or {}).pop(ext, None)
        if join_time is None:
            join_time = (entry.get("left") or {}).get(ext)
        entry.setdefault("left", {})[ext] = join_time
        self.state.set(f"group:{chat_id}", entry)
        return join_time

    def dismissed(self, chat_id: str) -> dict[str, Any]:
        entry = self.get(chat_id)
        if entry:
            entry["left"] = {**(entry.get("left") or {}), **(entry.get("members") or {})}
            entry["members"] = {}
            entry["dismissed"] = True
            self.state.set(f"group:{chat_id}", entry)
        return entry


def _group_data(chat: dict[str, Any], directory: MemberDirectory, status: int | None) -> dict[str, Any]:
    owner = chat.get("owner") or ""
    return {"chat_id": chat.get("chat_id"), "group_name": chat.get("name") or "", "owner": owner,
            "owner_name": directory.name(owner), "group_status": status, "create_time": chat.get("create_time")}


def membership_records(chat: dict[str, Any], directory: MemberDirectory, *, status: int | None = None,
                       only: set[str] | None = None, event: dict[str, Any] | None = None) -> list[Record]:
    """One record per external member of a ``groupchat/get`` answer (``only``: these ids)."""
    group = _group_data(chat, directory, status)
    out = []
    for member in chat.get("member_list") or []:
        userid = member.get("userid") or ""
        if int(member.get("type") or 0) != MEMBER_TYPE_EXTERNAL or not userid or (only is not None and userid not in only):
            continue
        scene = member.get("join_scene")
        invitor = (member.get("invitor") or {}).get("userid")
        data = {**group, "external_userid": userid, "unionid": member.get("unionid"), "name": member.get("name"),
                "group_nickname": member.get("group_nickname"), "join_time": member.get("join_time"),
                "join_scene": scene, "join_scene_label": JOIN_SCENES.get(scene), "invitor": invitor,
                "invitor_name": directory.name(invitor) if invitor and not is_external(invitor) else None}
        data = {k: v for k, v in data.items() if v is not None}
        if event:
            data["event"] = event
        out.append(Record(native_id=membership_id(group["chat_id"], userid), data=data, updated_at=_now()))
    return out


def _members(chat: dict[str, Any]) -> dict[str, int | None]:
    return {m["userid"]: m.get("join_time") for m in chat.get("member_list") or []
            if int(m.get("type") or 0) == MEMBER_TYPE_EXTERNAL and m.get("userid")}


class GroupChatsStream(_ScanStream):
    name = "group_chats"
    primary_key = "chat_id:userid"
    description = "customer-group memberships (groupchat/list + groupchat/get, need_name); full scan, changes only"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return ChangeDetectingScan(self.connector.state, self.name).run(cursor, self._pages, tombstone=self._tombstone)

    def _list_body(self, api_cursor: str) -> dict[str, Any]:
        config = self.wecom.config
        body: dict[str, Any] = {"status_filter": int(config.get("group_status_filter") or 0), "cursor": api_cursor, "limit": LIST_LIMIT}
        owners = list(config.get("group_owner_filter") or [])
        if owners:
            body["owner_filter"] = {"userid_list": owners}
        return body

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        client, directory, index = self.wecom.client, MemberDirectory(self.wecom), GroupIndex(self.wecom)
        api_cursor = (position or {}).get("cursor", "")
        while True:
            answer = client.post("externalcontact/groupchat/list", self._list_body(api_cursor))
            records: list[Record] = []
            for item in answer.get("group_chat_list") or []:
                try:
                    chat = client.post("externalcontact/groupchat/get", {"chat_id": item["chat_id"], "need_name": 1}).get("group_chat") or {}
                except PermanentError as exc:
                    if exc.code != CHAT_GONE:
                        raise
                    continue  # dismissed between list and get: its members become tombstones
                if not chat:
                    continue
                index.put_group(chat, _members(chat))
                records.extend(membership_records(chat, directory, status=item.get("status")))
            api_cursor = answer.get("next_cursor") or ""
            yield Page(records, {"cursor": api_cursor} if api_cursor else None)
            if not api_cursor:
                return

    def _tombstone(self, native_id: str, _context: ScanContext) -> Record:
        chat_id, ext = split_membership_id(native_id)
        index = GroupIndex(self.wecom)
        entry = index.get(chat_id)
        join_time = (entry.get("left") or {}).get(ext)
        data = {"chat_id": chat_id, "external_userid": ext, "group_name": entry.get("name") or "", "owner": entry.get("owner") or "",
                "left": True, "left_by": "scan", "left_at": int(_now().timestamp())}
        if join_time is not None:
            data["join_time"] = join_time
        return Record(native_id=native_id, data=data, deleted=True)


def _changed_ids(plain: bytes | None) -> list[str]:
    """``MemChangeList/Item`` texts of the decrypted callback XML."""
    if not plain:
        return []
    try:
        root = SafeET.fromstring(plain, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception:  # the flat parse already accepted this document; be lenient here
        return []
    found = root.find("MemChangeList")
    return [(item.text or "").strip() for item in (found if found is not None else []) if (item.text or "").strip()]


def chat_event_records(connector: "WeComConnector", event: dict[str, str], plain: bytes | None = None) -> list[tuple[str, Record]]:
    """Records for one ``change_external_chat`` callback (see the module docstring)."""
    chat_id, change, detail = event.get("ChatId", ""), event.get("ChangeType", ""), event.get("UpdateDetail", "")
    if not chat_id or change not in ("create", "update", "dismiss"):
        return []
    created = event.get("CreateTime", "")
    when = inputs.parse_epoch(created, "CreateTime") if created else int(_now().timestamp())
    sender = event.get("FromUserName", "")
    info: dict[str, Any] = {"change_type": change, "update_detail": detail or None, "create_time": when}
    for field, name in (("JoinScene", "join_scene"), ("QuitScene", "quit_scene"), ("MemChangeCnt", "mem_change_cnt")):
        if event.get(field):
            info[name] = inputs.parse_int(event[field], field, minimum=0, max_len=9)
    info = {k: v for k, v in info.items() if v is not None}
    changed = [u for u in _changed_ids(plain) if is_external(u)]
    index, directory = GroupIndex(connector), MemberDirectory(connector)

    def key(ext: str, what: str) -> str:
        return f"wecom:{sender}:{created}:chat:{chat_id}:{change}:{detail}:{what}:{ext}"[:255]

    def left(ext: str, entry: dict[str, Any], join_time: int | None) -> tuple[str, Record]:
        data = {"chat_id": chat_id, "external_userid": ext, "group_name": entry.get("name") or "", "owner": entry.get("owner") or "",
                "left": True, "left_by": "callback", "left_at": when, "event": info}
        if join_time is not None:
            data["join_time"] = join_time
        record = Record(native_id=membership_id(chat_id, ext), data=data, deleted=True,
                        updated_at=datetime.fromtimestamp(when, timezone.utc), dedupe_key=key(ext, "left"))
        return "group_chats", record

    if change == "dismiss":
        entry = index.get(chat_id)
        members = dict(entry.get("members") or {})
        index.dismissed(chat_id)
        return [left(ext, entry, t) for ext, t in members.items()]
    if change == "update" and detail == "del_member":
        entry = index.get(chat_id)
        return [left(ext, entry, index.member_left(chat_id, ext)) for ext in changed]
    try:
        chat = connector.client.post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1}).get("group_chat") or {}
    except ConnectorError:
        chat = {}
    only = set(changed) if (change == "update" and detail == "add_member" and changed) else None
    if not chat:
        # WeCom could not be asked: record the joins the callback names; the scan fills in.
        if detail != "add_member":
            return []
        entry = index.get(chat_id)
        out = []
        for ext in changed:
            data = {"chat_id": chat_id, "external_userid": ext, "group_name": entry.get("name") or "", "owner": entry.get("owner") or "",
                    "join_time": when, "join_scene": info.get("join_scene"), "event": info}
            out.append(("group_chats", Record(native_id=membership_id(chat_id, ext), data={k: v for k, v in data.items() if v is not None},
                                              updated_at=datetime.fromtimestamp(when, timezone.utc), dedupe_key=key(ext, "joined"))))
        return out
    index.put_group(chat, _members(chat))
    out = []
    for record in membership_records(chat, directory, only=only, event=info):
        record.dedupe_key = key(record.data["external_userid"], "member")
        record.updated_at = datetime.fromtimestamp(when, timezone.utc)
        out.append(("group_chats", record))
    return out
