"""An in-memory WeCom: the server-API paths under ``/cgi-bin/...``, its payloads and
errcodes, and correctly encrypted callbacks.

* tokens: ``gettoken`` issues 7200-second tokens; :meth:`WeComSandbox.expire_tokens` (or
  ``fail_next("42001")``) makes WeCom answer 42001 until a new one is fetched.
* ``fail_next("45009")`` / ``("45033")`` / ``("-1")`` …: the next API call(s) answer that errcode.
* customer contact: follow users, customers and relations (with follow_info), batch/get_by_user
  with keyset cursors, get/list, remark, corp tags (list/add/mark_tag), 联系我 channel codes
  (add/update/get/list_contact_way), in-service and resigned transfers with results.
* callbacks: :meth:`callback` builds an encrypted, signed POST like WeCom's, :meth:`verify_url`
  the URL-verification GET, :meth:`push` sends one to a hub URL with ``requests``.
* :meth:`effects` lists what sinks changed: ``remark`` and ``tags`` (mark_tag) calls,
  ``channel_codes`` (add/update_contact_way) and ``transfers`` (each transfer request WeCom
  accepted, with its per-customer errcodes — a repeat while pending gets 40129 per customer).

The API routes live in :mod:`connectors.wecom.sandbox.api`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import time
from datetime import datetime
from typing import Any, Mapping
from urllib.parse import urlencode

import requests

from hub.connector.records import WebhookRequest
from hub.connector.sandbox import Sandbox

from connectors.wecom import crypto
from connectors.wecom.sandbox import data as sample
from connectors.wecom.sandbox import depth

TOKEN_TTL = 7200
CALLBACK_TOKEN = "HuiliuSandboxToken2026"


def _xml_escape_cdata(value: str) -> str:
    return value.replace("]]>", "]]]]><![CDATA[>")


def event_xml(fields: Mapping[str, Any]) -> bytes:
    """WeCom's flat callback XML: numbers bare, strings in CDATA."""
    parts = ["<xml>"]
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):  # e.g. MemChangeList: one <Item> per id
            items = "".join(f"<Item><![CDATA[{_xml_escape_cdata(str(v))}]]></Item>" for v in value)
            parts.append(f"<{key}>{items}</{key}>")
        elif isinstance(value, int):
            parts.append(f"<{key}>{value}</{key}>")
        else:
            parts.append(f"<{key}><![CDATA[{_xml_escape_cdata(str(value))}]]></{key}>")
    parts.append("</xml>")
    return "".join(parts).encode()


