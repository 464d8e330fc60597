"""An in-memory Udesk open API: ``/open_api_v1/tickets`` (list, create, update) and
``/open_api_v1/customers``, with Udesk's v2 signature check (SHA256 over
``email&token&timestamp&nonce&v2``), single-use nonces (15 min), the 60 calls/min limit,
``code``/``code_message`` answers and tickets listed most recently updated first.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import requests
from flask import Blueprint, jsonify, request

from hub.connector.records import WebhookRequest
from hub.connector.sandbox import Sandbox

from connectors.ticketing.udesk.signing import udesk_sign

EMAIL = "admin@huiliu-demo.cn"
API_TOKEN = "3f9a1c2e-7b4d-4e8f-9a0b-sandbox00001"
WEBHOOK_TOKEN = "sandbox-udesk-webhook-token-01"
NONCE_WINDOW = 15 * 60
CHINA = timezone(timedelta(hours=8))
SUBJECTS = ["订单未发货咨询", "发票开具申请", "产品安装预约", "退换货申请", "会员积分异常", "400来电回访", "物流破损投诉"]
NAMES = ["王小明", "李静", "张伟", "刘芳", "陈磊", "杨洋", "赵敏"]
PRIORITIES = ["紧急", "高", "标准", "低"]
STATUSES = [("open", "开启"), ("solving", "解决中"), ("solved", "已解决"), ("closed", "已关闭")]
AGENTS = [(101, "客服-周婷"), (102, "客服-吴昊"), (103, "客服-郑爽")]
AGENT_EMAILS = {"zhouting@huiliu-demo.cn": 101, "wuhao@huiliu-demo.cn": 102, "zhengshuang@huiliu-demo.cn": 103}
PASSWORD = "sandbox-udesk-admin-password"
#: status_id (Udesk open API v2): 1 open, 2 resolved, 3 closed, 4 solving → the list's status names.
STATUS_BY_ID = {1: ("open", "开启"), 2: ("solved", "已解决"), 3: ("closed", "已关闭"), 4: ("solving", "解决中")}
#: Sandbox assumptions (no public table found): a wrong log_in, an unknown assignee.
LOGIN_REFUSED, UNKNOWN_AGENT = 2001, 2005
NONCE_REPLAYED = 20623


def _fmt(dt: datetime) -> str:
    return dt.astimezone(CHINA).isoformat(timespec="milliseconds")


class UdeskSandbox(Sandbox):
    rate_limit_per_minute = 60
    control_methods = ("add_records", "update_record", "open_ticket", "update_ticket", "replay_next", "push_trigger")

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.tickets: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.applied: list[dict[str, Any]] = []
        self.nonces: dict[str, float] = {}
        self.replays = 0
        self.calls: deque[float] = deque()
        self._ticket_ids = itertools.count(20001)
        self._customer_ids = itertools.count(5001)
        self._clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
        self.add_customer("王小明", cellphone="13812345678", email="wangxm@example.cn")

    # -- the remote users' actions --------------------------------------------------------
    def _tick(self, advance: bool = False) -> datetime:
        # Several tickets share a second, as in bulk updates: cursors must cope.
        if advance or self.rng.random() < 0.4:
            self._clock += timedelta(seconds=1)
        return self._clock

    def add_customer(self, nick_name: str, *, cellphone: str | None = None, email: str | None = None) -> dict[str, Any]:
        """A customer shaped as Udesk's 客户数据 (the Customer_create callback's message)."""
        cid = next(self._customer_ids)
        self.customers[cid] = {"id": cid, "nick_name": nick_name, "level": "normal", "description": None,
                               "owner_id": None, "owner_group_id": None, "custom_fields": {}, "organization_id": None,
                               "is_blocked": False, "tags": [], "email": email, "other_emails": [],
                               "cellphones": [{"id": cid * 10, "content": cellphone}] if cellphone else [],
                               "platform": "API"}
        return self.customers[cid]

    def customer_event(self, customer_id: int, action: str = "Customer_update") -> bytes:
        """The event callback Udesk posts for a customer change ({action, message})."""
        return json.dumps({"action": action, "message": self.customers[int(customer_id)]}, ensure_ascii=False).encode()

    def _find_customer(self, kind: str, content: str) -> dict[str, Any] | None:
        for customer in self.customers.values():
            if kind == "customer_id" and str(customer["id"]) == content:
                return customer
            if kind == "email" and customer.get("email") == content:
                return customer
            if kind == "cellphone" and any(p["content"] == content for p in customer["cellphones"]):
                return customer
        return None

    def _new_ticket(self, customer: dict[str, Any], subject: str, content: str, **extra: Any) -> dict[str, Any]:
        tid = next(self._ticket_ids)
        status, status_cn = STATUSES[0]
        agent_id, agent = self.rng.choice(AGENTS)
        now = _fmt(self._tick())
        self.tickets[tid] = {
            "id": tid, "field_num": f"{tid}", "subject": subject, "content": content, "content_type": "text",
            "user_id": customer["id"], "user_name": customer["nick_name"], "user_email": customer.get("email"),
            "user_cellphone": (customer["cellphones"][0]["content"] if customer["cellphones"] else None),
            "assignee_id": agent_id, "assignee_name": agent, "user_group_id": 1, "user_group_name": "售后1组",
            "template_id": 1, "priority": extra.get("priority") or "标准", "status": status_cn, "status_en": status,
            "platform": extra.get("platform") or "API", "tags": extra.get("tags") or "",
            "custom_fields": dict(extra.get("custom_fields") or {}), "created_at": now, "updated_at": now,
            "solved_at": None,
        }
        return self.tickets[tid]

    @staticmethod
    def _at(at: str | None) -> datetime:
        return datetime.fromisoformat(at) if at else datetime.now(timezone.utc).replace(microsecond=0)

    def open_ticket(self, cellphone: str, name: str, subject: str, content: str, *, at: str | None = None,
                    email: str | None = None, platform: str = "电话", priority: str = "标准") -> dict[str, Any]:
        """An agent opens a ticket for the customer with mobile ``cellphone`` (created in
        Udesk if new) at ``at`` (ISO 8601 text; default now), as ``hub demo`` scripts it."""
        customer = self._find_customer("cellphone", cellphone) or self.add_customer(name, cellphone=cellphone, email=email)
        ticket = self._new_ticket(customer, subject, content, platform=platform, priority=priority)
        ticket["created_at"] = ticket["updated_at"] = _fmt(self._at(at))
        return dict(ticket)

    def update_ticket(self, ticket_id: int, status: str, *, at: str | None = None, assignee: str | None = None) -> dict[str, Any]:
        """An agent moves ticket ``ticket_id`` to ``status`` (open, solving, solved, closed)
        at ``at`` (ISO 8601 text; default now)."""
        ticket = self.tickets[int(ticket_id)]
        names = dict(STATUSES)
        if status not in names:
            raise ValueError(f"status must be one of {', '.join(names)}, not {status!r}")
        ticket.update(status=names[status], status_en=status, updated_at=_fmt(self._at(at)))
        if status in ("solved", "closed"):
            ticket["solved_at"] = ticket["updated_at"]
        if assignee is not None:
            agent_id = next((i for i, n in AGENTS if n == assignee), None)
            if agent_id is None:
                raise ValueError(f"unknown agent {assignee!r}")
            ticket.update(assignee_id=agent_id, assignee_name=assignee)
        return dict(ticket)

    def add_records(self, stream: str, count: int) -> list[str]:
        if stream == "customers":
            made = []
            for _ in range(count):
                phone = self.rng.choice(["138", "139", "186", "158"]) + f"{self.rng.randrange(10**8):08d}"
                made.append(str(self.add_customer(self.rng.choice(NAMES), cellphone=phone)["id"]))
            return made
        ids = []
        for _ in range(count):
            name = self.rng.choice(NAMES)
            phone = self.rng.choice(["138", "139", "186", "158"]) + f"{self.rng.randrange(10**8):08d}"
            customer = self.add_customer(name, cellphone=phone,
                                         email=f"{phone}@example.cn" if self.rng.random() < 0.4 else None)
            ticket = self._new_ticket(customer, self.rng.choice(SUBJECTS), f"{name}来电反馈，请尽快处理。",
                                      platform=self.rng.choice(["电话", "微信", "邮件", "API"]),
                                      priority=self.rng.choice(PRIORITIES))
            ids.append(str(ticket["id"]))
        return ids

    def update_record(self, stream: str, native_id: str) -> None:
        if stream == "customers":
            customer = self.customers[int(native_id)]
            customer["description"] = f"{customer.get('description') or ''}回访".strip()
            return
        ticket = self.tickets[int(native_id)]
        ticket.update(status="解决中", status_en="solving", updated_at=_fmt(self._tick(advance=True)))

    def replay_next(self, times: int = 1) -> None:
        """The next ``times`` signed calls arrive twice (a proxy retried them): Udesk answers
        the duplicate with 20623 and the caller sees that answer."""
        self.replays += int(times)

    # -- what the suite inspects ----------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "email": EMAIL, "api_token": API_TOKEN, "page_size": 10,
                "idempotency_field": "TextField_9001", "webhook_token": WEBHOOK_TOKEN}

    def sample_payload(self, sink: str) -> dict[str, Any]:
        return {"subject": "400来电：要求回电", "content": "客户来电咨询安装进度，请回电。", "priority": "高",
                "customer": {"cellphone": "13812345678", "nick_name": "王小明"}}

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self.applied)

    def trigger_body(self, ticket: Mapping[str, Any], *, whole: bool = True) -> bytes:
        """What a ticket trigger's HTTP-request action posts, with the body the admin set up:
        the ticket's fields (``whole``) or just ``{"ticket_id": …}``."""
        body = {"ticket": dict(ticket)} if whole else {"ticket_id": ticket["id"]}
        return json.dumps(body, ensure_ascii=False).encode()

    def push_trigger(self, ticket_id: int, url: str, token: str = WEBHOOK_TOKEN, whole: bool = False) -> dict[str, Any]:
        """A ticket trigger fires: its HTTP-request action posts the admin's body (only
        ``{"ticket_id"}``, or the whole ticket) to ``url?token=…``; returns the receiver's answer."""
        body = self.trigger_body(self.tickets[int(ticket_id)], whole=whole)
        sep = "&" if "?" in url else "?"
        resp = requests.post(f"{url}{sep}token={token}", data=body, headers={"Content-Type": "application/json"}, timeout=10)
        return {"status": resp.status_code, "body": resp.text[:200]}

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        (tid,) = self.add_records("tickets", 1)
        body = self.trigger_body(self.tickets[int(tid)])
        token = config.get("webhook_token") or ""
        return WebhookRequest(method="POST", path="/webhooks/udesk", headers={"Content-Type": "application/json"},
                              args={"token": token}, body=body)

    # -- the API --------------------------------------------------------------------------
    @staticmethod
    def _error(code: int, message: str, status: int = 200):
        return jsonify(code=code, code_message=message), status

    def _authenticate(self):
        now = time.time()
        while self.calls and now - self.calls[0] > 60:
            self.calls.popleft()
        if len(self.calls) >= self.rate_limit_per_minute:
            return self._error(2016, "请求过于频繁，每分钟最多60次", 429)
        self.calls.append(now)
        args = request.args
        email, ts, nonce, sign = args.get("email"), args.get("timestamp", ""), args.get("nonce", ""), args.get("sign", "")
        if args.get("sign_version") != "v2" or not nonce:
            return self._error(2059, "签名版本或nonce缺失")
        if email != EMAIL:
            return self._error(2059, "open api签名不对")
        if not ts.isdigit() or abs(now - int(ts)) > NONCE_WINDOW:
            return self._error(2059, "时间戳已过期")
        if sign != udesk_sign(EMAIL, API_TOKEN, ts, nonce):
            return self._error(2059, "open api签名不对")
        self.nonces = {n: t for n, t in self.nonces.items() if now - t <= NONCE_WINDOW}
        if nonce in self.nonces or self.replays:
            self.replays = max(0, self.replays - 1)
            return self._error(NONCE_REPLAYED, "nonce已使用")
        self.nonces[nonce] = now
        return None

    def _status_and_assignee(self, body: dict[str, Any]):
        if body.get("status_id") is not None and body["status_id"] not in STATUS_BY_ID:
            return self._error(2002, "status_id 取值 1–4")
        if body.get("assignee_email") is not None and body["assignee_email"] not in AGENT_EMAILS:
            return self._error(UNKNOWN_AGENT, "受理客服不存在")
        return None

    @staticmethod
    def _apply_status_and_assignee(ticket: dict[str, Any], body: dict[str, Any]) -> None:
        if body.get("status_id") is not None:
            status, status_cn = STATUS_BY_ID[body["status_id"]]
            ticket.update(status=status_cn, status_en=status)
        if body.get("assignee_email") is not None:
            agent_id = AGENT_EMAILS[body["assignee_email"]]
            ticket.update(assignee_id=agent_id, assignee_name=dict(AGENTS)[agent_id])

    def blueprint(self) -> Blueprint:
        bp = Blueprint("udesk_sandbox", __name__)

        @bp.before_request
        def _auth():
            if request.path.endswith("/open_api_v1/log_in"):
                return None  # the one call made without a signature
            return self._authenticate()

        @bp.post("/open_api_v1/log_in")
        def log_in():
            body = request.get_json(silent=True) or {}
            if body.get("email") != EMAIL or body.get("password") != PASSWORD:
                return self._error(LOGIN_REFUSED, "邮箱或密码错误")
            return jsonify(code=1000, open_api_auth_token=API_TOKEN)

        @bp.get("/open_api_v1/tickets")
        def list_tickets():
            try:
                page = max(1, int(request.args.get("page", 1)))
                per_page = int(request.args.get("per_page", 20))
            except ValueError:
                return self._error(2002, "参数错误")
            if not 1 <= per_page <= 100:
                return self._error(2002, "per_page 最大100")
            rows = sorted(self.tickets.values(), key=lambda t: (t["updated_at"], t["id"]), reverse=True)
            total_pages = (len(rows) + per_page - 1) // per_page
            chunk = rows[(page - 1) * per_page: page * per_page]
            return jsonify(code=1000, meta={"current_page": page, "total_pages": total_pages, "total_count": len(rows)},
                           tickets=chunk)

        @bp.post("/open_api_v1/tickets")
        def create_ticket():
            body = (request.get_json(silent=True) or {}).get("ticket")
            if not isinstance(body, dict) or not body.get("subject") or not body.get("content"):
                return self._error(2002, "subject 和 content 必填")
            customer = self._find_customer(str(body.get("type")), str(body.get("type_content")))
            if customer is None:
                return self._error(2003, "客户不存在")
            problem = self._status_and_assignee(body)
            if problem:
                return problem
            ticket = self._new_ticket(customer, body["subject"], body["content"], priority=body.get("priority"),
                                      tags=body.get("tags"), custom_fields=body.get("ticket_field"))
            self._apply_status_and_assignee(ticket, body)  # `status` / `assignee_id` are not read, as in Udesk
            self.applied.append({"op": "create", "ticket_id": ticket["id"], "ticket": body})
            return jsonify(code=1000, ticket_id=ticket["id"])

        @bp.put("/open_api_v1/tickets/<int:tid>")
        def update_ticket(tid: int):
            body = (request.get_json(silent=True) or {}).get("ticket")
            if tid not in self.tickets:
                return self._error(2004, "工单不存在")
            if not isinstance(body, dict):
                return self._error(2002, "参数错误")
            ticket = self.tickets[tid]
            problem = self._status_and_assignee(body)
            if problem:
                return problem
            for key in ("subject", "content", "priority", "tags"):
                if body.get(key) is not None:
                    ticket[key] = body[key]
            self._apply_status_and_assignee(ticket, body)
            ticket["custom_fields"].update(body.get("custom_fields") or {})
            ticket["updated_at"] = _fmt(self._tick(advance=True))
            self.applied.append({"op": "update", "ticket_id": tid, "ticket": body})
            return jsonify(code=1000, ticket=ticket)

        @bp.get("/open_api_v1/customers")
        def list_customers():
            try:
                page = max(1, int(request.args.get("page", 1)))
                size = int(request.args.get("page_size", 20))
            except ValueError:
                return self._error(2002, "参数错误")
            if not 1 <= size <= 100:
                return self._error(2002, "page_size 最大100")
            rows = sorted(self.customers.values(), key=lambda c: c["id"])[:10000]
            total_pages = (len(rows) + size - 1) // size
            return jsonify(code=1000, meta={"current_page": page, "total_pages": total_pages, "total_count": len(rows)},
                           customers=rows[(page - 1) * size: page * size])

        @bp.post("/open_api_v1/customers")
        def create_customer():
            body = (request.get_json(silent=True) or {}).get("customer") or {}
            if not body.get("nick_name"):
                return self._error(2002, "nick_name 必填")
            phones = [p[1] for p in body.get("cellphones") or [] if isinstance(p, list) and len(p) == 2]
            customer = self.add_customer(body["nick_name"], cellphone=phones[0] if phones else None, email=body.get("email"))
            return jsonify(code=1000, customer=customer)

        return bp
