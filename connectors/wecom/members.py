"""Members (企业成员): display names, departures and departed staff's customers.

* :class:`MemberDirectory` — userid → display name from ``user/get`` (doc 90196), kept in
  the instance's durable state so a departed member keeps a name on the timeline after
  ``user/get`` stops knowing them. ``change_contact`` callbacks (doc 90970: ``create_user``,
  ``update_user``, ``delete_user`` with ``UserID``, ``Name``) update it as they arrive.
* :class:`UnassignedStream` — ``externalcontact/get_unassigned_list`` (doc 92124): the
  customers of departed members waiting for inheritance (离职继承). A full scan with change
  detection; a pair that disappears was reassigned.
* :func:`unionid_to_external_userid` — ID bridging for a Mini Program / Official Account
  membership system (doc 93274 / 97108, see docs/connectors/wecom.md for who may call it).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ConnectorError, PermanentError, ReadBatch, Record, inputs

from connectors.wecom.scan import ChangeDetectingScan, Page, ScanContext
from connectors.wecom.streams import MEMBER_UNREADABLE, _ScanStream, relation_id, split_relation_id

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

#: Seconds a member's display name is trusted before user/get is asked again.
NAME_TTL = 24 * 3600
#: get_unassigned_list page_size: at most 1000 (doc 92124).
UNASSIGNED_PAGE = 1000
#: External ids carry these prefixes (wm/wo: WeChat customers; doc 92114 shows wm… ids). A
#: heuristic, used only where a message or group member names no type: unverified.
EXTERNAL_PREFIXES = ("wm", "wo")


def is_external(user_id: str | None) -> bool:
    return bool(user_id) and str(user_id).startswith(EXTERNAL_PREFIXES)


class MemberDirectory:
    """Display names of members, cached per object and persisted in durable state."""

    def __init__(self, connector: "WeComConnector"):
        self.connector = connector
        self._cache: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _key(userid: str) -> str:
        return f"member:{userid}"

    def entry(self, userid: str) -> dict[str, Any]:
        """``{"name", "departed", "checked_at"}``; read from ``user/get`` when unknown or
        older than :data:`NAME_TTL` (a rename without a change_contact callback), never for a
        departed member (user/get no longer knows them: the last name stays)."""
        if not userid:
            return {}
        if userid in self._cache:
            return self._cache[userid]
        entry = self.connector.state.get(self._key(userid)) or {}
        stale = int(time.time()) - int(entry.get("checked_at") or 0) > NAME_TTL
        if not entry.get("departed") and (not entry.get("name") or stale):
            try:
                member = self.connector.client.get("user/get", userid=userid)
            except PermanentError as exc:
                if exc.code not in MEMBER_UNREADABLE and exc.code != 60111:
                    raise
            except ConnectorError:
                return entry  # a name is decoration: never fail a read for it
            else:
                leaders = member["direct_leader"] if "direct_leader" in member else entry.get("direct_leader")
                entry = {"name": member.get("name") or entry.get("name") or "", "departed": False, "checked_at": int(time.time()),
                         **({"direct_leader": list(leaders)} if leaders is not None else {})}
                self.connector.state.set(self._key(userid), entry)
        self._cache[userid] = entry
        return entry

    def name(self, userid: str | None) -> str | None:
        return self.entry(userid or "").get("name") or None

    def entry_stored(self, userid: str) -> dict[str, Any]:
        """What the directory holds for ``userid``, without asking WeCom."""
        if userid in self._cache:
            return self._cache[userid]
        return self.connector.state.get(self._key(userid)) or {}

    def remember(self, userid: str, *, name: str | None = None, departed: bool | None = None,
                 leaders: list[str] | None = None) -> dict[str, Any]:
        entry = dict(self.connector.state.get(self._key(userid)) or {})
        if name:
            entry["name"] = name
            entry["checked_at"] = int(time.time())
        if leaders is not None:  # direct_leader: kept for the hand-over after the member left
            entry["direct_leader"] = [str(u) for u in leaders if u]
        if departed is not None:
            entry["departed"] = departed
            if departed:
                entry["departed_at"] = int(datetime.now(timezone.utc).timestamp())
        self.connector.state.set(self._key(userid), entry)
        self._cache[userid] = entry
        return entry


def change_contact(connector: "WeComConnector", event: dict[str, str]) -> list[tuple[str, Record]]:
    """A ``change_contact`` member callback: update the directory (name, ``DirectLeader``
    when WeCom still sends it, departed). A ``delete_user`` is also a ``follow_users``
    record carrying the departure: its mapping signals the hub's departure hand-over
    (``departed_member``); the member's customers themselves arrive through ``unassigned``."""
    change, userid = event.get("ChangeType", ""), event.get("UserID", "")
    if not userid or change not in ("create_user", "update_user", "delete_user"):
        return []
    directory = MemberDirectory(connector)
    if change == "delete_user":
        directory.remember(userid, departed=True)
        created = event.get("CreateTime", "")
        seconds = inputs.parse_epoch(created, "CreateTime") if created else None
        record = Record(native_id=userid, data={"userid": userid, "event": {"change_type": change, "create_time": seconds}},
                        updated_at=datetime.fromtimestamp(seconds, timezone.utc) if seconds is not None else None, deleted=True,
                        dedupe_key=f"wecom:{event.get('FromUserName', '')}:{created}:{change}:{userid}")
        return [("follow_users", record)]
    leaders = [u.strip() for u in event["DirectLeader"].split(",") if u.strip()] if "DirectLeader" in event else None
    if event.get("NewUserID"):  # a changed userid (update_user)
        directory.remember(event["NewUserID"], name=event.get("Name") or directory.name(userid), departed=False, leaders=leaders)
    directory.remember(userid, name=event.get("Name") or None, departed=False, leaders=leaders)
    return []


