"""The ``unionid_bridge`` sink: join a WeChat unionid from a Mini Program or Official
Account membership system to the WeCom customer.

Since mid-2022 WeCom rarely returns a customer's ``unionid`` (see the notes on
``externalcontact/get``), so a membership system that knows members by unionid cannot meet
them in WeCom through the ``wechat_unionid`` identity alone. This sink asks WeCom:

* **match** (before any create, :mod:`hub.pipeline.matching`): ``unionid_to_external_userid``
  (:func:`~connectors.wecom.members.unionid_to_external_userid`) → ``external_userid``; then
  ``externalcontact/get`` reads the customer, and each relation comes back as the record the
  ``external_contacts`` scan would yield — with the unionid filled in — so the hub links it and
  the identity rules join the WeCom customer to the member's contact;
* **write** (WeCom knows no such customer yet): the ``idconvert`` form returns a
  ``pending_id`` (valid 90 days); it is kept in the instance state (``unionid_pending:<unionid>``)
  and is the write's native id.

Payload (``mappings/wecom.unionid_bridge.out.yaml``): ``unionid`` and ``openid`` (from the
same Mini Program / Official Account), optional ``subject_type`` (0 the corp's, 1 the
service provider's). Which app types may call the conversions: docs/connectors/wecom.md.
"""

from __future__ import annotations

from typing import Any

from hub.connector import Match, PermanentError, Record, WriteResult

from connectors.wecom.members import unionid_to_external_userid
from connectors.wecom.sinks import _WeComSink
from connectors.wecom.streams import relation_id

#: "not an external contact" / "invalid external userid": WeCom knows no such customer.
NOT_A_CUSTOMER = frozenset({84061, 40096})


class UnionidBridgeSink(_WeComSink):
    name = "unionid_bridge"
    description = "find the WeCom customer of a WeChat unionid (unionid_to_external_userid), else keep a pending_id"
    matches = True

    @staticmethod
    def _ids(payload: dict[str, Any]) -> tuple[str, str]:
        unionid, openid = str(payload.get("unionid") or ""), str(payload.get("openid") or "")
        if not unionid or not openid:
            raise PermanentError("unionid_bridge needs unionid and openid (from the same Mini Program or Official Account)")
        return unionid, openid

    def match(self, payload: dict[str, Any]) -> list[Match]:
        unionid, openid = self._ids(payload)
        try:
            found = unionid_to_external_userid(self.wecom, unionid, openid)
        except PermanentError as exc:
            if exc.code in NOT_A_CUSTOMER:
                return []
            raise
        ext = found.get("external_userid")
        if not ext:
            return []
        try:
            answer = self.wecom.client.get("externalcontact/get", external_userid=ext)
        except PermanentError as exc:
            if exc.code in NOT_A_CUSTOMER:
                return []
            raise
        contact = {**(answer.get("external_contact") or {}), "unionid": unionid}
        matches = []
        for follow in answer.get("follow_user") or []:
            userid = follow.get("userid") or ""
            if not userid:
                continue
            tags = follow.get("tags") or []
            follow_info = {k: v for k, v in follow.items() if k != "tags"}
            follow_info["tag_id"] = [t.get("tag_id") for t in tags if t.get("tag_id")]
            follow_info["tags"] = [{"id": t.get("tag_id"), "name": t.get("tag_name"), "group_name": t.get("group_name")} for t in tags]
            data = {"external_userid": ext, "userid": userid, "external_contact": contact, "follow_info": follow_info}
            rid = relation_id(ext, userid)
            matches.append(Match(native_id=rid, stream="external_contacts", record=Record(native_id=rid, data=data)))
        return matches

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        unionid, openid = self._ids(payload)
        found = unionid_to_external_userid(self.wecom, unionid, openid, subject_type=int(payload.get("subject_type") or 0))
        if found.get("external_userid"):  # became a customer since the match: the next scan links it
            return WriteResult(native_id=found["external_userid"], created=False, data=found)
        pending = found.get("pending_id")
        if not pending:
            raise PermanentError("WeCom answered neither an external_userid nor a pending_id")
        self.wecom.state.set(f"unionid_pending:{unionid}", {"pending_id": pending})
        return WriteResult(native_id=f"pending:{pending}", created=True, data={"pending_id": pending})

    def describe(self, payload: dict[str, Any]) -> str:
        return "unionid → 企业微信客户"
