"""The sandbox's customer groups, chat archive, welcome and mass messages, departed
members and ID bridging (issue 18): state, suite operations, control methods and routes.

Error codes it answers (docs/connectors/wecom.md lists the sources; "unverified" where
WeCom publishes none): 40003 unknown member, 40050 unknown chat_id, 40058 invalid
parameter (limits, an expired WelcomeCode), 41048 no customer can receive a mass message
(unverified), 41051 WelcomeCode already used, 48002 API forbidden for this app type,
84061 not a customer; the archive answers the SDK's 10000 (bad request or secret).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from connectors.wecom.archive import keys as archive_keys
from connectors.wecom.archive import sandbox_cipher

if TYPE_CHECKING:
    from connectors.wecom.sandbox import WeComSandbox

CHINA = timezone(timedelta(hours=8))
WELCOME_WINDOW = 20
ARCHIVE_SECRET = "SandboxArchiveSecret-huiliu-2026"
_KEY_CACHE: dict[str, str] = {}


def sandbox_private_pem() -> str:
    """One RSA key pair per process for sandboxes (generating 2048-bit keys is slow)."""
    if "pem" not in _KEY_CACHE:
        _KEY_CACHE["pem"] = archive_keys.generate_private_pem()
    return _KEY_CACHE["pem"]


def init(sb: "WeComSandbox") -> None:
    sb.time_offset = 0.0
    sb.groups: dict[str, dict[str, Any]] = {}
    sb.archive: list[dict[str, Any]] = []
    sb._plain: list[dict[str, Any]] = []
    sb.archive_public: dict[int, str] = {1: archive_keys.public_pem(sandbox_private_pem())}
    sb.archive_version = 1
    sb.archive_secret = ARCHIVE_SECRET
    sb.welcome_codes: dict[str, dict[str, Any]] = {}
    sb.templates: dict[str, dict[str, Any]] = {}
    sb.received: dict[tuple[str, str], int] = {}
    sb.app_type = "agency"
    sb.pending_ids: dict[str, str] = {}
    for key in ("welcome", "messages", "unionid_bridge"):
        sb._effects.setdefault(key, [])


def now(sb: "WeComSandbox") -> float:
    return time.time() + sb.time_offset


# -- control methods -------------------------------------------------------------------------

def advance_time(sb: "WeComSandbox", seconds: float) -> float:
    """Let real time pass for what WeCom times (WelcomeCode expiry)."""
    sb.time_offset += float(seconds)
    return now(sb)


def issue_welcome_code(sb: "WeComSandbox", relation: str, code: str | None = None) -> str:
    """WeCom issues a WelcomeCode with an add_external_contact callback (valid 20 s, once)."""
    code = code or os.urandom(12).hex().upper()
    ext, _, userid = relation.partition(":")
    sb.welcome_codes[code] = {"issued": now(sb), "used": False, "external_userid": ext, "userid": userid}
    return code


def add_group(sb: "WeComSandbox", name: str, owner: str = "wangwu", at: str | int | None = None) -> dict[str, Any]:
    """A member creates a customer group (客户群)."""
    if owner not in sb.members:
        raise ValueError(f"{owner!r} is not a member")
    chat_id = sb._id("wr", 30)
    created = _when(at, sb)
    sb.groups[chat_id] = {"chat_id": chat_id, "name": name, "owner": owner, "create_time": created, "notice": "",
                          "member_list": [{"userid": owner, "type": 1, "join_time": created, "join_scene": 1}],
                          "admin_list": [], "status": 0, "_seq": sb.next_seq()}
    return {"chat_id": chat_id, "name": name, "owner": owner}


def _group(sb: "WeComSandbox", group: str) -> dict[str, Any]:
    found = sb.groups.get(group) or next((g for g in sb.groups.values() if g["name"] == group), None)
    if found is None:
        raise ValueError(f"no customer group {group!r}")
    return found


def _when(at: str | int | None, sb: "WeComSandbox") -> int:
    if isinstance(at, (int, float)):
        return int(at)
    if at:
        return int(datetime.fromisoformat(at).timestamp())
    return int(now(sb))


def join_group(sb: "WeComSandbox", group: str, external_userid: str, *, scene: int = 3, invitor: str | None = None,
               at: str | int | None = None, callback_url: str | None = None) -> dict[str, Any]:
    """A customer joins a group (scene 1 invited, 2 invite link, 3 QR code); with
    ``callback_url`` WeCom's change_external_chat update/add_member callback is pushed."""
    chat = _group(sb, group)
    if external_userid not in sb.customers:
        raise ValueError(f"{external_userid!r} is not a customer")
    when = _when(at, sb)
    chat["member_list"] = [m for m in chat["member_list"] if m["userid"] != external_userid]
    member = {"userid": external_userid, "type": 2, "join_time": when, "join_scene": scene, "invitor": {"userid": invitor or chat["owner"]}}
    if sb.customers[external_userid].get("unionid"):
        member["unionid"] = sb.customers[external_userid]["unionid"]
    chat["member_list"].append(member)
    out: dict[str, Any] = {"chat_id": chat["chat_id"], "membership": f"{chat['chat_id']}:{external_userid}"}
    if callback_url:
        out["callback"] = _push(sb, callback_url, chat_event(chat["chat_id"], "update", "add_member", [external_userid],
                                                             JoinScene=0 if scene in (1, 2) else 3, CreateTime=when))
    return out


