"""An in-memory Sobot Open Platform 5.0: ``GET /api/get_token`` (MD5 signature check, a new
24 h token per call), ``POST /api/ws/5/ticket/save_user_ticket`` and ``GET
/api/ws/5/ticket/query_tickets_by_update_time``, the token in the ``token`` header, answers
``{ret_code, ret_msg, item | items …}``.

``save_user_ticket`` enforces what Sobot documents as required — ``companyid``,
``ticket_title``, ``ticket_content``, ``ticket_typeid`` (a leaf category) and
``ticket_from`` — and matches the customer by "客户 ID > 对接 ID > 客户邮箱 > 客户手机号",
creating one when none matches (taadis/zhichi). ``query_tickets_by_update_time`` refuses a
window longer than a month or ``page_size`` over 50 and pages with ``page_no`` /
``page_count`` / ``total_count``.

Sobot's published codes are used as published (``900001``–``900004``). Things Sobot does
not publish are sandbox assumptions: a refused parameter answers :data:`PARAM_ERROR`; more
than :attr:`SobotSandbox.rate_limit_per_minute` calls a minute answer HTTP 429; pages list
the most recently updated tickets first; ids are 32 hex digits like Sobot's other ids.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, jsonify, request

from hub.connector.sandbox import Sandbox

from connectors.ticketing.sobot.signing import sobot_sign

APPID = "1b906d2a500b445c87caf03862f197c1"
APP_KEY = "sandbox-sobot-app-key-0001"
COMPANY_ID = "f0af5952377b4331a3499999b77867c2"
#: The sandbox company's leaf ticket category (售后服务/安装预约) and its name.
TICKET_TYPEID = "4e3b1c8f0a6d4a57b1f2c9d8e7a6b5c4"
TICKET_TYPES = {TICKET_TYPEID: "售后服务/安装预约"}
TICKET_FROM = "0"
TOKEN_LIFETIME = 86400
#: Sandbox-only: Sobot publishes no code for a refused parameter.
PARAM_ERROR = "100001"
CHINA = timezone(timedelta(hours=8))
FORMAT = "%Y-%m-%d %H:%M:%S"
MONTH = timedelta(days=31)


def _now() -> datetime:
    return datetime.now(CHINA).replace(microsecond=0)


class SobotSandbox(Sandbox):
    rate_limit_per_minute = 600
    control_methods = ("add_records", "update_record", "expire_tokens", "fail_next", "find_tickets", "reply")

    def __init__(self, seed: int = 17) -> None:
        self.rng = random.Random(seed)
        self.tokens: dict[str, float] = {}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.customers: list[dict[str, Any]] = [
            {"id": self._id(), "nick": "王小明", "tel": "13812345678", "email": "wangxm@example.cn"}]
        self.applied: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str | None]] = []
        self.calls: deque[float] = deque()
        self.queries: list[dict[str, str]] = []
        self.code = 1000
        # A simulated clock two days back, as for Udesk: several tickets share a second.
        self._clock = _now() - timedelta(days=2)

    def _id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    def _tick(self, advance: bool = False) -> str:
        if advance or self.rng.random() < 0.4:
            self._clock += timedelta(seconds=1)
        return self._clock.strftime(FORMAT)

    # -- control (hub demo, tests) --------------------------------------------------------
    def expire_tokens(self) -> None:
        """Sobot invalidates every token issued so far (as when another client refetches)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    def fail_next(self, status: int = 500, times: int = 1, ret_code: str | None = None) -> None:
        """The next ``times`` API calls answer HTTP ``status`` — or, with ``ret_code``,
        HTTP 200 carrying that code."""
        self.failures.extend([(200 if ret_code else int(status), ret_code)] * int(times))

    def find_tickets(self, text: str) -> list[dict[str, Any]]:
        """Tickets whose title or content contains ``text`` (an agent's search in Sobot)."""
        return [dict(t) for t in self.tickets.values() if text in t["ticket_title"] or text in t["ticket_content"]]

    def add_records(self, stream: str, count: int) -> list[str]:
        """Customers open ``count`` tickets (by WeChat, 来源 1), each updated now."""
        made = []
        for n in range(int(count)):
            customer = {"id": self._id(), "nick": f"客户{len(self.customers)}", "tel": f"139{len(self.customers):08d}", "email": None}
            self.customers.append(customer)
            made.append(self._store({"ticket_title": f"咨询 {n + 1}", "ticket_content": "客户留言咨询。",
                                     "ticket_typeid": TICKET_TYPEID, "ticket_from": "1"}, customer, start_type="1"))
        return made

    def update_record(self, stream: str, native_id: str) -> None:
        """An agent takes the ticket (受理中)."""
        self.reply(native_id, "坐席已受理。", status="1")

    def reply(self, ticketid: str, text: str, status: str = "2") -> None:
        """An agent replies and moves the ticket to ``status`` (default 2 等待回复)."""
        ticket = self.tickets[ticketid]
        ticket.update({"ticket_status": str(status), "deal_agent_name": "客服小李", "deal_group_name": "售后组",
                       "update_datetime": self._tick(advance=True), "_reply": text})

    # -- what the suite inspects ----------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "appid": APPID, "app_key": APP_KEY, "company_id": COMPANY_ID,
                "ticket_typeid": TICKET_TYPEID, "ticket_from": TICKET_FROM}

    def sample_payload(self, sink: str) -> dict[str, Any]:
        return {"ticket_title": "400来电：要求回电", "ticket_content": "客户来电咨询安装进度，请回电。",
                "user_tels": "+8613812345678"}

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self.applied)

    # -- the API --------------------------------------------------------------------------
    @staticmethod
    def _answer(ret_code: str, ret_msg: str, status: int = 200, **extra: Any):
        return jsonify({"ret_code": ret_code, "ret_msg": ret_msg, **extra}), status

    def _issue_token(self):
        args = request.args
        appid, create_time, sign = args.get("appid", ""), args.get("create_time", ""), args.get("sign", "")
        if appid != APPID:
            return self._answer("900004", "没有找到公司的api配置信息!")
        if not create_time.isdigit() or sign != sobot_sign(appid, create_time, APP_KEY):
            return self._answer("900003", "signature错误")
        token = self._id()
        self.tokens[token] = time.time() + TOKEN_LIFETIME
        return self._answer("000000", "操作成功", item={"token": token, "expires_in": str(TOKEN_LIFETIME)})

    def _gate(self):
        """Throttle, injected failures and the token check (5.0: the ``token`` header only)."""
        now = time.time()
        while self.calls and now - self.calls[0] > 60:
            self.calls.popleft()
        if len(self.calls) >= self.rate_limit_per_minute:
            return "请求过于频繁", 429
        self.calls.append(now)
        if self.failures:
            status, code = self.failures.pop(0)
            return self._answer(code, "注入的失败") if code else ("sandbox: injected failure", status)
        token = request.headers.get("token")
        if not token:
            return self._answer("900001", "token为空")
        if self.tokens.get(token, 0.0) <= now:
            return self._answer("900002", "token已失效，请重新获取")
        return None

    @staticmethod
    def _refusal(data: Any) -> str | None:
        if not isinstance(data, dict):
            return "请求体须为 JSON 对象"
        if data.get("companyid") != COMPANY_ID:
            return "companyid 错误"
        title, content = str(data.get("ticket_title") or ""), str(data.get("ticket_content") or "")
        if not title or len(title) > 300 or not content or len(content) > 3000:
            return "ticket_title(≤300) 和 ticket_content(≤3000) 必填"
        if data.get("ticket_typeid") not in TICKET_TYPES:
            return "ticket_typeid 必填，且须为叶子节点的分类ID"
        if not isinstance(data.get("ticket_from"), str) or not data["ticket_from"].isdigit():
            return "ticket_from 必填"
        if not any(data.get(k) for k in ("userid", "partnerid", "user_email", "user_tels")):
            return "userid、partnerid、user_email、user_tels 至少填一项"
        if data.get("first_contact_type") not in (None, 1, 2):
            return "first_contact_type 取值错误"
        return None

    def _customer(self, data: dict[str, Any]) -> dict[str, Any]:
        """客户 ID > 对接 ID > 客户邮箱 > 客户手机号; created when none matches."""
        for key, field in (("id", "userid"), ("partnerid", "partnerid"), ("email", "user_email"), ("tel", "user_tels")):
            value = data.get(field)
            found = next((c for c in self.customers if value and c.get(key) == value), None)
            if found:
                return found
        customer = {"id": self._id(), "nick": data.get("user_tels") or data.get("user_email"),
                    "tel": data.get("user_tels"), "email": data.get("user_email"), "partnerid": data.get("partnerid")}
        self.customers.append(customer)
        return customer

    def _store(self, data: dict[str, Any], customer: dict[str, Any], start_type: str = "1") -> str:
        tid, now = self._id(), self._tick()
        self.code += 1
        self.tickets[tid] = {
            "ticketid": tid, "ticket_title": data["ticket_title"], "ticket_content": data["ticket_content"],
            "ticket_code": f"{self._clock:%Y%m%d}{self.code:06d}", "ticket_from": data["ticket_from"],
            "ticket_level": "1", "ticket_status": "0", "start_type": start_type, "start_name": customer["nick"],
            "ticket_typeid": data["ticket_typeid"], "ticket_type_name": TICKET_TYPES[data["ticket_typeid"]],
            "deal_agent_name": "", "deal_group_name": "", "create_datetime": now, "update_datetime": now,
            "user_nick": customer["nick"], "user_name": customer["nick"], "userid": customer["id"],
            "user_tels": customer.get("tel") or "", "user_emails": customer.get("email") or ""}
        return tid

    def _query(self):
        args = request.args
        self.queries.append(dict(args))
        try:
            if args.get("update_start_datetime_ms") and args.get("update_end_datetime_ms"):
                start = datetime.fromtimestamp(int(args["update_start_datetime_ms"]) / 1000, CHINA)
                end = datetime.fromtimestamp(int(args["update_end_datetime_ms"]) / 1000, CHINA)
            else:
                start = datetime.strptime(args["update_start_datetime"], FORMAT).replace(tzinfo=CHINA)
                end = datetime.strptime(args["update_end_datetime"], FORMAT).replace(tzinfo=CHINA)
            page, size = int(args.get("page_no", 1)), int(args.get("page_size", 15))
        except (KeyError, ValueError):
            return self._answer(PARAM_ERROR, "update_start_datetime / update_end_datetime 格式为 yyyy-MM-dd HH:mm:ss")
        if end < start or end - start > MONTH:
            return self._answer(PARAM_ERROR, "查询时间段不能大于一个月")
        if not 1 <= size <= 50 or page < 1:
            return self._answer(PARAM_ERROR, "page_size 最大 50")
        rows = [t for t in self.tickets.values()
                if start <= datetime.strptime(t["update_datetime"], FORMAT).replace(tzinfo=CHINA) <= end]
        rows.sort(key=lambda t: (t["update_datetime"], t["ticketid"]), reverse=True)
        total = len(rows)
        items = [{k: v for k, v in t.items() if not k.startswith("_")} for t in rows[(page - 1) * size: page * size]]
        return self._answer("000000", "操作成功", items=items, page_no=page, page_size=size,
                            page_count=(total + size - 1) // size, total_count=total)

    def blueprint(self) -> Blueprint:
        bp = Blueprint("sobot_sandbox", __name__)

        @bp.get("/api/get_token")
        def get_token():
            return self._issue_token()

        @bp.post("/api/ws/5/ticket/save_user_ticket")
        def save_user_ticket():
            refused = self._gate()
            if refused is not None:
                return refused
            data = request.get_json(silent=True)
            problem = self._refusal(data)
            if problem:
                return self._answer(PARAM_ERROR, problem)
            tid = self._store(data, self._customer(data), start_type="1")
            self.applied.append({"op": "create", "ticketid": tid, "data": data})
            return self._answer("000000", "操作成功", item={"ticketid": tid})

        @bp.get("/api/ws/5/ticket/query_tickets_by_update_time")
        def query_tickets_by_update_time():
            refused = self._gate()
            return refused if refused is not None else self._query()

        return bp
