"""The sandbox's HTTP API: WeCom server-API paths and answers (HTTP 200 + errcode)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import TYPE_CHECKING, Any, Callable

from flask import Blueprint, jsonify, request

if TYPE_CHECKING:
    from connectors.wecom.sandbox import WeComSandbox

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid userid",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40058: "invalid parameter",
    40068: "invalid tagid",
    40071: "tag name already exists",
    40050: "invalid chatid",
    40096: "invalid external userid",
    41048: "no external contact can receive",
    41051: "externaluser has started chatting",
    48002: "api forbidden",
    40129: "customer is being transferred",
    41001: "access_token missing",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    60111: "userid not found",
    84061: "not external contact",
}


def wx_error(code: int, detail: str = "") -> Any:
    hint = f"{int(time.time())}-{os.urandom(4).hex()}"
    message = ERRMSG.get(code, "error") + (f": {detail}" if detail else "")
    return jsonify(errcode=code, errmsg=f"{message}, hint: [{hint}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e={code}")


def ok(**body: Any) -> Any:
    return jsonify(errcode=0, errmsg="ok", **body)


class Fail(Exception):
    def __init__(self, code: int, detail: str = ""):
        self.code, self.detail = code, detail


def _cursor_out(value: int) -> str:
    return base64.urlsafe_b64encode(f"k{value}".encode()).decode().rstrip("=")


def _cursor_in(value: str) -> int:
    if not value:
        return 0
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        return int(text[1:]) if text.startswith("k") else -1
    except (ValueError, UnicodeDecodeError):
        return -1


def build_blueprint(sb: "WeComSandbox") -> Blueprint:
    bp = Blueprint("wecom_sandbox", __name__)
    routes: dict[str, Callable[[dict[str, Any]], Any]] = {}

    def route(path: str):
        def register(fn):
            routes[path] = fn
            return fn

        return register

    def body() -> dict[str, Any]:
        try:
            value = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise Fail(47001, "data format error") from None
        if not isinstance(value, dict):
            raise Fail(47001, "data format error")
        return value

    def relation(data: dict[str, Any]) -> dict[str, Any]:
        key = (data.get("external_userid") or "", data.get("userid") or "")
        if key not in sb.relations:
            raise Fail(84061, f"{key[1]} has no customer {key[0]}")
        return sb.relations[key]

    @bp.get("/cgi-bin/gettoken")
    def gettoken():
        if request.args.get("corpid") != sb.corp_id:
            return wx_error(40013)
        if request.args.get("corpsecret") != sb.secret:
            return wx_error(40001, "invalid secret")
        token = "sbx" + os.urandom(24).hex()
        sb.tokens[token] = time.time() + 7200
        return ok(access_token=token, expires_in=7200)

    @bp.route("/cgi-bin/<path:path>", methods=["GET", "POST"])
    def api(path: str):
        token = request.args.get("access_token")
        if not token:
            return wx_error(41001)
        if token not in sb.tokens:
            return wx_error(40014)
        if sb.tokens[token] < time.time():
            return wx_error(42001)
        for index, (code, only) in enumerate(sb.failures):
            if only is None or only == path:
                sb.failures.pop(index)
                return wx_error(code)
        handler = routes.get(path)
        if handler is None or (request.method == "GET") != (path in GETS):
            return wx_error(40058, f"no API {request.method} {path}")
        data = dict(request.args) if request.method == "GET" else body()
        sb.calls.append((path, data))
        try:
            return handler(data)
        except Fail as exc:
            return wx_error(exc.code, exc.detail)

    GETS = {"externalcontact/get_follow_user_list", "externalcontact/list", "externalcontact/get", "user/get", "user/simplelist"}

    # -- members and customers ------------------------------------------------------------
    @route("externalcontact/get_follow_user_list")
    def follow_user_list(_data):
        return ok(follow_user=list(sb.follow_users))

    @route("user/get")
    def user_get(data):
        member = sb.members.get(data.get("userid") or "")
        if member is None:
            raise Fail(60111)
        return ok(**member)

    @route("user/simplelist")
    def user_simplelist(data):
        """获取部门成员 (doc 90200): members of ``department_id`` (with ``fetch_child=1`` of
        the root department 1: everyone); a member who left is no longer listed."""
        try:
            department = int(data.get("department_id") or "")
        except ValueError:
            raise Fail(40058, "department_id") from None
        everyone = department == 1 and str(data.get("fetch_child") or "0") == "1"
        users = [{"userid": m["userid"], "name": m["name"], "department": m["department"]} for m in sb.members.values()
                 if m.get("status") != 5 and (everyone or department in m["department"])]
        return ok(userlist=users)

    @route("externalcontact/list")
    def contact_list(data):
        userid = data.get("userid") or ""
        if userid not in sb.members:
            raise Fail(40003)
        ids = [ext for (ext, uid) in sb.relations if uid == userid]
        if not ids:
            raise Fail(84061)
        return ok(external_userid=ids)

    @route("externalcontact/get")
    def contact_get(data):
        ext = data.get("external_userid") or ""
        if ext not in sb.customers:
            raise Fail(40096)
        follows = [_follow(sb, f, full=True) for (e, _u), f in sb.relations.items() if e == ext]
        return ok(external_contact=sb.customers[ext], follow_user=follows, next_cursor="")

    @route("externalcontact/batch/get_by_user")
    def batch_get_by_user(data):
        users = data.get("userid_list")
        if not isinstance(users, list) or not 1 <= len(users) <= 100:
            raise Fail(40058, "userid_list must hold 1..100 userids")
        limit = int(data.get("limit") or 50)
        if not 1 <= limit <= 100:
            raise Fail(40058, "limit must be 1..100")
        after = _cursor_in(data.get("cursor") or "")
        if after < 0:
            raise Fail(40058, "invalid cursor")
        wanted = set(users)
        rows = sorted(
            ((f["_seq"], ext, f) for (ext, uid), f in sb.relations.items() if uid in wanted and f["_seq"] > after),
            key=lambda r: r[0],
        )
        page = rows[:limit]
        items = [{"external_contact": sb.customers[ext], "follow_info": _follow(sb, f, full=False)} for _seq, ext, f in page]
        next_cursor = _cursor_out(page[-1][0]) if len(rows) > limit else ""
        return ok(external_contact_list=items, next_cursor=next_cursor)

    @route("externalcontact/remark")
    def remark(data):
        follow = relation(data)
        for field, limit in (("remark", 20), ("description", 150), ("remark_company", 20)):
            if field in data and len(str(data[field])) > limit:
                raise Fail(40058, f"{field} too long")
        if "remark_mobiles" in data and (not isinstance(data["remark_mobiles"], list) or len(data["remark_mobiles"]) > 5):
            raise Fail(40058, "remark_mobiles")
        for field in ("remark", "description"):
            if field in data:
                follow[field] = data[field]
        mobiles = data.get("remark_mobiles")
        if mobiles == [""]:
            follow["remark_mobiles"] = []  # doc 92115: an empty string clears them
        elif mobiles:  # an empty list changes nothing
            follow["remark_mobiles"] = list(mobiles)
        if "remark_company" in data and sb.customers[data["external_userid"]].get("type") == 1:
            follow["remark_corp_name"] = data["remark_company"]  # WeChat users only
        sb.record_effect("remark", {k: data[k] for k in data if k != "remark_pic_mediaid"})
        return ok()

    # -- tags -----------------------------------------------------------------------------
    @route("externalcontact/get_corp_tag_list")
    def corp_tag_list(data):
        tag_ids, group_ids = set(data.get("tag_id") or []), set(data.get("group_id") or [])
        groups = []
        for group in sb.tag_groups:
            if group_ids and group["group_id"] not in group_ids:
                continue
            tags = [t for t in group["tag"] if not tag_ids or t["id"] in tag_ids]
            if tag_ids and not tags:
                continue
            groups.append({**group, "tag": tags})
        return ok(tag_group=groups)

    @route("externalcontact/add_corp_tag")
    def add_corp_tag(data):
        names = [t.get("name") for t in data.get("tag") or [] if isinstance(t, dict)]
        if not names or not all(names):
            raise Fail(40058, "tag[].name required")
        group = None
        if data.get("group_id"):
            group = next((g for g in sb.tag_groups if g["group_id"] == data["group_id"]), None)
            if group is None:
                raise Fail(40068, "invalid group_id")
        elif data.get("group_name"):
            group = next((g for g in sb.tag_groups if g["group_name"] == data["group_name"]), None)
            if group is None:
                group = sb.add_tag_group(data["group_name"], [])
        else:
            raise Fail(40058, "group_id or group_name required")
        if any(t["name"] in names for t in group["tag"]):
            raise Fail(40071)
        created = [sb.add_tag(group, name) for name in names]
        return ok(tag_group={k: group[k] for k in ("group_id", "group_name", "create_time", "order")} | {"tag": created})

    @route("externalcontact/mark_tag")
    def mark_tag(data):
        follow = relation(data)
        add, remove = list(data.get("add_tag") or []), list(data.get("remove_tag") or [])
        if not add and not remove:
            raise Fail(40058, "add_tag and remove_tag are both empty")
        known = sb.all_tags()
        if any(t not in known for t in add + remove):
            raise Fail(40068)
        follow["tag_id"] = [t for t in follow["tag_id"] if t not in remove] + [t for t in add if t not in follow["tag_id"]]
        sb.record_effect("tags", {"userid": data["userid"], "external_userid": data["external_userid"], "add_tag": add, "remove_tag": remove})
        return ok()

    # -- channel codes (联系我) -----------------------------------------------------------
    def _check_way(data, *, creating: bool):
        state = data.get("state") or ""
        if len(state) > 30:
            raise Fail(40058, "state longer than 30 characters")
        if len(str(data.get("remark") or "")) > 30:
            raise Fail(40058, "remark longer than 30 characters")
        if creating:
            if data.get("type") not in (1, 2) or data.get("scene") not in (1, 2):
                raise Fail(40058, "type and scene must be 1 or 2")
            if data["type"] == 1 and (len(data.get("user") or []) != 1 or data.get("party")):
                raise Fail(40058, "type 1 takes exactly one user")
        for userid in data.get("user") or []:
            if userid not in sb.follow_users:
                raise Fail(40003, userid)

    @route("externalcontact/add_contact_way")
    def add_contact_way(data):
        _check_way(data, creating=True)
        config_id = os.urandom(16).hex()
        way = {"config_id": config_id, "create_time": int(time.time()), **{k: v for k, v in data.items()}}
        if data["scene"] == 2:
            way["qr_code"] = f"https://wework.qpic.cn/wwpic/{config_id[:20]}/0"
        sb.contact_ways[config_id] = way
        sb.record_effect("channel_codes", {"op": "add", "config_id": config_id, **data})
        return ok(config_id=config_id, **({"qr_code": way["qr_code"]} if "qr_code" in way else {}))

    @route("externalcontact/update_contact_way")
    def update_contact_way(data):
        way = sb.contact_ways.get(data.get("config_id") or "")
        if way is None:
            raise Fail(40058, "invalid config_id")
        _check_way({**way, **data}, creating=False)
        way.update({k: v for k, v in data.items() if k not in ("type", "scene")})
        sb.record_effect("channel_codes", {"op": "update", **data})
        return ok()

    @route("externalcontact/get_contact_way")
    def get_contact_way(data):
        way = sb.contact_ways.get(data.get("config_id") or "")
        if way is None:
            raise Fail(40058, "invalid config_id")
        return ok(contact_way=way)

    @route("externalcontact/list_contact_way")
    def list_contact_way(data):
        start = int(data.get("start_time") or 0)
        ways = sorted((w for w in sb.contact_ways.values() if w["create_time"] >= start), key=lambda w: w["create_time"])
        after = _cursor_in(data.get("cursor") or "")
        limit = min(int(data.get("limit") or 100), 1000)
        rest = ways[after:]
        next_cursor = _cursor_out(after + limit) if len(rest) > limit else ""
        return ok(contact_way=[{"config_id": w["config_id"]} for w in rest[:limit]], next_cursor=next_cursor)

    # -- transfers ------------------------------------------------------------------------
    def transfer(data, *, resigned: bool):
        handover, takeover = data.get("handover_userid") or "", data.get("takeover_userid") or ""
        customers = data.get("external_userid")
        if handover not in sb.members or takeover not in sb.follow_users:
            raise Fail(40003, "handover_userid / takeover_userid")
        if not isinstance(customers, list) or not 1 <= len(customers) <= 100:
            raise Fail(40058, "external_userid must hold 1..100 ids")
        if resigned and handover in sb.follow_users:
            raise Fail(40058, "handover_userid must be a departed member")
        pending = {ext for batch in sb.transfers.values() for ext, e in batch.items() if e["status"] == 2}
        batch = sb.transfers.setdefault((handover, takeover, resigned), {})
        results = []
        for ext in customers:
            if (ext, handover) not in sb.relations:
                code = 40096
            elif ext in pending:
                code = 40129
            else:
                code = 0
                batch[ext] = {"external_userid": ext, "status": 2, "takeover_time": sb.clock + 86400}
                pending.add(ext)
            results.append({"external_userid": ext, "errcode": code})
        sb.record_effect("transfers", {"op": "resigned" if resigned else "in_service", "handover_userid": handover, "takeover_userid": takeover, "customer": results})
        return ok(customer=results)

    def transfer_result(data, *, resigned: bool):
        batch = sb.transfers.get((data.get("handover_userid") or "", data.get("takeover_userid") or "", resigned), {})
        return ok(customer=list(batch.values()), next_cursor="")

    from connectors.wecom.sandbox import depth

    depth.register(sb, bp, route, Fail, ok, _cursor_in, _cursor_out)  # issue 18: groups, archive, messages …

    route("externalcontact/transfer_customer")(lambda d: transfer(d, resigned=False))
    route("externalcontact/resigned/transfer_customer")(lambda d: transfer(d, resigned=True))
    route("externalcontact/transfer_result")(lambda d: transfer_result(d, resigned=False))
    route("externalcontact/resigned/transfer_result")(lambda d: transfer_result(d, resigned=True))

    return bp


def _follow(sb: "WeComSandbox", follow: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """follow_info (batch: tag ids) or follow_user (get: tags with names)."""
    out = {k: v for k, v in follow.items() if not k.startswith("_")}
    if full:
        tags = sb.all_tags()
        groups = {t["id"]: g["group_name"] for g in sb.tag_groups for t in g["tag"]}
        out["tags"] = [{"group_name": groups.get(t, ""), "tag_name": tags[t]["name"], "tag_id": t, "type": 1} for t in out.pop("tag_id") if t in tags]
    return out
