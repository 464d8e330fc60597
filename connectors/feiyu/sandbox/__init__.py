"""An in-memory Feiyu / Ocean Engine: both lead APIs on their real paths, enforcing their
credentials exactly.

* legacy CRM — ``GET /crm/v2/openapi/pull-clues/`` and ``POST /crm/v2/openapi/clue/callback/``
  checking ``Signature`` / ``Timestamp`` (±300 s) / ``Access-Token``; errors as
  ``{status: -2 | -1, msg}``, success ``{status: "success", msg, count, data[]}`` (pull) and
  ``{status: 0, msg: "success"}`` (callback).
* Marketing API — ``POST /open_api/oauth2/refresh_token/`` (rotating: a refresh token works
  once), ``GET /open_api/2/tools/clue/get/`` and ``POST /open_api/2/tools/clue/callback/``
  with ``Access-Token``; answers ``{code, message, request_id, data}`` with 40100
  (throttled, on demand), 40102/40104/40105 (access token expired/missing/invalid),
  40103/40107 (refresh token expired/invalid), 40001 (bad parameters, e.g. page_size > 100).
* leads come newest first; ``intention_estimation`` / ``app_name`` / ``convert_status``
  start empty and are filled by :meth:`FeiyuSandbox.fill_late_fields`, as Ocean Engine does
  about ten minutes after creation.
* :meth:`FeiyuSandbox.signed_push` makes the POST a lead-push rule sends: the real push shape
  (``id``, ``telphone``, Unix ``create_time``, ``adv_name`` …) with ``Signature`` /
  ``Timestamp`` / ``Access-Token`` (:mod:`connectors.feiyu.auth.push_signing`).

Every accepted callback is one effect (Feiyu lists each in 上报明细).
"""

from __future__ import annotations

import hmac
import itertools
import json
import time
import uuid
from datetime import datetime
from typing import Any, Mapping

import requests
from flask import Blueprint, jsonify, request

from hub.connector.records import WebhookRequest
from hub.connector.sandbox import Sandbox

from connectors.feiyu import timewindows
from connectors.feiyu.auth import signing
from connectors.feiyu.auth.push_signing import push_signature
from connectors.feiyu.reasons import INVALID, REASON_CODES
from connectors.feiyu.sandbox.data import LeadFactory, legacy_shape

APP_ID = "1780000000000001"
APP_SECRET = "sandbox-app-secret-5f3a9c"
INITIAL_REFRESH_TOKEN = "sandbox-refresh-0001"
SIGNATURE_KEY = "TDJDMkNDVDlVTFY5"
CRM_ACCESS_TOKEN = "sandbox-crm-token-bc90c777149f"
PUSH_TOKEN = "sandbox-push-token-7e1d"
ADVERTISERS = [("1760000000000001", "杭州小象教育科技有限公司"), ("1760000000000002", "成都蜀味餐饮管理有限公司")]
ACCESS_TTL = 86400
REFRESH_TTL = 30 * 86400
MARKETING_STATES = {194, 195, 196, 527, 285, 10000}
CRM_STATES = {1, 2, 3, 4}
MAX_PAGE_SIZE = 100


