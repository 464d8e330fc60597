"""An in-memory Sobot: ``GET /api/get_token`` (MD5 signature check, a new 24 h token per
call) and ``POST /ws-open/ticket/ticket_api`` action ``addCustomerTicket`` (token check, the
documented field rules, customer matched by e-mail or mobile per ``ticketStartWay`` and
created when unknown), with ``ret_code``/``ret_msg`` answers.

Sobot's published codes are used as published (``900001``–``900004``). Two things Sobot does
not publish are sandbox assumptions: a refused parameter answers :data:`PARAM_ERROR`, and
more than :attr:`SobotSandbox.rate_limit_per_minute` ticket calls a minute answer HTTP 429.
Ticket ids (32 hex digits, like Sobot's other ids) are not verified either.
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
TOKEN_LIFETIME = 86400
#: Sandbox-only: Sobot publishes no code for a refused parameter.
PARAM_ERROR = "100001"
SOURCES, STATUSES, LEVELS = range(5), (0, 1, 2, 3, 99, 98), range(4)
CHINA = timezone(timedelta(hours=8))


class SobotSandbox(Sandbox):
    rate_limit_per_minute = 60
    control_methods = ("expire_tokens", "fail_next", "find_tickets")

    def __init__(self, seed: int = 17) -> None:
        self.rng = random.Random(seed)
        self.tokens: dict[str, float] = {}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.customers: list[dict[str, Any]] = [
            {"id": self._id(), "nick": "王小明", "tel": "13812345678", "email": "wangxm@example.cn"}]
        self.applied: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str | None]] = []
        self.calls: deque[float] = deque()

    def _id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    # -- control (hub demo, tests) --------------------------------------------------------
    def expire_tokens(self) -> None:
        """Sobot invalidates every token issued so far (as when another client refetches)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    def fail_next(self, status: int = 500, times: int = 1, ret_code: str | None = None) -> None:
        """The next ``times`` ticket calls answer HTTP ``status`` — or, with ``ret_code``,
        HTTP 200 carrying that code."""
        self.failures.extend([(200 if ret_code else int(status), ret_code)] * int(times))

    def find_tickets(self, text: str) -> list[dict[str, Any]]:
        """Tickets whose title or content contains ``text`` (an agent's search in Sobot)."""
        return [dict(t) for t in self.tickets.values() if text in t["ticketTitle"] or text in t["ticketContent"]]

    # -- what the suite inspects ----------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "appid": APPID, "app_key": APP_KEY, "company_id": COMPANY_ID}

    def sample_payload(self, sink: str) -> dict[str, Any]:
        return {"ticketTitle": "400来电：要求回电", "ticketContent": "客户来电咨询安装进度，请回电。",
                "customerPhone": "+8613812345678", "soruce": 0, "ticketLevel": 2}

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self.applied)

    # -- the API --------------------------------------------------------------------------
    @staticmethod
    def _answer(ret_code: str, ret_msg: str, item: dict[str, Any] | None = None, status: int = 200):
        body: dict[str, Any] = {"ret_code": ret_code, "ret_msg": ret_msg}
        if item is not None:
            body["item"] = item
        return jsonify(body), status

    def _issue_token(self):
        args = request.args
        appid, create_time, sign = args.get("appid", ""), args.get("create_time", ""), args.get("sign", "")
        if appid != APPID:
            return self._answer("900004", "没有找到公司的api配置信息!")
        if not create_time.isdigit() or sign != sobot_sign(appid, create_time, APP_KEY):
            return self._answer("900003", "signature错误")
        token = self._id()
        self.tokens[token] = time.time() + TOKEN_LIFETIME
        return self._answer("000000", "操作成功", {"token": token, "expires_in": str(TOKEN_LIFETIME)})

    def _gate(self, body: dict[str, Any]):
        """Throttle, injected failures and the token check, in that order."""
        now = time.time()
        while self.calls and now - self.calls[0] > 60:
            self.calls.popleft()
        if len(self.calls) >= self.rate_limit_per_minute:
            return "请求过于频繁", 429
        self.calls.append(now)
        if self.failures:
            status, code = self.failures.pop(0)
            return self._answer(code, "注入的失败") if code else ("sandbox: injected failure", status)
        token = request.headers.get("token") or body.get("access_token")
        if not token:
            return self._answer("900001", "token为空")
        if self.tokens.get(token, 0.0) <= now:
            return self._answer("900002", "token已失效，请重新获取")
        return None

    def _refusal(self, body: dict[str, Any], data: Any) -> str | None:
        if str(body.get("action", "")).strip() != "addCustomerTicket":
            return "action 不支持"
        if str(body.get("method", "")).lower() != "post":
            return "method 值传post"
        if not isinstance(data, dict):
            return "data 不能为空"
        if data.get("companyId") != COMPANY_ID:
            return "companyId 错误"
        title, content = str(data.get("ticketTitle") or ""), str(data.get("ticketContent") or "")
        if not title or len(title) > 300 or not content or len(content) > 3000:
            return "ticketTitle(≤300) 和 ticketContent(≤3000) 必填"
        checks = (("ticketStartWay", (1, 2)), ("soruce", SOURCES), ("ticketStatus", STATUSES), ("ticketLevel", LEVELS))
        for key, allowed in checks:
            if not isinstance(data.get(key), int) or data[key] not in allowed:
                return f"{key} 取值错误"
        if data["ticketStartWay"] == 1 and not data.get("customerEmail"):
            return "发起方式为邮箱时 customerEmail 不可为空"
        phone = str(data.get("customerPhone") or "")
        if (data["ticketStartWay"] == 2 and not phone) or len(phone) > 11:
            return "发起方式为手机时 customerPhone 不可为空（11位）"
        return None

    def _customer(self, data: dict[str, Any]) -> dict[str, Any]:
        key, field = ("email", "customerEmail") if data["ticketStartWay"] == 1 else ("tel", "customerPhone")
        customer = next((c for c in self.customers if c[key] and c[key] == data[field]), None)
        if customer is None:
            customer = {"id": self._id(), "nick": data.get("customerPhone") or data.get("customerEmail"), "tel": None, "email": None}
            self.customers.append(customer)
        customer.update({k: data[f] for k, f in (("tel", "customerPhone"), ("email", "customerEmail")) if data.get(f)})
        return customer

    def blueprint(self) -> Blueprint:
        bp = Blueprint("sobot_sandbox", __name__)

        @bp.get("/api/get_token")
        def get_token():
            return self._issue_token()

        @bp.post("/ws-open/ticket/ticket_api")
        def ticket_api():
            body = request.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            refused = self._gate(body)
            if refused is not None:
                return refused
            data = body.get("data")
            problem = self._refusal(body, data)
            if problem:
                return self._answer(PARAM_ERROR, problem)
            customer, tid = self._customer(data), self._id()
            self.tickets[tid] = {**data, "ticketid": tid, "customerId": customer["id"],
                                 "createTime": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")}
            self.applied.append({"op": "create", "ticketid": tid, "data": data})
            return self._answer("000000", "操作成功", {"ticketid": tid})

        return bp