def leave_group(sb: "WeComSandbox", group: str, external_userid: str, *, removed: bool = False,
                at: str | int | None = None, callback_url: str | None = None) -> dict[str, Any]:
    chat = _group(sb, group)
    before = len(chat["member_list"])
    chat["member_list"] = [m for m in chat["member_list"] if m["userid"] != external_userid]
    if len(chat["member_list"]) == before:
        raise ValueError(f"{external_userid!r} is not in {chat['name']}")
    out: dict[str, Any] = {"chat_id": chat["chat_id"]}
    if callback_url:
        out["callback"] = _push(sb, callback_url, chat_event(chat["chat_id"], "update", "del_member", [external_userid],
                                                             QuitScene=1 if removed else 0, CreateTime=_when(at, sb)))
    return out


def chat_event(chat_id: str, change: str, detail: str = "", members: list[str] = (), **extra: Any) -> dict[str, Any]:
    """The fields of a change_external_chat callback (doc 92130)."""
    event: dict[str, Any] = {"Event": "change_external_chat", "ChatId": chat_id, "ChangeType": change}
    if detail:
        event["UpdateDetail"] = detail
    if members:
        event["MemChangeCnt"] = len(members)
        event["MemChangeList"] = list(members)
    event.update(extra)
    return event


def _push(sb: "WeComSandbox", url: str, fields: dict[str, Any]) -> dict[str, Any]:
    answer = sb.push(url, fields)
    return {"status": answer.status_code, "body": answer.text[:200]}


def archive_key(sb: "WeComSandbox", version: int, public_pem: str) -> dict[str, Any]:
    """The admin uploads a new archive public key: later messages use ``version``."""
    archive_keys.encrypt_random_key(public_pem, b"probe")  # refuse what is not an RSA public key
    sb.archive_public[int(version)] = public_pem
    sb.archive_version = int(version)
    return {"version": sb.archive_version}


def archive_message(sb: "WeComSandbox", message: dict[str, Any]) -> dict[str, Any]:
    """Append one message to the archive, encrypted the way WeCom does."""
    seq = len(sb.archive) + 1
    random_key = os.urandom(16).hex().encode()
    item = {"seq": seq, "msgid": message["msgid"], "publickey_ver": sb.archive_version,
            "encrypt_random_key": archive_keys.encrypt_random_key(sb.archive_public[sb.archive_version], random_key),
            "encrypt_chat_msg": sandbox_cipher.seal(random_key, json.dumps(message, ensure_ascii=False).encode())}
    sb.archive.append(item)
    sb._plain.append(message)
    return {"seq": seq, "msgid": message["msgid"]}