class FeiyuSandbox(Sandbox):
    control_methods = ("add_records", "update_record", "new_lead", "fill_late_fields", "fail_refresh", "age_refresh_token",
                       "push_lead")

    def __init__(self, api: str = "marketing") -> None:
        self.api = api
        self.factory = LeadFactory(ADVERTISERS)
        self.leads: dict[str, dict[str, Any]] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.refresh_token = INITIAL_REFRESH_TOKEN
        self.refresh_expires_at = time.time() + REFRESH_TTL
        self.access_tokens: dict[str, float] = {}
        #: Every refresh token presented to the refresh endpoint, in order (tests read it).
        self.refresh_requests: list[str] = []
        self._refresh_failures: list[tuple[int, str]] = []
        self._serial = itertools.count(2)
        self._throttle = 0
        #: Lifetime of access tokens issued from now on (0: born expired, to test retries).
        self.access_ttl = ACCESS_TTL

    # -- acting as Ocean Engine and its users -------------------------------------------------
    def add_lead(self, created: datetime | None = None, advertiser_id: str | None = None, **fields: Any) -> str:
        lead = self.factory.make(created or timewindows.now(), advertiser_id)
        lead.update(fields)
        self.leads[lead["clue_id"]] = lead
        return lead["clue_id"]

    def new_lead(self, created: str | None = None, **fields: Any) -> dict[str, Any]:
        """A lead made the way ``hub demo`` scripts it: creation time as ISO 8601 text (any
        offset; shown in Beijing time), and chosen values for any of the lead's own fields
        (``telephone``, ``name``, ``gender``, ``city_name``, ``module_name``, ``ad_id`` …).
        Returns the lead as the API lists it. An unknown field name is refused."""
        at = datetime.fromisoformat(created).astimezone(timewindows.BEIJING) if created else None
        clue_id = self.add_lead(created=at)
        lead = self.leads[clue_id]
        unknown = sorted(set(fields) - set(lead))
        if unknown:
            del self.leads[clue_id]
            raise ValueError(f"unknown lead field(s): {', '.join(unknown)}")
        lead.update(fields)
        return dict(lead)

    def fill_late_fields(self, clue_id: str) -> None:
        """What Ocean Engine does ~10 minutes after a lead: intention, traffic app, convert status."""
        self.factory.fill_late_fields(self.leads[clue_id])

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: 0.0 for token in self.access_tokens}

    def throttle_next(self, calls: int) -> None:
        """Answer the next ``calls`` data requests with 40100 (frequency limit)."""
        self._throttle = calls

    # -- the suite's hooks ----------------------------------------------------------------------
    def config_for(self, base_url: str) -> dict[str, Any]:
        common = {
            "api": self.api,
            "crm_base_url": base_url,
            "marketing_base_url": base_url,
            "push_token": PUSH_TOKEN,
            "page_size": 10,
            "start_date": timewindows.now().date().isoformat(),
        }
        if self.api == "crm":
            return {**common, "signature_key": SIGNATURE_KEY, "access_token": CRM_ACCESS_TOKEN}
        return {
            **common,
            "app_id": APP_ID,
            "secret": APP_SECRET,
            "refresh_token": INITIAL_REFRESH_TOKEN,
            "advertiser_ids": [a for a, _ in ADVERTISERS],
        }

    def add_records(self, stream: str, count: int) -> list[str]:
        assert stream == "leads", stream
        return [self.add_lead() for _ in range(count)]

    def update_record(self, stream: str, native_id: str) -> None:
        self.fill_late_fields(native_id)

    def sample_payload(self, sink: str) -> dict[str, Any]:
        assert sink == "clue_status", sink
        clue_id = next(iter(self.leads), None) or self.add_lead()
        lead = self.leads[clue_id]
        state = 2 if self.api == "crm" else 194
        return {"clue_id": clue_id, "advertiser_id": lead["advertiser_id"], "clue_convert_state": state}

    def sample_contacts(self, sink: str) -> list[dict[str, Any]]:
        """Contacts holding leads this sandbox has, at stages the shipped clue_status mapping
        reports back (the suite renders mappings/feiyu.clue_status.out.yaml with them)."""
        from hub.mapping import canonical_view

        assert sink == "clue_status", sink
        contacts = []
        for stage in ("已联系", "高意向", "成交"):
            clue_id = self.add_lead()
            lead = self.leads[clue_id]
            contacts.append(canonical_view(
                f"feiyu-sample-{clue_id}",
                attributes={"name": "飞鱼客户", "stage": stage, "feiyu_clue_id": str(clue_id),
                            "feiyu_advertiser_id": str(lead["advertiser_id"])},
                changed=["stage"],
            ))
        return contacts

    def effects(self, sink: str) -> list[dict[str, Any]]:
        return list(self.callbacks)

    def push_body(self, clue_id: str, field_map: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Lead ``clue_id`` as a lead-push rule posts it (the shape saoxia/erpnext_china reads):
        ``id``, ``telphone`` (sic), Unix ``create_time``, ``adv_name``, ``location`` 省+市, …"""
        lead = self.leads[clue_id]
        created = timewindows.parse(lead["create_time_detail"])
        body = {
            "id": int(lead["clue_id"]), "adv_id": int(lead["advertiser_id"]), "adv_name": lead.get("advertiser_name", ""),
            "name": lead["name"], "telphone": lead["telephone"], "gender": lead.get("gender", 0),
            "location": f"{lead.get('province_name', '')}+{lead.get('city_name', '')}",
            "province_name": lead.get("province_name", ""), "city_name": lead.get("city_name", ""),
            "create_time": int(created.timestamp()), "clue_source": 1, "clue_type": 0, "flow_type": 4,
            "external_url": f"https://www.chengzijianzhan.com/tetris/page/{lead.get('site_id', '')}/",
            "weixin": lead.get("weixin", ""), "module_name": lead.get("module_name", ""),
        }
        return {(field_map or {}).get(k, k): v for k, v in body.items()}

    def push_headers(self, clue_id: str, token: str, timestamp: str | None = None) -> dict[str, str]:
        """``Signature`` / ``Timestamp`` / ``Access-Token`` as the push rule sends them."""
        ts = timestamp or str(int(time.time()))
        return {"Content-Type": "application/json", "Access-Token": token, "Timestamp": ts,
                "Signature": push_signature(str(clue_id), token, ts)}

    def push_lead(self, clue_id: str, url: str, token: str = PUSH_TOKEN) -> dict[str, Any]:
        """The lead-push rule posts lead ``clue_id`` to ``url``, signed; returns the receiver's answer."""
        body = json.dumps(self.push_body(str(clue_id)), ensure_ascii=False).encode()
        resp = requests.post(url, data=body, headers=self.push_headers(str(clue_id), token), timeout=10)
        return {"status": resp.status_code, "body": resp.text[:200]}

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        clue_id = self.add_lead()
        body = json.dumps(self.push_body(clue_id, config.get("push_field_map")), ensure_ascii=False).encode()
        headers = self.push_headers(clue_id, config.get("push_token") or "")
        return WebhookRequest(method="POST", path="/webhooks/feiyu", headers=headers, args={}, body=body)

    # -- helpers for the API ------------------------------------------------------------------
    def _window(self, start: str, end: str) -> tuple[datetime, datetime]:
        lo = timewindows.parse(start)
        hi = timewindows.parse(end)
        if len(end.strip()) == 10:  # a bare date means the whole day
            hi = hi.replace(hour=23, minute=59, second=59)
        return lo, hi

    def _select(self, lo: datetime, hi: datetime, advertisers: set[str] | None) -> list[dict[str, Any]]:
        rows = [
            lead for lead in self.leads.values()
            if lo <= timewindows.parse(lead["create_time_detail"]) <= hi
            and (advertisers is None or lead["advertiser_id"] in advertisers)
        ]
        rows.sort(key=lambda r: (r["create_time_detail"], int(r["clue_id"])), reverse=True)  # newest first
        return rows

    def fail_refresh(self, times: int = 1, code: int = 50000, message: str = "系统繁忙，请稍后重试") -> None:
        """The next ``times`` refresh calls fail with ``code`` (Ocean Engine's 5xxxx are internal errors)."""
        self._refresh_failures.extend([(int(code), message)] * int(times))

    def age_refresh_token(self, days: float) -> None:
        """``days`` pass for the current refresh token (its expiry comes nearer)."""
        self.refresh_expires_at -= float(days) * 86400

    def _issue_tokens(self) -> dict[str, Any]:
        serial = next(self._serial)
        access = f"sandbox-access-{serial:04d}-{uuid.uuid4().hex[:8]}"
        self.refresh_token = f"sandbox-refresh-{serial:04d}-{uuid.uuid4().hex[:8]}"
        self.refresh_expires_at = time.time() + REFRESH_TTL
        self.access_tokens[access] = time.time() + self.access_ttl
        return {
            "access_token": access,
            "expires_in": self.access_ttl,
            "refresh_token": self.refresh_token,
            "refresh_token_expires_in": REFRESH_TTL,
            "advertiser_ids": [int(a) for a, _ in ADVERTISERS],
        }

    # -- the API --------------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        bp = Blueprint("feiyu_sandbox", __name__)

        def answer(code: int, message: str, data: Any = None):
            body = {"code": code, "message": message, "request_id": uuid.uuid4().hex[:24].upper()}
            if data is not None:
                body["data"] = data
            return jsonify(body)

        def marketing_auth():
            token = request.headers.get("Access-Token")
            if not token:
                return answer(40104, "access_token 为空")
            expires = self.access_tokens.get(token)
            if expires is None:
                return answer(40105, "access_token 无效")
            if expires <= time.time():
                return answer(40102, "access_token 已过期")
            if self._throttle > 0:
                self._throttle -= 1
                return answer(40100, "请求过于频繁")
            return None

        @bp.post("/open_api/oauth2/refresh_token/")
        def refresh_token():
            body = request.get_json(silent=True) or {}
            if body.get("grant_type") != "refresh_token" or not body.get("refresh_token"):
                return answer(40001, "参数错误: grant_type / refresh_token")
            presented = str(body.get("refresh_token"))
            self.refresh_requests.append(presented)
            app_ok = hmac.compare_digest(str(body.get("app_id", "")), APP_ID)
            secret_ok = hmac.compare_digest(str(body.get("secret", "")), APP_SECRET)
            if not (app_ok and secret_ok):
                return answer(40001, "app_id 或 secret 错误")
            if self._refresh_failures:
                code, message = self._refresh_failures.pop(0)
                return answer(code, message)
            if not hmac.compare_digest(presented, self.refresh_token):
                return answer(40107, "refresh_token 无效")
            if self.refresh_expires_at <= time.time():
                return answer(40103, "refresh_token 已过期")
            return answer(0, "OK", self._issue_tokens())

        @bp.get("/open_api/2/tools/clue/get/")
        def clue_get():
            refused = marketing_auth()
            if refused is not None:
                return refused
            args = request.args
            try:
                advertisers = {str(a) for a in json.loads(args["advertiser_ids"])}
                lo, hi = self._window(args["start_time"], args["end_time"])
                page = int(args.get("page", 1))
                page_size = int(args.get("page_size", 10))
            except (KeyError, ValueError, TypeError):
                return answer(40001, "参数错误: advertiser_ids / start_time / end_time / page / page_size")
            if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
                return answer(40001, f"参数错误: page_size 取值范围 1-{MAX_PAGE_SIZE}")
            unknown = advertisers - {a for a, _ in ADVERTISERS}
            if unknown:
                return answer(40002, "无权限操作该广告主")
            rows = self._select(lo, hi, advertisers)
            total_page = (len(rows) + page_size - 1) // page_size
            chunk = rows[(page - 1) * page_size: page * page_size]
            listed = [{**r, "clue_id": int(r["clue_id"]), "advertiser_id": int(r["advertiser_id"])} for r in chunk]
            page_info = {"page": page, "page_size": page_size, "total_number": len(rows), "total_page": total_page}
            return answer(0, "OK", {"page_info": page_info, "list": listed})

        @bp.post("/open_api/2/tools/clue/callback/")
        def clue_callback():
            refused = marketing_auth()
            if refused is not None:
                return refused
            body = request.get_json(silent=True) or {}
            advertisers = {str(a) for a in body.get("advertiser_ids") or []}
            lead = self.leads.get(str(body.get("clue_id", "")))
            if not advertisers or lead is None or lead["advertiser_id"] not in advertisers:
                return answer(40001, "参数错误: clue_id 不存在或不属于该广告主")
            if body.get("clue_convert_state") not in MARKETING_STATES:
                return answer(40001, "参数错误: clue_convert_state")
            if body.get("source") not in (None, 1):
                return answer(40001, "参数错误: source")
            details = body.get("event_data")
            reason = details.get("reason_code") if isinstance(details, dict) else None
            if reason is not None and reason not in REASON_CODES:
                return answer(40001, "参数错误: event_data.reason_code")
            if body["clue_convert_state"] == INVALID and reason is None:
                return answer(40001, "参数错误: 无效线索需填写 event_data.reason_code")
            self.callbacks.append({"api": "marketing", "clue_id": lead["clue_id"], "advertiser_id": lead["advertiser_id"],
                                   "clue_convert_state": body["clue_convert_state"],
                                   **({"event_data": details} if details else {})})
            return answer(0, "OK", {})

        def crm_auth(signed_path: str):
            timestamp = request.headers.get("Timestamp", "")
            given = request.headers.get("Signature", "")
            if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > signing.TIMESTAMP_TOLERANCE:
                return jsonify(status=-2, msg="timestamp expired")
            if not hmac.compare_digest(request.headers.get("Access-Token", ""), CRM_ACCESS_TOKEN):
                return jsonify(status=-2, msg="token error")
            if not hmac.compare_digest(given, signing.signature(SIGNATURE_KEY, signed_path, timestamp)):
                return jsonify(status=-2, msg="signature error")
            return None

        @bp.get(signing.PULL_PATH)
        def pull_clues():
            args = request.args
            if "start_time" not in args or "end_time" not in args:
                return jsonify(status=-1, msg="missing params")
            refused = crm_auth(signing.pull_signed_path(args["start_time"], args["end_time"]))
            if refused is not None:
                return refused
            try:
                lo, hi = self._window(args["start_time"], args["end_time"])
                page = int(args.get("page", 1))
                page_size = int(args.get("page_size", 10))
            except ValueError:
                return jsonify(status=-1, msg="params error")
            if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
                return jsonify(status=-1, msg="page_size should be between 1 and 100")
            rows = self._select(lo, hi, None)
            chunk = rows[(page - 1) * page_size: page * page_size]
            return jsonify(status="success", msg="", count=len(rows), data=[legacy_shape(r) for r in chunk])

        @bp.post(signing.CALLBACK_PATH)
        def crm_callback():
            refused = crm_auth(signing.CALLBACK_PATH)
            if refused is not None:
                return refused
            body = request.get_json(silent=True) or {}
            if "clue_id" not in body or "clue_convert_state" not in body:
                return jsonify(status=-1, msg="missing params")
            if body["clue_convert_state"] not in CRM_STATES:
                return jsonify(status=-1, msg="clue_convert_state error")
            lead = self.leads.get(str(body["clue_id"]))
            if lead is None:
                return jsonify(status=-1, msg="clue not found")
            self.callbacks.append({"api": "crm", "clue_id": lead["clue_id"], "advertiser_id": lead["advertiser_id"],
                                   "clue_convert_state": body["clue_convert_state"]})
            return jsonify(status=0, msg="success")

        return bp
