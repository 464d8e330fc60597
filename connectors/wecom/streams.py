"""Readable WeCom streams. All three are full scans with change detection
(:mod:`connectors.wecom.scan`): WeCom offers no "changed since" filter for customers, tags
or follow users, and fires no callback for remark-mobile changes or API-made changes.

* ``external_contacts`` — one record per **relation** (customer × follow user), native id
  ``"<external_userid>:<userid>"``. WeCom keeps remark, remark_mobiles, tags, add_way and
  state per relation, and its callbacks (add / edit / del_follow_user …) are per relation
  too, so a relation is what can change or disappear on its own. The mapping resolves all
  relations of one customer to one contact through ``wecom_external_userid``.
  Read through ``externalcontact/batch/get_by_user`` for all follow users (100 users per
  request, cursor pagination, ``limit`` ≤ 100); tag ids are resolved to names.
* ``follow_users`` — members with the customer-contact permission, enriched with
  ``user/get`` (name, department) where the app may read them.
* ``corp_tags`` — every corp tag (``get_corp_tag_list``), native id = tag id.

The webhook adds event records to ``external_contacts`` and ``corp_tags`` (see
:mod:`connectors.wecom.webhook`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ConnectorError, PermanentError, ReadBatch, Record, Stream

from connectors.wecom.scan import ChangeDetectingScan, Page, ScanContext

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

USERS_PER_REQUEST = 100
MEMBERS_PER_PAGE = 50
#: user/get answers that only mean "this app may not read members": keep the userid alone.
MEMBER_UNREADABLE = frozenset({60011, 48002, 60111, 60123, 301002})


def relation_id(external_userid: str, userid: str) -> str:
    return f"{external_userid}:{userid}"


def split_relation_id(native_id: str) -> tuple[str, str]:
    external_userid, _, userid = native_id.partition(":")
    return external_userid, userid


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _ScanStream(Stream):
    def _scan(self) -> ChangeDetectingScan:
        return ChangeDetectingScan(self.connector.state, self.name)

    @property
    def wecom(self) -> "WeComConnector":
        return self.connector  # type: ignore[return-value]


class ExternalContactsStream(_ScanStream):
    name = "external_contacts"
    primary_key = "external_userid:userid"
    description = "customer relations (customer × follow user) with follow_info; full scan, changes only"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return self._scan().run(cursor, self._pages, tombstone=self._tombstone)

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        client = self.wecom.client
        if context.fresh:
            users = client.get("externalcontact/get_follow_user_list").get("follow_user") or []
            context.values["users"] = sorted(set(users))
            self._learn_names(context.values["users"])
        users: list[str] = context.values.get("users") or []
        groups = [users[i : i + USERS_PER_REQUEST] for i in range(0, len(users), USERS_PER_REQUEST)]
        if not groups:
            yield Page([], None)
            return
        tag_names = self.wecom.tags.names_by_id()
        group, api_cursor = (position["group"], position["cursor"]) if position else (0, "")
        resumed = bool(api_cursor)
        while group < len(groups):
            body = {"userid_list": groups[group], "cursor": api_cursor, "limit": self.wecom.config["page_size"]}
            try:
                answer = client.post("externalcontact/batch/get_by_user", body)
            except PermanentError:
                if not resumed:
                    raise
                # The saved WeCom cursor expired while we were away: redo this group.
                resumed, api_cursor = False, ""
                continue
            resumed = False
            seen_at = _now()
            records = [self._record(item, tag_names, seen_at) for item in answer.get("external_contact_list") or []]
            next_cursor = answer.get("next_cursor") or ""
            if next_cursor:
                api_cursor = next_cursor
            else:
                group, api_cursor = group + 1, ""
            yield Page(records, {"group": group, "cursor": api_cursor} if group < len(groups) else None)

    def _learn_names(self, users: list[str]) -> None:
        """Put the follow users' display names in the member directory (``member:<userid>`` in
        durable state), so the hub shows an owner as 张三, not ``zhangsan``. One ``user/get`` per
        member the directory does not know yet; a name is decoration, so failing to read one
        never fails the scan."""
        from connectors.wecom.members import MemberDirectory

        directory = MemberDirectory(self.wecom)
        for userid in users:
            try:
                directory.entry(userid)
            except ConnectorError:
                continue

    @staticmethod
    def _record(item: dict[str, Any], tag_names: dict[str, dict[str, str]], seen_at: datetime) -> Record:
        contact = dict(item.get("external_contact") or {})
        follow = dict(item.get("follow_info") or {})
        follow["tags"] = [tag_names.get(tid, {"id": tid}) for tid in follow.get("tag_id") or []]
        external_userid, userid = contact.get("external_userid", ""), follow.get("userid", "")
        data = {"external_userid": external_userid, "userid": userid, "external_contact": contact, "follow_info": follow}
        return Record(native_id=relation_id(external_userid, userid), data=data, updated_at=seen_at)

    @staticmethod
    def _tombstone(native_id: str, context: ScanContext) -> Record | None:
        external_userid, userid = split_relation_id(native_id)
        if userid not in set(context.values.get("users") or []):
            # The member lost the customer-contact permission (or left): their customers
            # were not read, which proves nothing about the relation.
            return None
        return Record(native_id=native_id, data={"external_userid": external_userid, "userid": userid, "removed_by": "scan"}, deleted=True)


class FollowUsersStream(_ScanStream):
    name = "follow_users"
    primary_key = "userid"
    description = "members with the customer-contact permission (get_follow_user_list + user/get)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return self._scan().run(cursor, self._pages, tombstone=lambda nid, _ctx: Record(nid, {"userid": nid}, deleted=True))

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        client = self.wecom.client
        if context.fresh:
            context.values["users"] = sorted(set(client.get("externalcontact/get_follow_user_list").get("follow_user") or []))
        users: list[str] = context.values.get("users") or []
        start = int(position or 0)
        if start >= len(users):
            yield Page([], None)
            return
        while start < len(users):
            chunk = users[start : start + MEMBERS_PER_PAGE]
            records = [self._member(userid) for userid in chunk]
            start += len(chunk)
            yield Page(records, start if start < len(users) else None)

    def _member(self, userid: str) -> Record:
        data: dict[str, Any] = {"userid": userid}
        try:
            member = self.wecom.client.get("user/get", userid=userid)
        except PermanentError as exc:
            if exc.code not in MEMBER_UNREADABLE:
                raise
        else:
            for key in ("name", "alias", "department", "position", "status", "main_department", "direct_leader"):
                if key in member:
                    data[key] = member[key]
            if "direct_leader" in member:  # kept for the departure hand-over (connectors.wecom.handover)
                from connectors.wecom.members import MemberDirectory

                MemberDirectory(self.wecom).remember(userid, leaders=list(member["direct_leader"] or []))
            if member.get("name") and (self.wecom.state.get(f"member:{userid}") or {}).get("name") != member["name"]:
                from connectors.wecom.members import MemberDirectory  # a renamed member: the directory follows

                MemberDirectory(self.wecom).remember(userid, name=member["name"])
        return Record(native_id=userid, data=data, updated_at=_now())


class CorpTagsStream(_ScanStream):
    name = "corp_tags"
    description = "corp customer tags with their groups (get_corp_tag_list)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return self._scan().run(cursor, self._pages, tombstone=lambda nid, _ctx: Record(nid, {"id": nid}, deleted=True))

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        groups = self.wecom.tags.catalog(refresh=True)
        seen_at = _now()
        records = []
        for group in groups:
            for tag in group.get("tag") or []:
                data = {
                    "id": tag["id"],
                    "name": tag.get("name"),
                    "order": tag.get("order"),
                    "create_time": tag.get("create_time"),
                    "group_id": group.get("group_id"),
                    "group_name": group.get("group_name"),
                }
                records.append(Record(native_id=tag["id"], data=data, updated_at=seen_at, deleted=bool(tag.get("deleted"))))
        yield Page(records, None)