def send_chat(sb: "WeComSandbox", sender: str, text: str, *, to: str | None = None, group: str | None = None,
              at: str | int | None = None) -> dict[str, Any]:
    """Someone sends a text in a one-to-one chat (``to``) or a customer group (``group``);
    the message lands in the archive."""
    if group:
        chat = _group(sb, group)
        tolist = [m["userid"] for m in chat["member_list"] if m["userid"] != sender]
        roomid = chat["chat_id"]
    elif to:
        tolist, roomid = [to], ""
    else:
        raise ValueError("send_chat needs to= or group=")
    msgid = f"{sb._id('', 20)}_{int(now(sb) * 1000)}_external"
    message = {"msgid": msgid, "action": "send", "from": sender, "tolist": tolist, "roomid": roomid,
               "msgtime": _when(at, sb) * 1000, "msgtype": "text", "text": {"content": text}}
    return archive_message(sb, message)


def recall_chat(sb: "WeComSandbox", msgid: str) -> dict[str, Any]:
    sender = next((m for m in sb._plain if m["msgid"] == msgid), None)
    if sender is None:
        raise ValueError(f"no archived message {msgid!r}")
    message = {"msgid": f"{msgid}_recall", "action": "recall", "from": sender["from"], "tolist": sender["tolist"],
               "roomid": sender["roomid"], "msgtime": int(now(sb) * 1000), "msgtype": "revoke", "revoke": {"pre_msgid": msgid}}
    return archive_message(sb, message)


def depart_member(sb: "WeComSandbox", userid: str, *, callback_url: str | None = None) -> dict[str, Any]:
    """A member leaves the company: their customers wait for inheritance (离职继承)."""
    member = sb.members.get(userid)
    if member is None:
        raise ValueError(f"no member {userid!r}")
    member["status"] = 5
    if userid in sb.follow_users:
        sb.follow_users.remove(userid)
    stamp = int(now(sb))
    for (ext, uid), follow in sb.relations.items():
        if uid == userid:
            follow.setdefault("_dimission_time", stamp)
    out: dict[str, Any] = {"userid": userid, "customers": sum(1 for (_e, u) in sb.relations if u == userid)}
    if callback_url:
        out["callback"] = _push(sb, callback_url, {"Event": "change_contact", "ChangeType": "delete_user", "UserID": userid})
    return out


def update_member(sb: "WeComSandbox", userid: str, name: str, *, callback_url: str | None = None) -> dict[str, Any]:
    member = sb.members.get(userid)
    if member is None:
        raise ValueError(f"no member {userid!r}")
    member["name"] = name
    out: dict[str, Any] = {"userid": userid}
    if callback_url:
        out["callback"] = _push(sb, callback_url, {"Event": "change_contact", "ChangeType": "update_user", "UserID": userid, "Name": name})
    return out


def confirm_message(sb: "WeComSandbox", msgid: str, userid: str | None = None) -> dict[str, Any]:
    """The member confirms a mass message task in WeCom: it goes out."""
    template = sb.templates.get(msgid)
    if template is None:
        raise ValueError(f"no mass message {msgid!r}")
    stamp = int(now(sb))
    for uid, task in template["tasks"].items():
        if userid and uid != userid:
            continue
        task.update(status=1, send_time=stamp)
        for result in template["results"].values():
            if result["userid"] == uid and result["status"] == 0:
                result.update(status=1, send_time=stamp)
    return {"msgid": msgid}


