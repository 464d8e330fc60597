"""The scripted demo day: yesterday at a small education company, through the real hub.

The remote systems are the connectors' sandboxes in the web process; the script plays their
users through the control endpoint (:mod:`hub.demo.control`) and the CRM's staff through
plain SQL on the sample CRM. The hub does the rest exactly as in production: pull jobs on
the worker, webhooks at ``/webhooks/<instance>``, identity resolution, outbox deliveries.

Every step is explicit and waits on SQL state — the pull's ``runs`` row finished, no inbox
row pending, no outbox row pending or being sent — and fails with a clear message when
something does not settle or lands in the dead letters. The day is *yesterday* (China
time): every call has ended and every lead is inside the connectors' first read windows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import requests
from sqlalchemy import func, select

from hub.demo import automations as steps, crm
from hub.demo.control import SandboxControl
from hub.runtime import Runtime
from hub.store.models import Contact, Event, InboxRow, OutboxRow, Run

CHINA = timezone(timedelta(hours=8))
STEP_TIMEOUT = 45.0

#: Instance names in config/demo.yaml.
CRM, FEIYU, CLINK, UDESK, WECOM = "crm", "feiyu_ads", "cc_400", "udesk_main", "wecom_sales"


class DemoFailed(RuntimeError):
    """A step did not do what the script expects; the message says which and why."""


@dataclass(frozen=True)
class Person:
    name: str
    mobile: str
    gender: int  # Feiyu's: 1 男, 2 女
    province: str
    city: str

    @property
    def e164(self) -> str:
        return "+86" + self.mobile


#: The customer the demo follows through every system.
SAMPLE = Person("林晓雯", "13912345678", 2, "浙江省", "杭州市")
WANG = Person("王磊", "13706521184", 1, "江苏省", "南京市")
CHEN = Person("陈思琪", "15857123390", 2, "浙江省", "宁波市")
ZHAO = Person("赵宇轩", "18621347765", 1, "上海市", "上海市")
ZHOU = Person("周梓萱", "13958260417", 2, "浙江省", "杭州市")
PEOPLE = (SAMPLE, WANG, CHEN, ZHAO, ZHOU)

LEADS = [  # (time, person, lead form)
    ("09:05", SAMPLE, "少儿编程体验课-预约表单"),
    ("09:12", WANG, "成人英语-免费测评"),
    ("09:26", CHEN, "少儿编程体验课-预约表单"),
    ("09:31", ZHAO, "在线咨询-预约到店"),
    ("09:48", ZHOU, "表单-领取优惠券"),
]
CALLS = [  # (time, direction, person or raw number, answered, talk seconds, agent 工号)
    ("09:36", "outbound", SAMPLE, False, 0, "0102"),
    ("09:40", "outbound", WANG, True, 240, "0101"),
    ("09:52", "outbound", CHEN, True, 95, "0103"),
    ("10:05", "outbound", ZHAO, False, 0, "0104"),
    ("10:12", "outbound", SAMPLE, True, 372, "0102"),
    ("10:18", "inbound", "02158836612", True, 64, "0105"),
    ("10:30", "outbound", ZHOU, True, 150, "0105"),
    ("10:47", "inbound", "18817263540", False, 0, "0201"),
]
CHANNEL_STATE = "feiyu_kids_coding"
SERVICE_GROUP = "少儿编程体验课服务群"  # a customer group (客户群) owned by 王五
FRIENDS = [("11:02", SAMPLE), ("11:40", CHEN)]  # add 张三 through the channel code


def _clock(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%H:%M")


class Day:
    """Yesterday, China time."""

    def __init__(self, today: date | None = None) -> None:
        self.date = (today or datetime.now(CHINA).date()) - timedelta(days=1)

    def at(self, hhmm: str) -> datetime:
        hour, minute = map(int, hhmm.split(":"))
        return datetime(self.date.year, self.date.month, self.date.day, hour, minute, tzinfo=CHINA)


class Hub:
    """The demo's view of the hub: enqueue pulls, wait for the pipeline to settle, count."""

    def __init__(self, runtime: Runtime, timeout: float = STEP_TIMEOUT) -> None:
        self.runtime = runtime
        self.timeout = timeout
        with runtime.db.session() as s:
            self.first_inbox = s.scalar(select(func.coalesce(func.max(InboxRow.id), 0)))
            self.first_outbox = s.scalar(select(func.coalesce(func.max(OutboxRow.id), 0)))

    def scalar(self, stmt):
        with self.runtime.db.session() as s:
            return s.scalar(stmt)

    def last_id(self, model) -> int:
        return self.scalar(select(func.coalesce(func.max(model.id), 0)))

    def contacts(self) -> int:
        return self.scalar(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None)))

    def events_since(self, event_id: int) -> list[Event]:
        with self.runtime.db.session() as s:
            return list(s.scalars(select(Event).where(Event.id > event_id).order_by(Event.id)))

    def pull(self, instance: str, *streams: str, step: str) -> list[Run]:
        """Enqueue a pull of each stream on the worker and wait until it and everything it
        caused (processing, deliveries) is done."""
        from hub.pipeline.jobs import enqueue_pull

        mark = self.last_id(Run)
        for stream in streams:
            enqueue_pull(self.runtime, instance, stream)
        return self.wait_pulls(instance, streams, mark, step=step)

    def wait_pulls(self, instance: str, streams: tuple[str, ...], mark: int, *, step: str) -> list[Run]:
        """Wait for a pull of each stream started after run ``mark`` (queued by us or by the
        hub itself, e.g. after a push that carried only an id) and what it caused."""
        deadline = time.monotonic() + self.timeout
        while True:
            with self.runtime.db.session() as s:
                runs = list(s.scalars(select(Run).where(Run.id > mark, Run.connector == instance, Run.kind == "pull",
                                                        Run.stream.in_(streams), Run.status != "running")))
                s.expunge_all()
            if {r.stream for r in runs} >= set(streams):
                break
            if time.monotonic() > deadline:
                raise DemoFailed(f"{step}: the worker did not finish pulling {instance} ({', '.join(streams)}) within "
                                 f"{self.timeout:.0f} s — is it running? See var/demo/worker.log")
            time.sleep(0.15)
        for run in runs:
            if run.status != "succeeded":
                raise DemoFailed(f"{step}: pull {instance}.{run.stream} failed: {run.error}")
        self.settle(step)
        return runs

    def settle(self, step: str) -> None:
        """Wait until no inbox row is pending and no outbox row is pending or being sent;
        then fail if anything was rejected or dead-lettered since the demo started."""
        deadline = time.monotonic() + self.timeout
        while True:
            with self.runtime.db.session() as s:
                inbox = s.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.status == "pending"))
                outbox = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(("pending", "sending"))))
                error = s.scalar(select(OutboxRow.last_error).where(OutboxRow.last_error.is_not(None)).order_by(OutboxRow.id.desc()))
            if not inbox and not outbox:
                break
            if time.monotonic() > deadline:
                raise DemoFailed(f"{step}: did not settle within {self.timeout:.0f} s: {inbox} inbox row(s) waiting to be "
                                 f"processed, {outbox} outbox row(s) waiting for delivery"
                                 + (f" (last delivery error: {error})" if error else "")
                                 + ". See var/demo/worker.log")
            time.sleep(0.15)
        with self.runtime.db.session() as s:
            rejected = s.execute(select(InboxRow.connector, InboxRow.stream, InboxRow.native_id, InboxRow.error)
                                 .where(InboxRow.id > self.first_inbox, InboxRow.status == "rejected")).all()
            dead = s.execute(select(OutboxRow.connector, OutboxRow.sink, OutboxRow.contact_id, OutboxRow.last_error)
                             .where(OutboxRow.id > self.first_outbox, OutboxRow.status == "dead")).all()
        problems = [f"inbox {c}.{st} {n}: {e}" for c, st, n, e in rejected] + \
                   [f"outbox {c}.{sk} contact {cid}: {e}" for c, sk, cid, e in dead]
        if problems:
            raise DemoFailed(f"{step}: {len(problems)} dead letter(s) (hub dlq list):\n  " + "\n  ".join(problems[:10]))


