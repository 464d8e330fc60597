"""Thin clients for the two Feiyu lead APIs, behind one small interface.

* :class:`CrmApi` — legacy Feiyu CRM open API on ``crm_base_url``:
  ``GET /crm/v2/openapi/pull-clues/?start_time&end_time&page&page_size`` →
  ``{status, msg, count, data[]}``, and ``POST /crm/v2/openapi/clue/callback/``
  ``{clue_id, clue_convert_state}``; every request signed (see :mod:`.auth.signing`).
* :class:`MarketingApi` — Ocean Engine Marketing API on ``marketing_base_url``:
  ``GET /open_api/2/tools/clue/get/?advertiser_ids=[..]&start_time&end_time&page&page_size``
  → ``{code, message, request_id, data{page_info{page, page_size, total_number,
  total_page}, list[]}}`` and ``POST /open_api/2/tools/clue/callback/`` ``{advertiser_ids,
  clue_id, source: 1, clue_convert_state, event_data{reason_code, …}}``; header ``Access-Token`` from OAuth. A rejected
  access token is refreshed once and the call retried.

Both return leads already normalised to Marketing API field names (:mod:`.normalize`).
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

import requests

from hub.connector import PermanentError, TransientError
from hub.connector.http import request

from connectors.feiyu import normalize
from connectors.feiyu.auth import signing
from connectors.feiyu.auth.oauth import TokenManager
from connectors.feiyu.errors import ACCESS_TOKEN_REJECTED, crm_error, marketing_error

if TYPE_CHECKING:
    from connectors.feiyu.connector import FeiyuConnector

CLUE_GET_PATH = "/open_api/2/tools/clue/get/"
CLUE_CALLBACK_PATH = "/open_api/2/tools/clue/callback/"
#: ``source`` for the Marketing API callback: 1 = the new deep-conversion reporting (0 retired 2020-09).
CALLBACK_SOURCE = 1


def _json(response: requests.Response, path: str) -> dict[str, Any]:
    try:
        answer = response.json()
    except (ValueError, json.JSONDecodeError):
        raise TransientError(f"{path}: answer is not JSON (HTTP {response.status_code})") from None
    if not isinstance(answer, dict):
        raise TransientError(f"{path}: answer is not a JSON object")
    return answer


class CrmApi:
    name = "crm"

    def __init__(self, connector: "FeiyuConnector"):
        self.connector = connector
        self.base = connector.config["crm_base_url"].rstrip("/")

    def _headers(self, signed_path: str) -> dict[str, str]:
        c = self.connector.config
        return signing.headers(c["signature_key"], c["access_token"], signed_path, str(int(time.time())))

    def page(self, start: str, end: str, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        path = signing.PULL_PATH
        params = {"start_time": start, "end_time": end, "page": page, "page_size": page_size}
        headers = self._headers(signing.pull_signed_path(start, end))
        answer = _json(request(self.connector.http, "GET", self.base + path, params=params, headers=headers), path)
        if answer.get("status") not in ("success", 0):
            raise crm_error(path, answer)
        rows = answer.get("data") or []
        pages = math.ceil(int(answer.get("count") or 0) / page_size)
        return [normalize.from_crm(row) for row in rows], pages

    def callback(self, clue_id: str, advertiser_id: str | None, state: int,
                 event_data: dict[str, Any] | None = None) -> dict[str, Any]:
        """``event_data`` is a Marketing API field; the legacy API documents none (not sent)."""
        path = signing.CALLBACK_PATH
        body = {"clue_id": clue_id, "clue_convert_state": state}
        response = request(self.connector.http, "POST", self.base + path, json=body, headers=self._headers(path))
        answer = _json(response, path)
        if answer.get("status") not in (0, "success"):
            raise crm_error(path, answer)
        return answer


class MarketingApi:
    name = "marketing"

    def __init__(self, connector: "FeiyuConnector"):
        self.connector = connector
        self.base = connector.config["marketing_base_url"].rstrip("/")
        self.tokens = TokenManager(connector)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call with ``Access-Token``; on an expired/invalid token, refresh once and retry."""
        for attempt in (1, 2):
            token = self.tokens.access_token()
            headers = {"Access-Token": token, **kwargs.pop("headers", {})}
            response = request(self.connector.http, method, self.base + path, headers=headers, **kwargs)
            answer = _json(response, path)
            code = answer.get("code")
            if code == 0:
                return answer
            if code in ACCESS_TOKEN_REJECTED and attempt == 1:
                self.tokens.invalidate(token)
                continue
            raise marketing_error(path, answer)
        raise PermanentError(f"{path}: unreachable")  # pragma: no cover - the loop returns or raises

    def page(self, start: str, end: str, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        params = {
            "advertiser_ids": json.dumps([int(a) for a in self.connector.config["advertiser_ids"]]),
            "start_time": start,
            "end_time": end,
            "page": page,
            "page_size": page_size,
        }
        answer = self.call("GET", CLUE_GET_PATH, params=params)
        data = answer.get("data") or {}
        info = data.get("page_info") or {}
        total_page = info.get("total_page")
        if total_page is None:
            total_page = math.ceil(int(info.get("total_number") or 0) / page_size)
        return [normalize.from_marketing(row) for row in data.get("list") or []], int(total_page)

    def callback(self, clue_id: str, advertiser_id: str | None, state: int,
                 event_data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not advertiser_id:
            raise PermanentError("clue_status: advertiser_id is required with the Marketing API")
        body = {
            "advertiser_ids": [int(advertiser_id)],
            "clue_id": str(clue_id),
            "source": CALLBACK_SOURCE,
            "clue_convert_state": state,
        }
        if event_data:
            body["event_data"] = event_data
        return self.call("POST", CLUE_CALLBACK_PATH, json=body)