class UnassignedStream(_ScanStream):
    name = "unassigned"
    primary_key = "external_userid:handover_userid"
    description = "customers of departed members waiting for inheritance (get_unassigned_list); full scan, changes only"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return ChangeDetectingScan(self.connector.state, self.name).run(cursor, self._pages, tombstone=self._tombstone)

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        client, directory = self.wecom.client, MemberDirectory(self.wecom)
        api_cursor = (position or {}).get("cursor", "")
        while True:
            answer = client.post("externalcontact/get_unassigned_list", {"cursor": api_cursor, "page_size": UNASSIGNED_PAGE})
            records = []
            for item in answer.get("info") or []:
                ext, handover = item.get("external_userid", ""), item.get("handover_userid", "")
                if not ext or not handover:
                    continue
                data = {"external_userid": ext, "handover_userid": handover, "handover_name": directory.name(handover),
                        "dimission_time": item.get("dimission_time")}
                records.append(Record(native_id=relation_id(ext, handover), data=data, updated_at=datetime.now(timezone.utc)))
            api_cursor = answer.get("next_cursor") or ""
            last = bool(answer.get("is_last")) or not api_cursor
            yield Page(records, None if last else {"cursor": api_cursor})
            if last:
                return

    @staticmethod
    def _tombstone(native_id: str, _context: ScanContext) -> Record:
        ext, handover = split_relation_id(native_id)
        return Record(native_id=native_id, data={"external_userid": ext, "handover_userid": handover, "assigned": True}, deleted=True)


def unionid_to_external_userid(connector: "WeComConnector", unionid: str, openid: str, *, subject_type: int | None = None) -> dict[str, Any]:
    """Bridge a WeChat unionid (+ the openid from the same Mini Program / Official Account)
    to this corp's ``external_userid``. Answers ``{"external_userid": …}`` or, for a WeChat
    user who is not yet a customer, ``{"pending_id": …}`` (valid 90 days, doc 97108).

    Who may call it: the ``idconvert`` form (doc 97108) is for third-party and 代开发
    (service-provider-built) apps; ``externalcontact/unionid_to_external_userid`` (doc
    93274) for 代开发 apps of a *verified* corp whose Mini Program has the corp's own
    subject. A plain self-built app gets 48002 (api forbidden) — reported as such."""
    if not unionid or not openid:
        raise PermanentError("unionid_to_external_userid needs both unionid and openid (from the same Mini Program or Official Account)")
    body: dict[str, Any] = {"unionid": unionid, "openid": openid}
    path = "externalcontact/unionid_to_external_userid"
    if subject_type is not None:
        body["subject_type"] = int(subject_type)
        path = "idconvert/unionid_to_external_userid"
    try:
        answer = connector.client.post(path, body)
    except PermanentError as exc:
        if exc.code == 48002:
            raise PermanentError(f"{exc.message} — this app type may not convert unionids (third-party or 代开发 apps only; see docs/connectors/wecom.md)", code=exc.code) from None
        raise
    return {k: answer[k] for k in ("external_userid", "pending_id") if answer.get(k)}