def _contact_of(runtime: Runtime, identity: str) -> int | None:
    from hub.contacts.queries import find_contact

    with runtime.db.session() as s:
        return find_contact(s, runtime.rules, identity)


def crm_database(runtime: Runtime) -> Path:
    """The sample CRM's file, from the ``crm`` instance's ``sqlite:///`` URL."""
    url = runtime.config.connectors[CRM].config["url"]
    if not url.startswith("sqlite:///"):
        raise DemoFailed(f"the demo's CRM must be a SQLite file (sqlite:///…), not {url.split(':')[0]}")
    return Path(url.removeprefix("sqlite:///"))


def play(runtime: Runtime, base_url: str, echo: Callable[[str], None] = print) -> dict:
    """Play the day; return what the closing summary needs. Raises :class:`DemoFailed`."""
    control = SandboxControl(base_url)
    hub = Hub(runtime)
    day = Day()
    crm_path = crm_database(runtime)
    wecom_cfg = runtime.config.connectors[WECOM].config
    control.wecom.use_credentials(corp_id=wecom_cfg["corp_id"], secret=wecom_cfg["secret"],
                                  encoding_aes_key=wecom_cfg["encoding_aes_key"], callback_token=wecom_cfg["callback_token"])
    # The admin uploaded the chat archive's public key (会话内容存档 → 消息加密公钥), version 1.
    from connectors.wecom.archive.keys import public_pem

    control.wecom.archive_key(version=1, public_pem=public_pem(wecom_cfg["archive_private_keys"]["1"]))
    scene = steps.Scene(runtime, control, hub, day, crm_path, echo)
    echo(f"\n剧本：{day.date:%Y-%m-%d}（昨天）一家少儿编程 / 英语培训机构的一天\n")

    # 08:00 — the operator approves the day's automations (they start in preview).
    steps.approve_all(scene)

    # 08:30 — the CRM's customers come in.
    step = "08:30 CRM"
    hub.pull(CRM, "rows", step=step)
    tiers = crm.tier_counts(crm_path)
    echo(f"08:30  CRM      客户库 {sum(tiers.values()):,} 位客户（" + " · ".join(f"{t} {n}" for t, n in tiers.items())
         + f"）→ 汇流 {hub.contacts():,} 个联系人")

    # 09:05 — Feiyu leads; the CRM gets a row for each new one.
    step = "09:05 飞鱼线索"
    crm_before = crm.max_id(crm_path)
    contacts_before = hub.contacts()
    for hhmm, person, form in LEADS:
        lead = control.feiyu.new_lead(created=day.at(hhmm).isoformat(), telephone=person.mobile, name=person.name,
                                      gender=person.gender, province_name=person.province, city_name=person.city,
                                      module_name=form)
        # Feiyu's lead-push rule posts it at once (id/telphone/create_time, Signature/Timestamp/Access-Token).
        answer = control.feiyu.push_lead(clue_id=lead["clue_id"], url=f"{base_url}/webhooks/{FEIYU}",
                                         token=runtime.config.connectors[FEIYU].config["push_token"])
        if answer["status"] != 200:
            raise DemoFailed(f"{step}: the hub refused Feiyu's signed lead push: {answer}")
    hub.settle(step)
    hub.pull(FEIYU, "leads", step=step)  # the pull reconciles what was pushed: same leads, nothing new
    hub.pull(CRM, "rows", step=step)  # the rows the hub just wrote come back with their CRM ids
    new_rows = crm.rows_since(crm_path, crm_before)
    ids = [r["id"] for r in new_rows]
    echo(f"{LEADS[0][0]}  飞鱼     {len(LEADS)} 条新线索推送（验签）+ 拉取核对（{'、'.join(p.name for _, p, _ in LEADS)}）→ {hub.contacts() - contacts_before} 个新联系人"
         f" → CRM 新增 {len(new_rows)} 行" + (f"（id {ids[0]}–{ids[-1]}）" if ids else ""))
    if len(new_rows) != len(LEADS):
        raise DemoFailed(f"{step}: expected {len(LEADS)} new CRM rows, found {len(new_rows)}")

    # 09:36 — agents call the leads; two calls reach the 400 line.
    step = "09:36 呼叫中心"
    mark = hub.last_id(Event)
    for hhmm, direction, who, answered, talk, agent in CALLS:
        number = who.mobile if isinstance(who, Person) else who
        where = {"province": who.province.rstrip("省市"), "city": who.city.rstrip("市")} if isinstance(who, Person) else {}
        call = control.clink.new_call(direction=direction, customer_number=number, start=day.at(hhmm).isoformat(),
                                      answered=answered, talk_seconds=talk, agent=agent, **where)
        # Clink's hang-up push: unsigned cdr_* form fields to a URL carrying the instance's secret token.
        answer = control.clink.push_hangup(unique_id=call["uniqueId"], url=f"{base_url}/webhooks/{CLINK}",
                                           token=runtime.config.connectors[CLINK].config["push_token"])
        if answer["status"] != 200:
            raise DemoFailed(f"{step}: the hub refused Clink's hang-up push: {answer}")
    hub.settle(step)
    hub.pull(CLINK, "cdr_outbound", "cdr_inbound", step=step)  # reconciles the pushes (province, city, recording)
    events = [e for e in hub.events_since(mark) if e.kind == "call" and e.connector == CLINK]
    leads = {_contact_of(runtime, f"phone:{p.e164}") for p in PEOPLE}
    outbound = [c for c in CALLS if c[1] == "outbound"]
    echo(f"{CALLS[0][0]}  呼叫中心 坐席外呼 {len(outbound)} 通（接通 {sum(1 for c in outbound if c[3])}）、400 呼入 "
         f"{len(CALLS) - len(outbound)} 通 → {len(events)} 条通话记录，{sum(1 for e in events if e.contact_id in leads)} 条按手机号"
         f"归入线索联系人")
    if len(events) != len(CALLS):
        raise DemoFailed(f"{step}: expected {len(CALLS)} call events, found {len(events)}")

    # 11:02 — leads add sales 张三 on WeCom through the channel code; WeCom calls back.
    step = "11:02 企业微信"
    code = control.wecom.add_channel_code(state=CHANNEL_STATE, user=["zhangsan"], remark="飞鱼线索加微（少儿编程）")
    relations = scene.relations
    callback_url = f"{base_url}/webhooks/{WECOM}"
    for hhmm, person in FRIENDS:
        added = control.wecom.add_friend(name=person.name, state=CHANNEL_STATE, remark_mobiles=[person.mobile],
                                         remark=f"{person.name}-飞鱼线索", gender=person.gender, at=day.at(hhmm).isoformat(),
                                         callback_url=callback_url)
        relations[person.mobile] = added["relation"]
        answer = added.get("callback") or {}
        if answer.get("status") != 200:
            raise DemoFailed(f"{step}: the hub refused WeCom's add_external_contact callback: {answer}")
    hub.settle(step)
    sample_before_scan = _contact_of(runtime, f"phone:{SAMPLE.e164}")
    # The door read each new friend in full (externalcontact/get) with the callback, so the
    # remark mobile already put the WeCom customer on the lead's contact.
    joined = sum(1 for _, p in FRIENDS if _contact_of(runtime, f"wecom_external_userid:{relations[p.mobile].partition(':')[0]}")
                 == _contact_of(runtime, f"phone:{p.e164}"))
    echo(f"{FRIENDS[0][0]}  企业微信 {len(FRIENDS)} 位线索扫渠道活码（state={code['state']}）加了销售张三 → "
         f"加好友回调验签、解密后即时读取客户详情 → 按备注手机号归入线索 {joined} 位（/webhooks/{WECOM}）")
    if joined != len(FRIENDS):
        raise DemoFailed(f"{step}: only {joined} of {len(FRIENDS)} new WeCom friends joined their lead by remark mobile at the callback")
    welcome_text = runtime.config.lookups["wecom_welcome_by_state"][CHANNEL_STATE]
    welcomes = [w for w in control.wecom.effects(sink="welcome") if w["text"] == welcome_text]
    echo(f"{FRIENDS[0][0]}  企业微信 渠道活码的欢迎语随回调即时发出 {len(welcomes)} 条（WelcomeCode 20 秒有效，不排队）："
         f"「{welcome_text[:18]}…」")
    if len(welcomes) != len(FRIENDS):
        raise DemoFailed(f"{step}: expected {len(FRIENDS)} welcome messages for channel {CHANNEL_STATE}, WeCom got {len(welcomes)}")
    step = "11:45 企业微信扫描"
    merged_before = hub.scalar(select(func.count()).select_from(Contact).where(Contact.merged_into.is_not(None)))
    runs = hub.pull(WECOM, "external_contacts", step=step)
    merged = hub.scalar(select(func.count()).select_from(Contact).where(Contact.merged_into.is_not(None))) - merged_before
    echo(f"11:45  企业微信 定时扫描读到 {runs[0].counts.get('read', 0)} 段客户关系 → 按备注手机号合并 {merged} 位"
         f"（企业微信客户 = 飞鱼线索 = CRM 客户）")
    if _contact_of(runtime, f"wecom_external_userid:{relations[SAMPLE.mobile].partition(':')[0]}") != sample_before_scan:
        raise DemoFailed(f"{step}: {SAMPLE.name}'s WeCom customer was not merged into her lead's contact by remark mobile")

    # 12:10 — she joins the service group; 12:15 she says 太贵了 there (会话内容存档).
    step = "12:10 客户群"
    sample_ext = relations[SAMPLE.mobile].partition(":")[0]
    group = control.wecom.add_group(name=SERVICE_GROUP, owner="wangwu", at=day.at("09:00").isoformat())
    joined = control.wecom.join_group(group=group["chat_id"], external_userid=sample_ext, scene=3,
                                      at=day.at("12:10").isoformat(), callback_url=callback_url)
    if (joined.get("callback") or {}).get("status") != 200:
        raise DemoFailed(f"{step}: the hub refused WeCom's change_external_chat callback: {joined.get('callback')}")
    hub.settle(step)
    echo(f"12:10  企业微信 {SAMPLE.name}扫码加入客户群「{SERVICE_GROUP}」→ 客户群变更回调 → group_joined")
    step = "12:15 会话存档"
    control.wecom.send_chat(sender=sample_ext, text="太贵了", group=SERVICE_GROUP, at=day.at("12:15").isoformat())
    mark = hub.last_id(Event)
    runs = hub.pull(WECOM, "chat_messages", step=step)
    chats = [e for e in hub.events_since(mark) if e.kind == "chat_message" and e.contact_id == sample_before_scan]
    echo(f"12:15  企业微信 会话存档拉取 {runs[0].counts.get('read', 0)} 条消息（RSA 解密 encrypt_random_key）→ "
         f"{SAMPLE.name}的聊天：" + "；".join(e.summary for e in chats))
    if not any((e.data or {}).get("text") == "太贵了" for e in chats):
        raise DemoFailed(f"{step}: {SAMPLE.name}'s 太贵了 in {SERVICE_GROUP} is not on her timeline: {[e.summary for e in chats]}")
    # 12:16 — the keyword rule tagged her 价格异议 while the chat was processed, in WeCom too.
    steps.keyword_tag(scene, SAMPLE)

    # 14:20 — tickets opened in Udesk; 15:05 / 16:10 worked on.
    step = "14:20 Udesk"
    ticket = control.udesk.open_ticket(cellphone=SAMPLE.mobile, name=SAMPLE.name, subject="体验课改约",
                                       content=f"{SAMPLE.name}在企业微信咨询：体验课想改到周六上午，请确认排课。",
                                       at=day.at("14:20").isoformat(), platform="微信", priority="高")
    control.udesk.open_ticket(cellphone=WANG.mobile, name=WANG.name, subject="测评报告没收到",
                              content=f"{WANG.name}来电：免费测评的报告还没收到。", at=day.at("14:50").isoformat(), platform="电话")
    hub.pull(UDESK, "tickets", step=step)
    echo(f"14:20  Udesk    客服开了 2 张工单（#{ticket['id']} {SAMPLE.name}「体验课改约」，来自企业微信）→ ticket_opened")
    for hhmm, status, label in (("15:05", "solving", "解决中"), ("16:10", "solved", "已解决")):
        step = f"{hhmm} Udesk"
        control.udesk.update_ticket(ticket_id=ticket["id"], status=status, at=day.at(hhmm).isoformat())
        # The ticket trigger posts only {"ticket_id"}: the hub queues a tickets pull itself.
        mark = hub.last_id(Run)
        answer = control.udesk.push_trigger(ticket_id=ticket["id"], url=f"{base_url}/webhooks/{UDESK}",
                                            token=runtime.config.connectors[UDESK].config["webhook_token"])
        if answer["status"] != 200:
            raise DemoFailed(f"{step}: the hub refused Udesk's ticket-trigger push: {answer}")
        hub.wait_pulls(UDESK, ("tickets",), mark, step=step)
        echo(f"{hhmm}  Udesk    工单 #{ticket['id']} → {label} → 触发器推送工单号 → 汇流即时拉取 → ticket_updated")

    # 16:30 — she pays for the course: the CRM upgrades her; two other customers change tier.
    step = "16:30 CRM 等级"
    others = crm.customers_where(crm_path, "银卡", 1) + crm.customers_where(crm_path, "普通会员", 1)
    crm.set_tier(crm_path, SAMPLE.mobile, "金卡")
    for row, tier in zip(others, ("金卡", "银卡")):
        crm.set_tier(crm_path, row["phone"], tier)
    tags_before = len(control.wecom.effects(sink="tags"))
    hub.pull(CRM, "rows", step=step)
    tag_writes = control.wecom.effects(sink="tags")[tags_before:]
    sample_tags = control.wecom.relation_tags(relation=relations[SAMPLE.mobile])
    echo(f"16:30  CRM      {1 + len(others)} 位客户等级调整（{SAMPLE.name} 普通会员 → 金卡）→ 企业微信打标签 {len(tag_writes)} 次："
         f"{SAMPLE.name} 现有标签 {'、'.join(sample_tags) or '（无）'}")
    if "客户等级/重要客户" not in sample_tags:
        raise DemoFailed(f"{step}: the tier change did not reach WeCom as the tag 客户等级/重要客户 (tags: {sample_tags})")

    # 16:45 — 陈思琪 booked a trial class: sales sets her CRM stage; the SOP journey takes over.
    steps.sop(scene, "16:45", CHEN, "要求试用")

    # 16:50 — sales 李四 leaves: his customers go to his manager 张三 (离职继承).
    steps.departure(scene, "16:50", "lisi", callback_url)

    # 17:00 — forged pushes are refused and store nothing.
    step = "17:00 安全"
    inbox_before = hub.last_id(InboxRow)
    refused = _forged_pushes(base_url)
    hub.settle(step)
    stored = hub.last_id(InboxRow) - inbox_before
    echo("17:00  安全     伪造的推送全部被拒：" + "；".join(f"{who} {status} {text}" for who, status, text in refused)
         + f" → 收件箱新增 {stored} 行")
    if stored or any(status < 400 for _, status, _ in refused):
        raise DemoFailed(f"{step}: a forged push was accepted: {refused}")

    return {"sample": SAMPLE, "relation": relations[SAMPLE.mobile], "day": day.date}