class WeComSandbox(Sandbox):
    control_methods = ("add_records", "update_record", "use_credentials", "add_channel_code", "add_friend",
                       "relation_tags", "effects") + depth.CONTROL

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        # Every sandbox is its own corp, so tokens cached by one never leak into another.
        self.corp_id = "ww" + os.urandom(8).hex()
        self.secret = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")[:43]
        self.callback_token = CALLBACK_TOKEN
        self.encoding_aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        self.tokens: dict[str, float] = {}
        self.failures: list[tuple[int, str | None]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._effects: dict[str, list[dict[str, Any]]] = {"remark": [], "tags": [], "channel_codes": [], "transfers": []}
        self.clock = 1767571200  # 2026-01-05 08:00 +08:00
        self._seq = 0
        self.members: dict[str, dict[str, Any]] = {}
        self.follow_users: list[str] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.relations: dict[tuple[str, str], dict[str, Any]] = {}
        self.tag_groups: list[dict[str, Any]] = []
        self.contact_ways: dict[str, dict[str, Any]] = {}
        self.transfers: dict[tuple[str, str, bool], dict[str, dict[str, Any]]] = {}
        depth.init(self)  # groups, archive, welcome and mass messages (issue 18)
        self._seed()

    # -- ids and time ---------------------------------------------------------------------
    def tick(self, seconds: int = 37) -> int:
        self.clock += seconds
        return self.clock

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _id(self, prefix: str, length: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(length))

    def _mobile(self) -> str:
        return self.rng.choice(["139", "138", "186", "158", "177"]) + f"{self.rng.randrange(10**8):08d}"

    # -- seed data ------------------------------------------------------------------------
    def _seed(self) -> None:
        for userid, name, dept, position, follows in sample.MEMBERS:
            self.members[userid] = {"userid": userid, "name": name, "department": dept, "position": position, "status": 1 if follows else 5,
                                    "direct_leader": list(sample.LEADERS.get(userid, []))}
            if follows:
                self.follow_users.append(userid)
        for group_name, tags in sample.TAG_GROUPS:
            self.add_tag_group(group_name, tags)
        for _ in range(6):
            self.add_customer()
        # A departed member's customers, waiting for 离职继承.
        self.add_customer(userid="zhaoliu")

    def add_tag_group(self, group_name: str, names: list[str]) -> dict[str, Any]:
        group = {"group_id": self._id("et", 22), "group_name": group_name, "create_time": self.tick(), "order": len(self.tag_groups), "tag": []}
        self.tag_groups.append(group)
        for name in names:
            self.add_tag(group, name)
        return group

    def add_tag(self, group: dict[str, Any], name: str) -> dict[str, Any]:
        tag = {"id": self._id("et", 22), "name": name, "create_time": self.tick(), "order": len(group["tag"])}
        group["tag"].append(tag)
        return tag

    def all_tags(self) -> dict[str, dict[str, Any]]:
        return {tag["id"]: tag for group in self.tag_groups for tag in group["tag"]}

    def add_customer(self, userid: str | None = None, *, name: str | None = None, state: str | None = None) -> str:
        """A WeChat user adds a member; returns the relation id ``ext:userid``."""
        ext = self._id("wm", 30)
        index = len(self.customers)
        kind = 2 if index % 5 == 4 else 1
        contact: dict[str, Any] = {
            "external_userid": ext,
            "name": name or sample.CUSTOMER_NAMES[index % len(sample.CUSTOMER_NAMES)] + ("" if index < 30 else str(index)),
            "type": kind,
            "gender": self.rng.choice([0, 1, 2]),
            "avatar": f"https://wework.qpic.cn/wwhead/{ext[-12:]}/0",
        }
        if kind == 2:
            contact["corp_name"] = contact["corp_full_name"] = sample.CORP_NAMES[index % len(sample.CORP_NAMES)]
            contact["position"] = "采购负责人"
        elif index % 3 != 2:  # unionid only where an open-platform account is bound
            contact["unionid"] = self._id("o", 27)
        self.customers[ext] = contact
        userid = userid or self.follow_users[index % len(self.follow_users)]
        self.add_relation(ext, userid, state=sample.STATES[index % len(sample.STATES)] if state is None else state)
        return f"{ext}:{userid}"

    def add_relation(self, ext: str, userid: str, *, state: str = "", add_way: int | None = None) -> dict[str, Any]:
        tags = list(self.all_tags())
        follow = {
            "userid": userid,
            "remark": self.customers[ext]["name"],
            "description": "",
            "createtime": self.tick(),
            "tag_id": [self.rng.choice(tags)] if tags else [],
            "remark_corp_name": self.customers[ext].get("corp_name", ""),
            "remark_mobiles": [self._mobile()],
            "oper_userid": userid if add_way != 202 else "zhangsan",
            "add_way": add_way if add_way is not None else self.rng.choice(sample.ADD_WAYS),
            "_seq": self.next_seq(),
        }
        if state:
            follow["state"] = state
        self.relations[(ext, userid)] = follow
        return follow

    # -- suite operations -----------------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "corp_id": self.corp_id,
            "secret": self.secret,
            "callback_token": self.callback_token,
            "encoding_aes_key": self.encoding_aes_key,
            "tag_group_name": "汇流同步",
            "page_size": 10,
            "archive_backend": "sandbox",
            "archive_secret": self.archive_secret,
            "archive_private_keys": {"1": depth.sandbox_private_pem()},
        }

    def add_records(self, stream: str, count: int) -> list[str]:
        if stream == "external_contacts":
            return [self.add_customer() for _ in range(count)]
        if stream == "follow_users":
            ids = []
            for _ in range(count):
                userid = f"sales{len(self.members):03d}"
                self.members[userid] = {"userid": userid, "name": f"销售{len(self.members):03d}号", "department": [2], "position": "销售顾问", "status": 1,
                                        "direct_leader": ["zhangsan"]}
                self.follow_users.append(userid)
                ids.append(userid)
            return ids
        if stream == "corp_tags":
            group = self.tag_groups[1]
            return [self.add_tag(group, f"活动渠道{len(group['tag']) + 1:03d}")["id"] for _ in range(count)]
        return depth.add_records(self, stream, count)

    def update_record(self, stream: str, native_id: str) -> None:
        if stream == "external_contacts":
            ext, _, userid = native_id.partition(":")
            # A member edits the customer's remark mobiles: WeCom fires no callback for this.
            self.relations[(ext, userid)]["remark_mobiles"] = [self._mobile(), self._mobile()]
        elif stream == "follow_users":
            self.members[native_id]["position"] = "高级销售顾问"
        elif stream == "corp_tags":
            self.all_tags()[native_id]["name"] += "（新）"
        else:
            depth.update_record(self, stream, native_id)

    def sample_payload(self, sink: str) -> dict[str, Any]:
        ext, userid = next(iter(self.relations))
        if sink == "remark":
            return {"userid": userid, "external_userid": ext, "remark": "陈静-VIP", "description": "2026年春季活动报名", "remark_mobiles": ["13912345678"]}
        if sink == "tags":
            return {"userid": userid, "external_userid": ext, "add": ["客户等级/VIP客户", "高净值"], "remove": ["普通客户"]}
        if sink == "channel_codes":
            return {"state": "douyin_live_0401", "remark": "抖音直播间4月", "user": ["zhangsan"], "skip_verify": True}
        if sink == "transfers":
            customers = [e for (e, u) in self.relations if u == "lisi"][:2]
            return {"handover_userid": "lisi", "takeover_userid": "wangwu", "external_userid": customers, "transfer_success_msg": "您好，您的服务已升级，后续由我的同事王五接替我为您服务。"}
        return depth.sample_payload(self, sink)

    def mapping_lookups(self) -> dict[str, dict[str, Any]]:
        """The ``lookups:`` tables the shipped outbound mappings read (tags, welcome, messages)."""
        return depth.mapping_lookups(self)

    def sample_contacts(self, sink: str) -> list[dict[str, Any]] | None:
        """Views the shipped outbound mappings render from, holding this sandbox's relations
        (and, for ``welcome``, a fresh WelcomeCode under ``event``)."""
        return depth.sample_contacts(self, sink)

    def record_effect(self, sink: str, effect: dict[str, Any]) -> None:
        self._effects[sink].append(effect)

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self._effects[sink])

    # -- what hub demo scripts -------------------------------------------------------------
    def use_credentials(self, corp_id: str, secret: str, encoding_aes_key: str, callback_token: str | None = None) -> dict[str, str]:
        """Become the corp a config names (the sandbox makes up random credentials, but a
        demo config is a file written beforehand). Issued tokens are forgotten."""
        crypto.aes_key(encoding_aes_key)  # refuse a key WeCom would not accept
        self.corp_id, self.secret, self.encoding_aes_key = corp_id, secret, encoding_aes_key
        self.callback_token = callback_token or self.callback_token
        self.tokens.clear()
        return {"corp_id": self.corp_id}

    def add_channel_code(self, state: str, user: list[str] | str, remark: str = "") -> dict[str, Any]:
        """An admin creates a 联系我 channel code (渠道活码) in the console: customers who add
        a member through it carry ``state`` in their relation and in the add callback."""
        users = [user] if isinstance(user, str) else list(user)
        unknown = [u for u in users if u not in self.follow_users]
        if not users or unknown or len(state) > 30:
            raise ValueError(f"a channel code needs follow users (unknown: {unknown}) and a state of at most 30 characters")
        config_id = self.rng.getrandbits(128).to_bytes(16, "big").hex()
        self.contact_ways[config_id] = {"config_id": config_id, "type": 2 if len(users) > 1 else 1, "scene": 2,
                                        "state": state, "user": users, "remark": remark, "create_time": int(time.time()),
                                        "qr_code": f"https://wework.qpic.cn/wwpic/{config_id[:20]}/0"}
        return dict(self.contact_ways[config_id])

    def add_friend(self, name: str, *, userid: str | None = None, state: str = "", remark_mobiles: list[str] = (),
                   remark: str | None = None, gender: int = 0, at: str | int | None = None,
                   callback_url: str | None = None) -> dict[str, Any]:
        """A WeChat user adds member ``userid`` (default: the channel code's first user for
        ``state``) at ``at`` (ISO 8601 text or Unix seconds); the member notes the customer's
        mobiles as remark mobiles. With ``callback_url`` WeCom's encrypted
        add_external_contact callback is POSTed there. Returns the relation id, the external
        userid and, when pushed, the hub's answer."""
        if userid is None:
            way = next((w for w in self.contact_ways.values() if state and w["state"] == state), None)
            if way is None:
                raise ValueError(f"no channel code with state {state!r}; give userid")
            userid = way["user"][0]
        if userid not in self.follow_users:
            raise ValueError(f"{userid!r} is not a member with the customer-contact permission")
        when = int(at) if isinstance(at, (int, float)) else int(datetime.fromisoformat(at).timestamp()) if at else int(time.time())
        relation = self.add_customer(userid, name=name, state=state)
        ext = relation.partition(":")[0]
        self.customers[ext]["gender"] = int(gender)
        follow = self.relations[(ext, userid)]
        follow.update(createtime=when, remark=remark or name, remark_mobiles=list(remark_mobiles), tag_id=[],
                      add_way=1 if state else 3)
        out: dict[str, Any] = {"relation": relation, "external_userid": ext, "userid": userid}
        if callback_url:
            event = {**self.add_contact_event(relation), "CreateTime": when}
            self.welcome_codes[event["WelcomeCode"]]["event_time"] = when
            answer = self.push(callback_url, event)
            out["callback"] = {"status": answer.status_code, "body": answer.text[:200]}
        return out

    def relation_tags(self, relation: str) -> list[str]:
        """The corp tags on a relation (``ext:userid``), as ``组/名``."""
        ext, _, userid = relation.partition(":")
        follow = self.relations[(ext, userid)]
        names = {t["id"]: f"{g['group_name']}/{t['name']}" for g in self.tag_groups for t in g["tag"]}
        return [names[t] for t in follow["tag_id"] if t in names]

    # -- issue 18: groups, archive, messages, members (connectors.wecom.sandbox.depth) ------
    def advance_time(self, seconds: float) -> float:
        return depth.advance_time(self, seconds)

    def add_group(self, name: str, owner: str = "wangwu", at: str | int | None = None) -> dict[str, Any]:
        return depth.add_group(self, name, owner, at)

    def join_group(self, group: str, external_userid: str, scene: int = 3, invitor: str | None = None,
                   at: str | int | None = None, callback_url: str | None = None) -> dict[str, Any]:
        return depth.join_group(self, group, external_userid, scene=scene, invitor=invitor, at=at, callback_url=callback_url)

    def leave_group(self, group: str, external_userid: str, removed: bool = False, at: str | int | None = None,
                    callback_url: str | None = None) -> dict[str, Any]:
        return depth.leave_group(self, group, external_userid, removed=removed, at=at, callback_url=callback_url)

    def archive_key(self, version: int, public_pem: str) -> dict[str, Any]:
        return depth.archive_key(self, version, public_pem)

    def send_chat(self, sender: str, text: str, to: str | None = None, group: str | None = None,
                  at: str | int | None = None) -> dict[str, Any]:
        return depth.send_chat(self, sender, text, to=to, group=group, at=at)

    def depart_member(self, userid: str, callback_url: str | None = None) -> dict[str, Any]:
        return depth.depart_member(self, userid, callback_url=callback_url)

    def update_member(self, userid: str, name: str, callback_url: str | None = None) -> dict[str, Any]:
        return depth.update_member(self, userid, name, callback_url=callback_url)

    def confirm_message(self, msgid: str, userid: str | None = None) -> dict[str, Any]:
        return depth.confirm_message(self, msgid, userid)

    def use_app_type(self, app_type: str) -> dict[str, str]:
        return depth.use_app_type(self, app_type)

    # -- failure injection ----------------------------------------------------------------
    def fail_next(self, errcode: str | int, times: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` API calls (to ``path``, e.g. ``"externalcontact/remark"``,
        or any but gettoken) with ``errcode``. 42001 expires the issued tokens instead."""
        code = int(errcode)
        if code == 42001:
            self.expire_tokens()
            return
        self.failures.extend([(code, path)] * times)

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def advance_transfers(self, refuse: set[str] | frozenset[str] = frozenset()) -> None:
        """Let 24 hours pass: waiting transfers complete (or are refused by the customers in ``refuse``)."""
        for (handover, takeover, _resigned), customers in self.transfers.items():
            for ext, entry in customers.items():
                if entry["status"] != 2:
                    continue
                if ext in refuse:
                    entry.update(status=3, takeover_time=0)
                    continue
                old = self.relations.pop((ext, handover), None)
                follow = self.add_relation(ext, takeover, state=(old or {}).get("state", ""), add_way=202)
                if old:
                    follow.update(remark=old["remark"], remark_mobiles=list(old["remark_mobiles"]), tag_id=list(old["tag_id"]))
                entry.update(status=1, takeover_time=self.tick())

    # -- callbacks ------------------------------------------------------------------------
    def _keys(self, config: Mapping[str, Any] | None) -> tuple[str, str, str]:
        config = config or {}
        token = config.get("callback_token") or self.callback_token
        key = config.get("encoding_aes_key") or self.encoding_aes_key
        try:
            crypto.aes_key(key)
        except crypto.CryptoError:
            key = self.encoding_aes_key  # cannot encrypt with it; the token still differs
        return token, key, config.get("corp_id") or self.corp_id

    def callback(
        self,
        fields: Mapping[str, Any],
        *,
        config: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> WebhookRequest:
        """An encrypted, signed callback POST for one event, as WeCom sends it. ``fields``
        are the event's XML elements; ToUserName, FromUserName, CreateTime and MsgType
        default to WeCom's values."""
        token, key, corp_id = self._keys(config)
        event = {"ToUserName": corp_id, "FromUserName": "sys", "CreateTime": int(time.time()), "MsgType": "event", **fields}
        encrypted = crypto.encrypt(key, event_xml(event), corp_id)
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(self.rng.randrange(10**9, 10**10))
        body = event_xml({"ToUserName": corp_id, "AgentID": "1000002", "Encrypt": encrypted})
        args = {"msg_signature": crypto.signature(token, ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
        return WebhookRequest(method="POST", path="/webhooks/wecom", headers={"Content-Type": "text/xml"}, args=args, body=body)

    def verify_url(self, *, config: Mapping[str, Any] | None = None, echo: str = "8126314952447219231") -> WebhookRequest:
        """The GET WeCom sends when the admin saves the callback URL."""
        token, key, corp_id = self._keys(config)
        echostr = crypto.encrypt(key, echo.encode(), corp_id)
        ts, nonce = str(int(time.time())), str(self.rng.randrange(10**9, 10**10))
        args = {"msg_signature": crypto.signature(token, ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr}
        return WebhookRequest(method="GET", path="/webhooks/wecom", headers={}, args=args, body=b"")

    def push(self, url: str, fields: Mapping[str, Any], *, config: Mapping[str, Any] | None = None, session: requests.Session | None = None) -> requests.Response:
        """POST one callback to a hub webhook URL (e.g. ``http://localhost:8000/webhooks/wecom``)."""
        req = self.callback(fields, config=config)
        sep = "&" if "?" in url else "?"
        return (session or requests).post(url + sep + urlencode(req.args), data=req.body, headers=req.headers, timeout=10)

    def add_contact_event(self, relation: str, *, welcome_code: str | None = None) -> dict[str, Any]:
        ext, _, userid = relation.partition(":")
        follow = self.relations[(ext, userid)]
        return {
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": userid,
            "ExternalUserID": ext,
            "State": follow.get("state", ""),
            "WelcomeCode": depth.issue_welcome_code(self, relation, code=welcome_code),
        }

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        (relation,) = self.add_records("external_contacts", 1)
        return self.callback(self.add_contact_event(relation), config=config)

    # -- the API --------------------------------------------------------------------------
    def blueprint(self):
        from connectors.wecom.sandbox.api import build_blueprint

        return build_blueprint(self)
