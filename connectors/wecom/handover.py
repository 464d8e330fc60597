"""WeCom's side of the departure hand-over (:class:`hub.connector.handover.HandOver`).

* relations: ``external_contacts`` and ``unassigned`` links, native id
  ``<external_userid>:<userid>`` (a departed member's customers wait in ``unassigned``,
  doc 92124);
* managers: ``user/get`` → ``direct_leader`` (a list of userids; doc 90196). A member who
  left is no longer readable (60111), so the last ``direct_leader`` seen — by ``user/get``,
  the ``follow_users`` scan or a ``change_contact`` callback's ``DirectLeader`` — is kept
  in the member directory (durable state) and used then;
* department members: ``user/simplelist?department_id=ID`` → ``userlist[].userid`` (doc
  90200), keeping those with the customer-contact permission (``get_follow_user_list``:
  WeCom requires it of a takeover) who have not left;
* transfers: the ``transfers`` sink with ``resigned: true`` (``resigned/transfer_customer``,
  ≤ 100 customers, doc 94081); statuses from ``resigned/transfer_result`` (doc 94082:
  1 done, 2 waiting, 3 refused, 4 takeover at its limit) — read only, never a second
  transfer. A customer's request errcode (other than 0 and 40129 "already being
  transferred") fails that customer.
"""

from __future__ import annotations

from typing import Any

from hub.connector import PermanentError
from hub.connector.handover import DONE, FAILED, LIMIT, REFUSED, WAITING, HandOver

from connectors.wecom.errors import ALREADY_TRANSFERRING
from connectors.wecom.members import MemberDirectory
from connectors.wecom.streams import MEMBER_UNREADABLE, split_relation_id

#: TransfersSink's names for transfer_result statuses → the hub's.
STATES = {"done": DONE, "waiting": WAITING, "refused": REFUSED, "takeover_limit": LIMIT}


class WeComHandOver(HandOver):
    sink = "transfers"
    relation_streams = ("external_contacts", "unassigned")
    batch_size = 100

    def __init__(self, connector: Any):
        super().__init__(connector)
        self.directory = MemberDirectory(connector)

    def relation(self, stream: str, native_id: str) -> tuple[str, str] | None:
        external_userid, userid = split_relation_id(native_id)
        return (external_userid, userid) if external_userid and userid else None

    def managers(self, member: str) -> list[str]:
        leaders: list[str] | None = None
        try:
            found = self.connector.client.get("user/get", userid=member)
        except PermanentError as exc:
            if exc.code not in MEMBER_UNREADABLE:
                raise
        else:
            leaders = [str(u) for u in found.get("direct_leader") or [] if u]
            self.directory.remember(member, leaders=leaders)
        if leaders is None:
            leaders = list(self.directory.entry_stored(member).get("direct_leader") or [])
        return [u for u in leaders if not self.directory.entry_stored(u).get("departed")]

    def department_members(self, department: str) -> list[str]:
        listed = self.connector.client.get("user/simplelist", department_id=department).get("userlist") or []
        able = set(self.connector.client.get("externalcontact/get_follow_user_list").get("follow_user") or [])
        out = []
        for item in listed:
            userid = str(item.get("userid") or "")
            if userid and userid in able and not self.directory.entry_stored(userid).get("departed") and userid not in out:
                out.append(userid)
        return out

    def payload(self, member: str, takeover: str, customers: list[str]) -> dict[str, Any]:
        return {"handover_userid": member, "takeover_userid": takeover, "external_userid": list(customers), "resigned": True}

    def statuses(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, tuple[str, str]]:
        sink = self.connector.sink(self.sink)
        done = sink._recall(idempotency_key)
        data = (done or {}).get("data") or {
            "handover_userid": payload["handover_userid"], "takeover_userid": payload["takeover_userid"],
            "resigned": bool(payload.get("resigned")),
            "customers": [{"external_userid": c} for c in payload.get("external_userid") or []],
        }
        out: dict[str, tuple[str, str]] = {}
        for entry in sink._with_status(data)["customers"]:
            code = entry.get("errcode")
            if code not in (None, 0, ALREADY_TRANSFERRING) and "status" not in entry:
                out[entry["external_userid"]] = (FAILED, f"WeCom errcode {code}")
                continue
            out[entry["external_userid"]] = (STATES.get(entry.get("status") or "waiting", WAITING), "")
        return out

    def describe(self, member: str) -> str:
        name = self.directory.name(member)
        return f"{name}（{member}）" if name and name != member else member