def _forged_pushes(base_url: str) -> list[tuple[str, int, str]]:
    """Pushes with a wrong signature or token, one per connector with a webhook."""
    now = str(int(time.time()))
    tries = [
        ("企业微信", "POST", f"/webhooks/{WECOM}", {"msg_signature": "0" * 40, "timestamp": now, "nonce": "1234567890"},
         {"Content-Type": "text/xml"}, b"<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"),
        ("飞鱼", "POST", f"/webhooks/{FEIYU}", {}, {"Content-Type": "application/json", "Access-Token": "wrong-token",
                                                 "Timestamp": now, "Signature": "AAAA"},
         b'{"id": 7301234567000000001, "telphone": "13900000001", "create_time": ' + now.encode() + b'}'),
        ("天润", "POST", f"/webhooks/{CLINK}", {}, {"Content-Type": "application/json", "X-Hub-Timestamp": now,
                                                   "X-Hub-Signature": "0" * 64}, b'{"cdr_id": "x"}'),
        ("天润挂机", "POST", f"/webhooks/{CLINK}", {"token": "wrong-token"}, {"Content-Type": "application/x-www-form-urlencoded"},
         b"cdr_main_unique_id=x&cdr_customer_number=13900000001&cdr_call_type=1"),
        ("Udesk", "POST", f"/webhooks/{UDESK}", {"token": "wrong-token"}, {"Content-Type": "application/json"},
         b'{"action": "Customer_update", "message": {"id": 1, "cellphones": [{"id": 1, "content": "13900000001"}]}}'),
    ]
    out = []
    for who, method, path, params, headers, body in tries:
        resp = requests.request(method, base_url + path, params=params, headers=headers, data=body, timeout=10)
        out.append((who, resp.status_code, resp.text.strip().splitlines()[0][:40] if resp.text.strip() else ""))
    return out