def use_app_type(sb: "WeComSandbox", app_type: str) -> dict[str, str]:
    """``agency`` (代开发) or ``third_party`` may convert unionids; ``self_built`` gets 48002."""
    if app_type not in ("agency", "third_party", "self_built"):
        raise ValueError("app_type is agency, third_party or self_built")
    sb.app_type = app_type
    return {"app_type": app_type}


CONTROL = ("advance_time", "add_group", "join_group", "leave_group", "archive_key", "send_chat", "depart_member",
           "update_member", "confirm_message", "use_app_type")


# -- suite operations ------------------------------------------------------------------------

def add_records(sb: "WeComSandbox", stream: str, count: int) -> list[str]:
    customers = list(sb.customers)
    if stream == "group_chats":
        ids = []
        for i in range(count):
            chat = add_group(sb, f"服务群{len(sb.groups) + 1:03d}")
            ids.append(join_group(sb, chat["chat_id"], customers[i % len(customers)])["membership"])
        return ids
    if stream == "chat_messages":
        relations = list(sb.relations)
        return [send_chat(sb, ext, f"请问课程多少钱？（{len(sb.archive) + 1}）", to=uid)["msgid"]
                for ext, uid in (relations[i % len(relations)] for i in range(count))]
    if stream == "message_results":
        sender = "zhangsan"
        mine = [ext for ext, uid in sb.relations if uid == sender]
        while len(mine) < count:
            mine.append(sb.add_customer(sender).partition(":")[0])
        template = create_template(sb, sender, mine[:count], "春季班开课提醒")
        return [f"{template['msgid']}:{ext}" for ext in mine[:count]]
    if stream == "unassigned":
        departed = next(u for u, m in sb.members.items() if m.get("status") == 5)
        ids = [sb.add_customer(departed) for _ in range(count)]
        stamp = int(now(sb))
        for rid in ids:
            ext, _, uid = rid.partition(":")
            sb.relations[(ext, uid)].setdefault("_dimission_time", stamp)
        return ids
    raise KeyError(stream)


def update_record(sb: "WeComSandbox", stream: str, native_id: str) -> None:
    if stream == "group_chats":
        chat = sb.groups[native_id.partition(":")[0]]
        chat["name"] += "（新）"
    elif stream == "chat_messages":
        recall_chat(sb, native_id)
    elif stream == "message_results":
        msgid, _, ext = native_id.partition(":")
        result = sb.templates[msgid]["results"][ext]
        result.update(status=1, send_time=int(now(sb)))
    elif stream == "unassigned":
        ext, _, uid = native_id.partition(":")
        sb.relations[(ext, uid)]["_dimission_time"] = int(now(sb)) - 86400  # HR corrected the date
    else:
        raise KeyError(stream)


def sample_payload(sb: "WeComSandbox", sink: str) -> dict[str, Any]:
    if sink == "welcome":
        relation = sb.add_customer("zhangsan", state="douyin_live_0315")
        ext, _, userid = relation.partition(":")
        return {"welcome_code": issue_welcome_code(sb, relation), "text": "您好，我是张三，欢迎咨询少儿编程体验课！",
                "userid": userid, "external_userid": ext}
    if sink == "unionid_bridge":  # a Mini Program member who is not a customer yet
        return {"unionid": "o" + os.urandom(13).hex(), "openid": "oMini" + os.urandom(10).hex(), "subject_type": 0}
    if sink == "messages":
        ext = sb.add_customer("lisi").partition(":")[0]
        return {"sender": "lisi", "external_userid": [ext], "text": "春季班开课提醒：本周六上午十点，记得带上电脑。"}
    raise KeyError(sink)


def mapping_lookups(sb: "WeComSandbox") -> dict[str, dict[str, Any]]:
    return {
        "crm_tier_to_wecom_tag": {"金卡": "客户等级/重要客户", "钻石卡": "客户等级/VIP客户"},
        "crm_tier_to_wecom_untag": {"金卡": ["客户等级/VIP客户", "客户等级/普通客户"], "钻石卡": ["客户等级/重要客户"]},
        "crm_segment_to_wecom_tag": {"高价值客户": "高净值"},
        "wecom_welcome_by_state": {"douyin_live_0315": "您好，欢迎从抖音直播间来咨询！", "": "您好，很高兴认识您！"},
    }


