"""Writable WeCom sinks: ``remark``, ``tags``, ``channel_codes``, ``transfers``.

Idempotency. WeCom has no idempotency keys. Every sink remembers the result of each
idempotency key it completed (Redis with a 7-day TTL, or in process) and answers a repeat
from that memo without calling WeCom. The memo is a shortcut, not the guarantee: each write
is also safe to repeat on the remote — remark and mark_tag set state, a channel code is
upserted on its ``state`` (config_id kept in durable ``connector.state``), and a repeated
transfer gets WeCom's per-customer 40129 ("already being transferred"), reported as such.

Payloads may omit ``userid`` / ``external_userid`` when the hub passes the relation's native
id (``"<external_userid>:<userid>"``) — what an outbound mapping for a linked contact yields.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from hub.connector import PermanentError, Sink, WriteResult

from connectors.wecom.errors import ALREADY_TRANSFERRING
from connectors.wecom.streams import relation_id, split_relation_id

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

MEMO_TTL = 7 * 24 * 3600
_memo: dict[str, tuple[dict[str, Any], float]] = {}
_guard = threading.Lock()

REMARK_LIMITS = {"remark": 20, "description": 150, "remark_company": 20}
#: WeCom doc 92115: "如果要清除所有备注手机号,请在remark_mobiles填写一个空字符串" — an empty
#: list changes nothing, so clearing sends one empty string.
CLEAR_MOBILES = [""]
#: externalcontact/get ``type``: 1 a WeChat user, 2 a WeCom user. remark_company only works on 1.
WECHAT_USER = 1
STATE_MAX = 30
#: add_contact_way / update_contact_way: "remark 联系方式的备注信息，用于助记，不超过30个字符".
WAY_REMARK_MAX = 30
#: transfer_result status: 1 done, 2 waiting, 3 refused by the customer, 4 takeover at its limit.
TRANSFER_STATUS = {1: "done", 2: "waiting", 3: "refused", 4: "takeover_limit"}


class _WeComSink(Sink):
    @property
    def wecom(self) -> "WeComConnector":
        return self.connector  # type: ignore[return-value]

    def _memo_key(self, idempotency_key: str) -> str:
        c = self.wecom
        digest = hashlib.sha256(f"{c.config['corp_id']}\0{c.instance}\0{c.memo_namespace}\0{self.name}\0{idempotency_key}".encode()).hexdigest()[:32]
        return f"hub:wecom:written:{digest}"

    def _recall(self, idempotency_key: str) -> dict[str, Any] | None:
        key, cache = self._memo_key(idempotency_key), self.wecom.cache
        if cache is not None:
            raw = cache.get(key)
            return json.loads(raw) if raw else None
        entry = _memo.get(key)
        return entry[0] if entry and entry[1] > time.time() else None

    def _remember(self, idempotency_key: str, result: WriteResult) -> WriteResult:
        value = {"native_id": result.native_id, "created": result.created, "data": result.data}
        key, cache = self._memo_key(idempotency_key), self.wecom.cache
        if cache is not None:
            cache.set(key, json.dumps(value, ensure_ascii=False), ex=MEMO_TTL)
        else:
            with _guard:
                _memo[key] = (value, time.time() + MEMO_TTL)
        return result

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        done = self._recall(idempotency_key)
        if done is not None:
            return self.replay(done, payload)
        return self._remember(idempotency_key, self.apply(payload, native_id))

    def replay(self, done: dict[str, Any], payload: dict[str, Any]) -> WriteResult:
        return WriteResult(native_id=done["native_id"], created=False, data=done["data"])

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        raise NotImplementedError

    @staticmethod
    def relation(payload: dict[str, Any], native_id: str | None) -> tuple[str, str]:
        external_userid, userid = split_relation_id(native_id) if native_id else ("", "")
        external_userid = payload.get("external_userid") or external_userid
        userid = payload.get("userid") or userid
        if not external_userid or not userid:
            raise PermanentError("payload needs external_userid and userid (or a native id '<external_userid>:<userid>')")
        return external_userid, userid


class RemarkSink(_WeComSink):
    name = "remark"
    description = "set a relation's remark, description, company and remark_mobiles (externalcontact/remark)"
    #: Every key ``apply`` reads; ``hub check`` refuses an outbound mapping rendering another.
    fields = {"external_userid": "string", "userid": "string", "remark": "string", "description": "string",
              "remark_company": "string", "remark_mobiles": "array", "customer_type": "integer"}

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        external_userid, userid = self.relation(payload, native_id)
        body: dict[str, Any] = {"userid": userid, "external_userid": external_userid}
        for field, limit in REMARK_LIMITS.items():
            if payload.get(field) is not None:
                value = str(payload[field])
                if len(value) > limit:
                    raise PermanentError(f"{field} is longer than WeCom's {limit} characters")
                body[field] = value
        if payload.get("remark_mobiles") is not None:
            mobiles = payload["remark_mobiles"]
            listed = [str(m).strip() for m in ([mobiles] if isinstance(mobiles, str) else mobiles)]
            listed = [m for m in listed if m]
            body["remark_mobiles"] = listed or list(CLEAR_MOBILES)  # [] would change nothing
        skipped = {}
        if "remark_company" in body and self._customer_type(payload, external_userid) != WECHAT_USER:
            # WeCom keeps remark_company for WeChat users only: sending it for a WeCom user
            # would be silently dropped and then look like a lost write forever.
            skipped["remark_company"] = body.pop("remark_company")
        if len(body) == 2:
            if skipped:
                return WriteResult(native_id=relation_id(external_userid, userid), data={"skipped": skipped})
            raise PermanentError("remark payload changes nothing")
        self.wecom.client.post("externalcontact/remark", body)
        data = {k: v for k, v in body.items()}
        if skipped:
            data["skipped"] = skipped
        return WriteResult(native_id=relation_id(external_userid, userid), data=data)

    def _customer_type(self, payload: dict[str, Any], external_userid: str) -> int | None:
        """1 (WeChat user) or 2 (WeCom user): the payload's ``customer_type`` when the mapping
        has it, else ``externalcontact/get`` (one read, only for remark_company writes)."""
        given = payload.get("customer_type")
        if given not in (None, ""):
            try:
                return int(given)
            except (TypeError, ValueError):
                raise PermanentError(f"customer_type must be 1 (WeChat) or 2 (WeCom), not {given!r}") from None
        contact = self.wecom.client.get("externalcontact/get", external_userid=external_userid).get("external_contact") or {}
        return int(contact.get("type") or 0) or None


class TagsSink(_WeComSink):
    """Payload: ``add`` / ``remove`` — tag names (``"名"`` or ``"组/名"``), ``{"id": ..}`` or
    ``{"group": .., "name": ..}``, one or a list. Keys ``add_<anything>`` / ``remove_<anything>``
    are merged in, so an outbound mapping can fill ``add_tier`` and ``add_segment`` from
    separate lookup tables. A tag both added and removed is added."""

    name = "tags"
    description = "add / remove corp tags on a relation by name (mark_tag); missing tags are created"

    @staticmethod
    def refs(payload: dict[str, Any], verb: str) -> list[Any]:
        out: list[Any] = []
        for key, value in payload.items():
            if key == verb or key.startswith(verb + "_"):
                out.extend(value if isinstance(value, list) else [value] if value not in (None, "") else [])
        return out

    def describe(self, payload: dict[str, Any]) -> str:
        """``打标签 客户等级/重要客户；移除 客户等级/普通客户`` for the timeline."""
        def names(refs: list[Any]) -> str:
            return "、".join(str(r.get("name", r.get("id"))) if isinstance(r, dict) else str(r) for r in refs)

        parts = []
        if self.refs(payload, "add"):
            parts.append(f"打标签 {names(self.refs(payload, 'add'))}")
        if self.refs(payload, "remove"):
            parts.append(f"移除 {names(self.refs(payload, 'remove'))}")
        return "；".join(parts) or "标签不变"

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        external_userid, userid = self.relation(payload, native_id)
        add_refs, remove_refs = self.refs(payload, "add"), self.refs(payload, "remove")
        for attempt in (1, 2):
            add = self.wecom.tags.resolve(add_refs, create=True)
            remove = [t for t in self.wecom.tags.resolve(remove_refs, create=False) if t not in add]
            rid = relation_id(external_userid, userid)
            if not add and not remove:
                return WriteResult(native_id=rid, data={"add_tag": [], "remove_tag": []})
            body = {"userid": userid, "external_userid": external_userid, "add_tag": add, "remove_tag": remove}
            try:
                self.wecom.client.post("externalcontact/mark_tag", body)
            except PermanentError as exc:
                if exc.code == 40068 and attempt == 1:  # a cached tag id was deleted meanwhile
                    self.wecom.tags.invalidate()
                    continue
                raise
            return WriteResult(native_id=rid, data={"add_tag": add, "remove_tag": remove})
        raise AssertionError("unreachable")


class ChannelCodesSink(_WeComSink):
    """One 联系我 code per ``state`` (the channel name customers arrive with). The first write
    creates it (add_contact_way) and keeps its config_id in durable state — codes made by the
    API never show in the admin console, so a lost config_id means an uneditable code. Later
    writes for the same state update it (update_contact_way).

    Crash safety: before creating, a "pending" marker is stored; if a retry finds it, the
    codes created since are listed (list_contact_way + get_contact_way) and one carrying our
    state is adopted instead of creating a second code."""

    name = "channel_codes"
    description = "create or update a 联系我 channel code per state (add_contact_way / update_contact_way)"
    UPDATABLE = ("remark", "skip_verify", "style", "user", "party", "expires_in", "chat_expires_in", "unionid", "conclusions")

    def _state_key(self, state: str) -> str:
        return f"channel_code:{state}"

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        state = str(payload.get("state") or "")
        if not state or len(state) > STATE_MAX:
            raise PermanentError(f"channel code state must be 1..{STATE_MAX} characters")
        users = list(payload.get("user") or [])
        parties = list(payload.get("party") or [])
        if not users and not parties:
            raise PermanentError("a channel code needs user or party")
        if len(str(payload.get("remark") or "")) > WAY_REMARK_MAX:
            raise PermanentError(f"channel code remark is longer than WeCom's {WAY_REMARK_MAX} characters")
        store = self.wecom.state
        saved = store.get(self._state_key(state)) or {}
        config_id = saved.get("config_id") or (native_id if native_id and not saved else None)
        if not config_id and "pending_since" in saved:
            config_id = self._adopt(state, int(saved["pending_since"]))
        if config_id:
            body = {"config_id": config_id, "state": state, **{k: payload[k] for k in self.UPDATABLE if k in payload}}
            self.wecom.client.post("externalcontact/update_contact_way", body)
            qr_code = saved.get("qr_code")
            store.set(self._state_key(state), {"config_id": config_id, "qr_code": qr_code})
            return WriteResult(native_id=config_id, created=False, data={"config_id": config_id, "qr_code": qr_code, "state": state})
        kind = int(payload.get("type") or (1 if len(users) == 1 and not parties else 2))
        body = {
            "type": kind,
            "scene": int(payload.get("scene") or 2),
            "state": state,
            "skip_verify": bool(payload.get("skip_verify", True)),
            **{k: payload[k] for k in self.UPDATABLE if k in payload and k not in ("skip_verify",)},
        }
        store.set(self._state_key(state), {"pending_since": int(time.time()) - 60})
        answer = self.wecom.client.post("externalcontact/add_contact_way", body)
        config_id, qr_code = answer["config_id"], answer.get("qr_code")
        store.set(self._state_key(state), {"config_id": config_id, "qr_code": qr_code})
        return WriteResult(native_id=config_id, created=True, data={"config_id": config_id, "qr_code": qr_code, "state": state})

    def _adopt(self, state: str, since: int) -> str | None:
        client, cursor = self.wecom.client, ""
        while True:
            page = client.post("externalcontact/list_contact_way", {"start_time": since, "cursor": cursor, "limit": 1000})
            for item in page.get("contact_way") or []:
                way = client.post("externalcontact/get_contact_way", {"config_id": item["config_id"]}).get("contact_way") or {}
                if way.get("state") == state:
                    return item["config_id"]
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return None


class TransfersSink(_WeComSink):
    """Hand customers from one member to another: ``resigned: true`` for departed staff
    (离职继承, resigned/transfer_customer), else in service (在职继承, transfer_customer).

    Results live in WriteResult.data (not a stream): WeCom can only report them per
    (handover, takeover) pair, which no API lists, so a stream could not discover them.
    ``customers`` holds, per customer, the errcode of the request (0 = transfer started) and
    the status from transfer_result (waiting / done / refused / takeover_limit). Writing the
    same idempotency key again re-reads the statuses without transferring again — that is how
    the hub follows a transfer through; failures also arrive as ``transfer_fail`` callbacks
    and completed takeovers show up as new relations in ``external_contacts``."""

    name = "transfers"
    description = "transfer customers between members (in service or departed) and report per-customer results"

    def _paths(self, resigned: bool) -> tuple[str, str]:
        prefix = "externalcontact/resigned/" if resigned else "externalcontact/"
        return prefix + "transfer_customer", prefix + "transfer_result"

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        handover, takeover = payload.get("handover_userid"), payload.get("takeover_userid")
        customers = payload.get("external_userid") or payload.get("external_userids") or []
        customers = [customers] if isinstance(customers, str) else list(customers)
        if not handover or not takeover or not customers:
            raise PermanentError("a transfer needs handover_userid, takeover_userid and external_userid[]")
        if len(customers) > 100:
            raise PermanentError("WeCom transfers at most 100 customers per request")
        resigned = bool(payload.get("resigned"))
        transfer_path, _ = self._paths(resigned)
        body: dict[str, Any] = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": customers}
        if not resigned and payload.get("transfer_success_msg"):
            body["transfer_success_msg"] = str(payload["transfer_success_msg"])[:200]
        answer = self.wecom.client.post(transfer_path, body)
        results = {c["external_userid"]: {"external_userid": c["external_userid"], "errcode": c.get("errcode", 0)} for c in answer.get("customer") or []}
        failed = [r for r in results.values() if r["errcode"] not in (0, ALREADY_TRANSFERRING)]
        if results and len(failed) == len(results):
            codes = sorted({r["errcode"] for r in failed})
            raise PermanentError(f"WeCom refused every customer of the transfer (errcodes {codes})", code=codes[0])
        data = {"handover_userid": handover, "takeover_userid": takeover, "resigned": resigned, "customers": list(results.values())}
        return WriteResult(native_id=f"{handover}>{takeover}", created=True, data=self._with_status(data))

    def replay(self, done: dict[str, Any], payload: dict[str, Any]) -> WriteResult:
        return WriteResult(native_id=done["native_id"], created=False, data=self._with_status(done["data"]))

    def _with_status(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add transfer_result statuses for this write's customers (follow-through)."""
        _, result_path = self._paths(bool(data.get("resigned")))
        wanted = {c["external_userid"]: dict(c) for c in data["customers"]}
        cursor = ""
        while True:
            body = {"handover_userid": data["handover_userid"], "takeover_userid": data["takeover_userid"], "cursor": cursor}
            page = self.wecom.client.post(result_path, body)
            for item in page.get("customer") or []:
                entry = wanted.get(item.get("external_userid"))
                if entry is not None:
                    entry["status"] = TRANSFER_STATUS.get(item.get("status"), str(item.get("status")))
                    entry["takeover_time"] = item.get("takeover_time") or None
            cursor = page.get("next_cursor") or ""
            if not cursor:
                break
        return {**data, "customers": list(wanted.values())}