def sample_history(runtime: Runtime) -> tuple[int, list]:
    """The sample customer's contact id and timeline, oldest first."""
    from hub.contacts.queries import history

    cid = _contact_of(runtime, f"phone:{SAMPLE.e164}")
    if cid is None:
        raise DemoFailed(f"no contact holds phone:{SAMPLE.e164}")
    with runtime.db.session() as s:
        page = history(s, cid, limit=200)
    return cid, list(reversed(page.events))


def verify_history(events: list) -> None:
    """Under one contact, in time order: the lead (feiyu), calls (clink), the WeCom friend
    add, joining the service group, the ticket opened and updated (udesk); and her chats:
    the channel code's welcome (out) and 太贵了 (in)."""
    kinds = [(e.kind, e.connector) for e in events]
    expected = [("lead_created", FEIYU), ("call", CLINK), ("wecom_friend_added", WECOM), ("group_joined", WECOM),
                ("ticket_opened", UDESK), ("ticket_updated", UDESK)]
    chats = [e for e in events if e.kind == "chat_message" and e.connector == WECOM]
    if not any((e.data or {}).get("direction") == "out" for e in chats) or not any((e.data or {}).get("text") == "太贵了" for e in chats):
        raise DemoFailed(f"{SAMPLE.name}'s history lacks the welcome message or her 太贵了: {[e.summary for e in chats]}")
    missing = [k for k, c in expected if (k, c) not in kinds]
    if missing:
        raise DemoFailed(f"{SAMPLE.name}'s history lacks {', '.join(missing)}: {kinds}")
    first = {k: kinds.index((k, c)) for k, c in expected}
    last = {k: len(kinds) - 1 - kinds[::-1].index((k, c)) for k, c in expected}
    order = [k for k, _ in expected]
    for earlier, later in zip(order, order[1:]):
        if last[earlier] > first[later]:
            raise DemoFailed(f"{SAMPLE.name}'s history is out of order: {earlier} after {later}: {kinds}")
    times = [e.occurred_at for e in events]
    if times != sorted(times):
        raise DemoFailed(f"{SAMPLE.name}'s history is not in time order")