def sample_contacts(sb: "WeComSandbox", sink: str) -> list[dict[str, Any]] | None:
    from hub.mapping import canonical_view

    if sink == "welcome":
        out = []
        for state in ("douyin_live_0315", ""):
            relation = sb.add_customer("zhangsan", state=state)
            ext, _, userid = relation.partition(":")
            event = {"welcome_code": issue_welcome_code(sb, relation), "state": state, "userid": userid, "external_userid": ext}
            out.append(canonical_view(None, event=event))
        return out
    if sink == "unionid_bridge":
        return [canonical_view(3002, attributes={"name": "小程序会员", "wechat_openid": "oMiniSample01"},
                               identities={"wechat_unionid": ["oUnionSampleNotACustomer01"]}, changed=["identities"])]
    if sink in ("messages", "tags"):
        owner = "lisi" if sink == "messages" else "zhangsan"
        ext = sb.add_customer(owner).partition(":")[0]
        return [canonical_view(3001, attributes={"name": "陈静", "tier": "金卡", "owner": owner, "segment": "高价值客户",
                                                 "wecom_message": "恭喜升级金卡会员，专属顾问稍后联系您。"},
                               identities={"wecom_external_userid": [ext]}, changed=["tier", "segment", "wecom_message"])]
    return None


def create_template(sb: "WeComSandbox", sender: str, customers: list[str], text: str, attachments: list | None = None) -> dict[str, Any]:
    msgid = "msg" + os.urandom(10).hex()
    day = datetime.fromtimestamp(now(sb), CHINA).strftime("%Y%m%d")
    limit = int(getattr(sb, "daily_receive_limit", 1))
    results, fail = {}, []
    for ext in customers:
        if (ext, sender) not in sb.relations:
            status = 2
        elif sb.received.get((ext, day), 0) >= limit:
            status = 3
        else:
            status = 0
            sb.received[(ext, day)] = sb.received.get((ext, day), 0) + 1
        if status:
            fail.append(ext)
        results[ext] = {"external_userid": ext, "userid": sender, "status": status}
    template = {"msgid": msgid, "creator": sender, "create_type": 0, "create_time": int(now(sb)), "text": {"content": text},
                "attachments": attachments or [], "tasks": {sender: {"userid": sender, "status": 0}}, "results": results, "fail": fail}
    sb.templates[msgid] = template
    return template


# -- routes ----------------------------------------------------------------------------------

