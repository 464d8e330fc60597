"""Messages to customers: the ``welcome`` and ``messages`` sinks and ``message_results``.

* ``welcome`` — ``externalcontact/send_welcome_msg`` (doc 92137) with the ``WelcomeCode``
  of an ``add_external_contact`` callback. WeCom accepts it only within **20 seconds** of
  the event and only **once** (later calls: 41051 "externaluser has started chatting"); no
  code comes when the member has a console-configured welcome. Text (≤ 4000 bytes) and up
  to 9 attachments (image / link / miniprogram / video / file by uploaded ``media_id``).
  The write is urgent: the webhook hands it to the hub as an
  :class:`~hub.connector.UrgentWrite`, which stores it as an outbox row with the callback's
  records and delivers it from the webhook request right after the commit (see
  docs/connectors/wecom.md, "Welcome messages").
* ``messages`` — ``externalcontact/add_msg_template`` (doc 92135) with ``chat_type:
  single``, a ``sender`` and the customers' ``external_userid`` list. WeCom creates a task
  the member confirms in the app; nothing reaches a customer before that. Each customer
  receives a limited number of corp mass messages (doc 92135; the sandbox and the default
  ``message_daily_limit`` allow one per customer per day — unverified against today's
  console, keep it configurable). The sink counts what it sent per customer and day
  (Redis, 3-day TTL) and leaves out customers at the limit; when nobody is left the write is a
  dead letter saying so. WeCom's own ``fail_list`` is reported per customer.
* ``message_results`` — ``get_groupmsg_list_v2`` → ``get_groupmsg_task`` →
  ``get_groupmsg_send_result`` (docs 93338): one record per (message, customer) with
  status 0 未发送 / 1 已发送 / 2 not a friend / 3 already received another mass message
  (LinkWeChat ``DetailMessageStatusResultDto``). A trailing-window full scan with change
  detection: statuses change for days as members confirm.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import PermanentError, ReadBatch, Record, WriteResult

from connectors.wecom.members import MemberDirectory
from connectors.wecom.scan import ChangeDetectingScan, Page, ScanContext
from connectors.wecom.sinks import _WeComSink
from connectors.wecom.streams import _ScanStream, relation_id

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

CHINA = timezone(timedelta(hours=8))
WELCOME_TEXT_BYTES = 4000
MAX_ATTACHMENTS = 9
ATTACHMENT_TYPES = ("image", "link", "miniprogram", "video", "file")
#: send_welcome_msg: the code was used (by us or another app) or the customer spoke first.
WELCOME_USED = 41051
#: add_msg_template: no customer of the request can receive it (sandbox; unverified code).
NO_RECEIVER = 41048
MAX_RECEIVERS = 10000
SEND_STATUS = {0: "未发送", 1: "已发送", 2: "客户不是好友，发送失败", 3: "客户已收到其他群发消息，发送失败"}


def attachments_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """``attachments`` as WeCom wants them, plus the shorthands ``image_media_id`` and
    ``link: {title, url, picurl, desc}``. Media are ids uploaded beforehand (media/upload)."""
    out: list[dict[str, Any]] = []
    for item in payload.get("attachments") or []:
        if not isinstance(item, dict) or item.get("msgtype") not in ATTACHMENT_TYPES or not isinstance(item.get(item.get("msgtype")), dict):
            raise PermanentError(f"attachment {item!r} must be {{msgtype: one of {', '.join(ATTACHMENT_TYPES)}, <msgtype>: {{…}}}}")
        out.append(item)
    if payload.get("image_media_id"):
        out.append({"msgtype": "image", "image": {"media_id": str(payload["image_media_id"])}})
    link = payload.get("link")
    if isinstance(link, dict) and link.get("url"):
        out.append({"msgtype": "link", "link": {k: str(v) for k, v in link.items() if k in ("title", "url", "picurl", "desc") and v}})
    if len(out) > MAX_ATTACHMENTS:
        raise PermanentError(f"WeCom takes at most {MAX_ATTACHMENTS} attachments, got {len(out)}")
    return out


def _text(payload: dict[str, Any]) -> str | None:
    text = payload.get("text")
    if isinstance(text, dict):
        text = text.get("content")
    return str(text) if text not in (None, "") else None


class WelcomeSink(_WeComSink):
    name = "welcome"
    sends_message = True
    description = "send the welcome message for a new customer with the callback's WelcomeCode (send_welcome_msg, 20 s window)"

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        code = str(payload.get("welcome_code") or "")
        if not code:
            raise PermanentError("a welcome needs welcome_code (from the add_external_contact callback)")
        text = _text(payload)
        attachments = attachments_of(payload)
        if not text and not attachments:
            raise PermanentError("a welcome needs text or attachments")
        if text and len(text.encode()) > WELCOME_TEXT_BYTES:
            raise PermanentError(f"welcome text is longer than WeCom's {WELCOME_TEXT_BYTES} bytes")
        body: dict[str, Any] = {"welcome_code": code}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = attachments
        try:
            self.wecom.client.post("externalcontact/send_welcome_msg", body)
        except PermanentError as exc:
            if exc.code == WELCOME_USED:
                raise PermanentError("WeCom refused the welcome (41051): the code was already used — by this hub or another "
                                     "app that received the same callback — or the customer has started chatting", code=exc.code) from None
            raise
        ext, userid = payload.get("external_userid"), payload.get("userid")
        target = relation_id(ext, userid) if ext and userid else code
        return WriteResult(native_id=target, created=True, data={"welcome_code": code, "attachments": len(attachments)})


class MessagesSink(_WeComSink):
    name = "messages"
    sends_message = True
    description = "create a mass message (群发 / SOP push) a member confirms: add_msg_template, chat_type single"

    def _quota_key(self, day: str, ext: str) -> str:
        return f"msgquota:{day}:{ext}"

    def _received(self, day: str, ext: str) -> int:
        """Mass messages this sink sent ``ext`` on ``day`` (Redis with a TTL when the hub runs
        one — a count per customer and day must not pile up in SQL — else durable state)."""
        cache, key = self.wecom.cache, f"hub:wecom:{self.wecom.config['corp_id']}:{self._quota_key(day, ext)}"
        if cache is not None:
            return int(cache.get(key) or 0)
        return int(self.wecom.state.get(self._quota_key(day, ext)) or 0)

    def _count(self, day: str, ext: str) -> None:
        cache, key = self.wecom.cache, f"hub:wecom:{self.wecom.config['corp_id']}:{self._quota_key(day, ext)}"
        if cache is not None:
            cache.incr(key)
            cache.expire(key, 3 * 86400)
        else:
            self.wecom.state.set(self._quota_key(day, ext), self._received(day, ext) + 1)

    def apply(self, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        sender = str(payload.get("sender") or payload.get("userid") or "")
        customers = payload.get("external_userid") or payload.get("external_userids") or []
        customers = list(dict.fromkeys([customers] if isinstance(customers, str) else customers))
        if not sender or not customers:
            raise PermanentError("a mass message needs sender and external_userid[]")
        if len(customers) > MAX_RECEIVERS:
            raise PermanentError(f"WeCom takes at most {MAX_RECEIVERS} customers per mass message")
        text = _text(payload)
        attachments = attachments_of(payload)
        if not text and not attachments:
            raise PermanentError("a mass message needs text or attachments")
        limit = int(self.wecom.config.get("message_daily_limit") or 1)
        day = datetime.now(CHINA).strftime("%Y%m%d")
        at_limit = [c for c in customers if self._received(day, c) >= limit]
        receivers = [c for c in customers if c not in at_limit]
        if not receivers:
            raise PermanentError(f"per-customer receive limit: {', '.join(at_limit[:5])} already received {limit} mass "
                                 f"message(s) today (China time); WeCom would not deliver another — send tomorrow")
        body: dict[str, Any] = {"chat_type": "single", "external_userid": receivers, "sender": sender}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = attachments
        try:
            answer = self.wecom.client.post("externalcontact/add_msg_template", body)
        except PermanentError as exc:
            if exc.code == NO_RECEIVER:
                raise PermanentError(f"WeCom {exc.code}: no customer of this message can receive it — not a friend of "
                                     f"{sender}, or at the per-customer receive limit", code=exc.code) from None
            raise
        failed = list(answer.get("fail_list") or [])
        for ext in receivers:
            if ext not in failed:
                self._count(day, ext)
        data = {"msgid": answer.get("msgid"), "sender": sender, "sent_to": [c for c in receivers if c not in failed],
                "not_sent": {**{c: "receive_limit" for c in at_limit}, **{c: "wecom_fail_list" for c in failed}}}
        return WriteResult(native_id=answer.get("msgid"), created=True, data=data)


class MessageResultsStream(_ScanStream):
    name = "message_results"
    primary_key = "msgid:external_userid"
    description = "per-customer results of mass messages (get_groupmsg_list_v2 / get_groupmsg_task / get_groupmsg_send_result)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        return ChangeDetectingScan(self.connector.state, self.name).run(cursor, self._pages)

    def _pages(self, position: Any, context: ScanContext) -> Iterator[Page]:
        client, directory = self.wecom.client, MemberDirectory(self.wecom)
        if context.fresh:
            end = int(datetime.now(timezone.utc).timestamp())
            days = int(self.wecom.config.get("message_results_days") or 7)
            context.values.update(start=end - days * 86400, end=end)
        start, end = context.values["start"], context.values["end"]
        api_cursor = (position or {}).get("cursor", "")
        while True:
            answer = client.post("externalcontact/get_groupmsg_list_v2",
                                 {"chat_type": "single", "start_time": start, "end_time": end, "limit": 100, "cursor": api_cursor})
            records: list[Record] = []
            for message in answer.get("group_msg_list") or []:
                records.extend(self._results(message, directory))
            api_cursor = answer.get("next_cursor") or ""
            yield Page(records, {"cursor": api_cursor} if api_cursor else None)
            if not api_cursor:
                return

    def _paged(self, path: str, body: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        cursor = ""
        while True:
            answer = self.wecom.client.post(path, {**body, "limit": 1000, "cursor": cursor})
            yield from answer.get(key) or []
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return

    def _results(self, message: dict[str, Any], directory: MemberDirectory) -> list[Record]:
        msgid = message.get("msgid") or ""
        text = str((message.get("text") or {}).get("content") or "")
        out = []
        for task in self._paged("externalcontact/get_groupmsg_task", {"msgid": msgid}, "task_list"):
            userid = task.get("userid") or ""
            for result in self._paged("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": userid}, "send_list"):
                ext = result.get("external_userid")
                if not ext:
                    continue  # a customer-group result
                status = int(result.get("status") or 0)
                data = {"msgid": msgid, "external_userid": ext, "userid": userid, "member_name": directory.name(userid),
                        "status": status, "status_label": SEND_STATUS.get(status, str(status)), "sent": status == 1,
                        "send_time": result.get("send_time") or None, "create_time": message.get("create_time"),
                        "create_type": message.get("create_type"), "text": text[:200]}
                out.append(Record(native_id=f"{msgid}:{ext}", data={k: v for k, v in data.items() if v is not None},
                                  updated_at=datetime.now(timezone.utc)))
        return out