def register(sb: "WeComSandbox", bp, route: Callable, Fail: type, ok: Callable, cursor_in: Callable, cursor_out: Callable) -> None:
    from flask import jsonify, request

    def paged(items: list, data: dict[str, Any], limit_max: int, default: int) -> tuple[list, str]:
        after = cursor_in(data.get("cursor") or "")
        if after < 0:
            raise Fail(40058, "invalid cursor")
        limit = int(data.get("limit") or data.get("page_size") or default)
        if not 1 <= limit <= limit_max:
            raise Fail(40058, f"limit must be 1..{limit_max}")
        rest = items[after:]
        return rest[:limit], cursor_out(after + limit) if len(rest) > limit else ""

    # -- groups (doc 92120 / 92122) -----------------------------------------------------------
    @route("externalcontact/groupchat/list")
    def groupchat_list(data):
        status = int(data.get("status_filter") or 0)
        owners = ((data.get("owner_filter") or {}).get("userid_list")) or []
        if len(owners) > 100:
            raise Fail(40058, "owner_filter.userid_list holds at most 100 userids")
        chats = sorted(sb.groups.values(), key=lambda g: g["_seq"])
        chats = [g for g in chats if (not owners or g["owner"] in owners) and (status == 0 or g["status"] == status)]
        page, next_cursor = paged(chats, data, 1000, 100)
        return ok(group_chat_list=[{"chat_id": g["chat_id"], "status": g["status"]} for g in page], next_cursor=next_cursor)

    @route("externalcontact/groupchat/get")
    def groupchat_get(data):
        chat = sb.groups.get(data.get("chat_id") or "")
        if chat is None:
            raise Fail(40050, "invalid chat_id")
        out = {k: v for k, v in chat.items() if not k.startswith("_") and k != "status"}
        members = []
        for member in chat["member_list"]:
            item = dict(member)
            if int(data.get("need_name") or 0) == 1:
                person = sb.customers.get(member["userid"]) or sb.members.get(member["userid"]) or {}
                item["name"] = person.get("name", "")
            members.append(item)
        out["member_list"] = members
        return ok(group_chat=out)

    # -- welcome (doc 92137) ----------------------------------------------------------------
    @route("externalcontact/send_welcome_msg")
    def send_welcome_msg(data):
        code = sb.welcome_codes.get(data.get("welcome_code") or "")
        if code is None:
            raise Fail(40058, "invalid welcome_code")
        if code["used"]:
            raise Fail(41051, "externaluser has started chatting")
        if now(sb) - code["issued"] > WELCOME_WINDOW:
            raise Fail(40058, "welcome_code expired (20 seconds)")
        attachments = data.get("attachments") or []
        text = ((data.get("text") or {}).get("content")) or ""
        if len(attachments) > 9 or len(text.encode()) > 4000 or not (text or attachments):
            raise Fail(40058, "text ≤ 4000 bytes and at most 9 attachments, not both empty")
        code["used"] = True
        # The member's welcome is a message from the member: the chat archive keeps it
        # (sent a moment after the friend add; unverified, see docs/connectors/wecom.md).
        at = int(code.get("event_time") or now(sb)) + 2
        archive_message(sb, {"msgid": f"{sb._id('', 20)}_{at * 1000}_welcome", "action": "send", "from": code["userid"],
                             "tolist": [code["external_userid"]], "roomid": "", "msgtime": at * 1000, "msgtype": "text",
                             "text": {"content": text or "[附件]"}})
        sb.record_effect("welcome", {"welcome_code": data["welcome_code"], "text": text, "attachments": attachments,
                                     "userid": code["userid"], "external_userid": code["external_userid"],
                                     "seconds_after_event": round(now(sb) - code["issued"], 3)})
        return ok()

    # -- mass messages (doc 92135, 93338) -----------------------------------------------------
    @route("externalcontact/add_msg_template")
    def add_msg_template(data):
        if (data.get("chat_type") or "single") != "single":
            raise Fail(40058, "the sandbox imitates chat_type single only")
        sender, customers = data.get("sender") or "", data.get("external_userid") or []
        if sender not in sb.follow_users:
            raise Fail(40003, "sender")
        if not isinstance(customers, list) or not 1 <= len(customers) <= 10000:
            raise Fail(40058, "external_userid holds 1..10000 ids")
        text = ((data.get("text") or {}).get("content")) or ""
        if not text and not data.get("attachments"):
            raise Fail(40058, "text and attachments are both empty")
        template = create_template(sb, sender, list(customers), text, data.get("attachments"))
        if len(template["fail"]) == len(customers):
            del sb.templates[template["msgid"]]
            raise Fail(41048, "no external contact can receive this message")
        sb.record_effect("messages", {"msgid": template["msgid"], "sender": sender, "external_userid": customers, "text": text})
        return ok(msgid=template["msgid"], fail_list=template["fail"])

    @route("externalcontact/get_groupmsg_list_v2")
    def groupmsg_list(data):
        start, end = int(data.get("start_time") or 0), int(data.get("end_time") or 0)
        if not start or not end or end < start or end - start > 31 * 86400:
            raise Fail(40058, "start_time and end_time are required, at most one month apart")
        items = sorted((t for t in sb.templates.values() if start <= t["create_time"] <= end
                        and (not data.get("creator") or t["creator"] == data["creator"])), key=lambda t: t["create_time"])
        page, next_cursor = paged(items, data, 100, 50)
        return ok(group_msg_list=[{k: t[k] for k in ("msgid", "creator", "create_time", "create_type", "text", "attachments")} for t in page],
                  next_cursor=next_cursor)

    def template(data) -> dict[str, Any]:
        found = sb.templates.get(data.get("msgid") or "")
        if found is None:
            raise Fail(40058, "invalid msgid")
        return found

    @route("externalcontact/get_groupmsg_task")
    def groupmsg_task(data):
        tasks = list(template(data)["tasks"].values())
        page, next_cursor = paged(tasks, data, 1000, 500)
        return ok(task_list=page, next_cursor=next_cursor)

    @route("externalcontact/get_groupmsg_send_result")
    def groupmsg_send_result(data):
        results = [r for r in template(data)["results"].values() if r["userid"] == data.get("userid")]
        page, next_cursor = paged(results, data, 1000, 500)
        return ok(send_list=page, next_cursor=next_cursor)

    # -- departed members (doc 92124) ---------------------------------------------------------
    @route("externalcontact/get_unassigned_list")
    def unassigned(data):
        departed = {u for u, m in sb.members.items() if m.get("status") == 5}
        items = [{"handover_userid": uid, "external_userid": ext, "dimission_time": f.get("_dimission_time", 0)}
                 for (ext, uid), f in sorted(sb.relations.items(), key=lambda kv: kv[1]["_seq"]) if uid in departed]
        after = cursor_in(data.get("cursor") or "")
        size = int(data.get("page_size") or 1000)
        if after < 0 or not 1 <= size <= 1000:
            raise Fail(40058, "cursor / page_size")
        rest = items[after:]
        last = len(rest) <= size
        return ok(info=rest[:size], is_last=last, next_cursor="" if last else cursor_out(after + size))

    # -- ID bridging (doc 93274, 97108) -------------------------------------------------------
    def bridge(data, *, idconvert: bool):
        if sb.app_type == "self_built":
            raise Fail(48002, "api forbidden")
        unionid, openid = data.get("unionid") or "", data.get("openid") or ""
        if not unionid or not openid:
            raise Fail(40058, "unionid and openid are required")
        ext = next((e for e, c in sb.customers.items() if c.get("unionid") == unionid), None)
        if ext:
            return ok(external_userid=ext)
        if idconvert:
            pending = sb.pending_ids.setdefault(unionid, "p" + os.urandom(12).hex())
            sb.record_effect("unionid_bridge", {"unionid": unionid, "pending_id": pending})
            return ok(pending_id=pending)
        raise Fail(84061, "not external contact")

    route("externalcontact/unionid_to_external_userid")(lambda d: bridge(d, idconvert=False))
    route("idconvert/unionid_to_external_userid")(lambda d: bridge(d, idconvert=True))

    # -- the archive, as the finance SDK sees it (doc 91774) ----------------------------------
    @bp.post("/finance/GetChatData")
    def get_chat_data():
        data = request.get_json(silent=True) or {}
        if data.get("corpid") != sb.corp_id or data.get("secret") != sb.archive_secret:
            return jsonify(errcode=10000, errmsg="invalid corpid or secret")
        seq, limit = int(data.get("seq") or 0), int(data.get("limit") or 0)
        if not 1 <= limit <= 1000:
            return jsonify(errcode=10000, errmsg="limit must be 1..1000")
        return jsonify(errcode=0, errmsg="ok", chatdata=[i for i in sb.archive if i["seq"] > seq][:limit])
