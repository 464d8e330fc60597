"""The demo day's automation steps (issue 19, docs/automations.md): the operator approves
the automations of config/demo.yaml, a keyword in a customer's chat becomes a WeCom tag, a
CRM stage change enrolls a lead in an SOP journey whose first step is a WeCom mass message,
and a member who leaves has their customers handed to their manager (离职继承).

Each step is a function of the running day (:class:`Scene`): it plays the remote systems'
users, waits on SQL state like the rest of :mod:`hub.demo.script`, prints its one line and
checks the effect where it lands — in the WeCom sandbox, not only in the hub's own tables.
Another step is one more function here and one more call in ``script.play``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select

from hub.runtime import Runtime
from hub.store.models import AutomationAction, ContactTag, JourneyEnrollment

#: Automation names in config/demo.yaml.
SOP, KEYWORDS, DEPARTURE = "trial_sop", "price_objection_tag", "departure"


@dataclass
class Scene:
    """What every step of the day works with (built once in ``script.play``)."""

    runtime: Runtime
    control: Any  # hub.demo.control.SandboxControl
    hub: Any  # hub.demo.script.Hub
    day: Any  # hub.demo.script.Day
    crm_path: Path
    echo: Callable[[str], None]
    #: national mobile → WeCom relation id ``ext:userid``, filled by the 11:02 step.
    relations: dict[str, str] = field(default_factory=dict)

    def contact(self, identity: str) -> int | None:
        from hub.demo.script import _contact_of

        return _contact_of(self.runtime, identity)

    def ledger(self, automation: str, contact_id: int | None) -> list[AutomationAction]:
        """What ``automation`` did for ``contact_id`` (``automation_actions``), oldest first."""
        with self.runtime.db.session() as s:
            rows = list(s.scalars(select(AutomationAction).where(AutomationAction.automation == automation,
                                                                 AutomationAction.contact_id == contact_id)
                                  .order_by(AutomationAction.id)))
            s.expunge_all()
        return rows


def approve_all(scene: Scene) -> None:
    """08:00 — the operator takes the demo's automations live (they start in preview)."""
    from hub.automations.control import approve

    autos = scene.runtime.config.automations.automations
    for name in autos:
        approve(scene.runtime, name, actor="demo")
    # Names only: each automation's own line carries its marker (SOP, 关键词, …) once.
    scene.echo(f"08:00  自动化   运营审核后上线 {len(autos)} 条自动化：{'、'.join(autos)}（新建的自动化先是预览，hub automations approve）")


def keyword_tag(scene: Scene, person: Any) -> None:
    """12:16 — her 太贵了 (read by the 12:15 archive pull) fired the keyword rule while it was
    processed: a hub tag, and the same corp tag on her WeCom relation, delivered before the
    pull settled."""
    from hub.demo.script import WECOM, DemoFailed

    step = "12:16 关键词"
    auto = scene.runtime.config.automations.automations[KEYWORDS]
    cid = scene.contact(f"phone:{person.e164}")
    actions = scene.ledger(KEYWORDS, cid)
    tags = [a.payload["tag"] for a in actions if a.kind == "tag" and a.status == "done"]
    writes = [a for a in actions if a.kind == "sink" and a.target == f"{WECOM}.tags"]
    if not tags or not writes or any(a.status != "queued" for a in writes):
        raise DemoFailed(f"{step}: {KEYWORDS} did not act on {person.name}'s 太贵了: "
                         f"{[(a.kind, a.target, a.status, a.detail) for a in actions]}")
    label = tags[0]
    keyword = next((k for k, v in auto.on.text.keywords.items() if v == label), label)  # type: ignore[union-attr]
    with scene.runtime.db.session() as s:
        hub_tags = set(s.scalars(select(ContactTag.tag).where(ContactTag.contact_id == cid)))
    wecom_tags = scene.control.wecom.relation_tags(relation=scene.relations[person.mobile])
    in_wecom = [t for t in wecom_tags if t.rpartition("/")[2] == label]
    scene.echo(f"12:16  自动化   关键词「{keyword}」→ 标签 {label} → 企业微信打标签：{person.name} 现有标签 "
               f"{'、'.join(wecom_tags)}（规则 {KEYWORDS}）")
    if label not in hub_tags:
        raise DemoFailed(f"{step}: {person.name}'s contact lacks the hub tag {label} (tags: {sorted(hub_tags)})")
    if not in_wecom:
        raise DemoFailed(f"{step}: the tag {label} did not reach {person.name}'s WeCom relation (tags: {wecom_tags})")


def sop(scene: Scene, hhmm: str, person: Any, stage: str) -> None:
    """A CRM user moves ``person`` to ``stage``; the CRM pull enrolls the lead in the SOP
    journey, the worker runs its first step (due at once) and WeCom gets the mass message."""
    from hub.demo import crm
    from hub.demo.script import CRM, WECOM, DemoFailed

    step = f"{hhmm} SOP"
    runtime, hub = scene.runtime, scene.hub
    journey = runtime.config.automations.automations[SOP]
    sent_before = len(scene.control.wecom.effects(sink="messages"))
    if crm.set_stage(scene.crm_path, person.mobile, stage) is None:
        raise DemoFailed(f"{step}: the CRM has no customer with {person.name}'s mobile")
    hub.pull(CRM, "rows", step=step)
    cid = scene.contact(f"phone:{person.e164}")
    enrollment = _wait_step(scene, cid, 1, step)
    hub.settle(step)  # the step's outbox row delivered
    ext = scene.relations[person.mobile].partition(":")[0]
    sent = [m for m in scene.control.wecom.effects(sink="messages")[sent_before:] if ext in m["external_userid"]]
    first = journey.steps[0].actions[0]
    template = runtime.config.automations.templates[first.template or ""]
    following = journey.steps[1].after / 86400 if len(journey.steps) > 1 else None
    scene.echo(f"{hhmm}  自动化   SOP「{journey.description}」：{person.name} CRM 阶段 → {stage} → 进入旅程 {SOP} → "
               f"第 1 步 {first.template} 已发送（企业微信群发，成员 {sent[0]['sender'] if sent else '?'} 确认后送达）："
               f"「{template['text'][:14]}…」" + (f" → 第 2 步 {following:g} 天后" if following else ""))
    if enrollment.status != "active" and len(journey.steps) > 1:
        raise DemoFailed(f"{step}: {person.name}'s enrollment in {SOP} is {enrollment.status} ({enrollment.exit_reason})")
    if len(sent) != 1 or sent[0]["text"] != template["text"]:
        raise DemoFailed(f"{step}: WeCom did not get the SOP's first message for {person.name} once: {sent}")
    if not any(a.kind == "sink" and a.status == "queued" for a in scene.ledger(SOP, cid)):
        raise DemoFailed(f"{step}: {SOP} recorded no message for {person.name}: {scene.ledger(SOP, cid)}")


def _wait_step(scene: Scene, contact_id: int | None, step_index: int, step: str) -> JourneyEnrollment:
    """Queue the journeys job (as the worker's ticker does every tick) and wait until the
    contact's enrollment has passed step ``step_index`` — i.e. that step's actions are in
    the outbox."""
    from hub.automations.jobs import journeys_job
    from hub.demo.script import DemoFailed
    from hub.queue import enqueue

    deadline = time.monotonic() + scene.hub.timeout
    queued_at = 0.0
    while True:
        with scene.runtime.db.session() as s:
            row = s.scalar(select(JourneyEnrollment).where(JourneyEnrollment.journey == SOP,
                                                           JourneyEnrollment.contact_id == contact_id))
            if row is not None:
                s.expunge(row)
        if row is not None and (row.step >= step_index or row.status != "active"):
            return row
        if time.monotonic() > deadline:
            what = "was not enrolled" if row is None else f"is still before step {step_index + 1} (due {row.next_due_at})"
            raise DemoFailed(f"{step}: contact {contact_id} {what} in {SOP} within {scene.hub.timeout:.0f} s. "
                             "See var/demo/worker.log and hub automations show " + SOP)
        if row is not None and time.monotonic() - queued_at > 2:
            enqueue(scene.runtime.redis, journeys_job, job_id="journeys")
            queued_at = time.monotonic()
        time.sleep(0.15)


def departure(scene: Scene, hhmm: str, member: str, callback_url: str) -> None:
    """A sales member leaves the company: WeCom's delete_user callback signals the departure,
    the departures job (queued by the ticker every tick; here at once) hands the member's
    customers to their manager with resigned/transfer_customer, and WeCom starts each
    transfer (it completes 24 hours later)."""
    from hub.automations.departure import departures_job
    from hub.demo.script import WECOM, DemoFailed
    from hub.queue import enqueue
    from hub.store.models import Departure

    step = f"{hhmm} 离职"
    runtime, wecom = scene.runtime, scene.control.wecom
    before = len(wecom.effects(sink="transfers"))
    left = wecom.depart_member(userid=member, callback_url=callback_url)
    if (left.get("callback") or {}).get("status") != 200:
        raise DemoFailed(f"{step}: the hub refused WeCom's change_contact delete_user callback: {left.get('callback')}")
    scene.hub.settle(step)  # the callback processed: the departure is a row in SQL
    deadline = time.monotonic() + scene.hub.timeout
    queued_at = 0.0
    while True:
        with runtime.db.session() as s:
            dep = s.scalar(select(Departure).where(Departure.automation == DEPARTURE, Departure.member == member))
            actions = list(s.scalars(select(AutomationAction).where(AutomationAction.departure_id == dep.id))) if dep else []
            s.expunge_all()
        if dep is not None and len(actions) >= left["customers"]:
            break
        if time.monotonic() > deadline:
            raise DemoFailed(f"{step}: {DEPARTURE} did not hand over {member}'s {left['customers']} customer(s) within "
                             f"{scene.hub.timeout:.0f} s ({'no departure recorded' if dep is None else dep.detail}). "
                             f"See var/demo/worker.log and hub automations show {DEPARTURE}")
        if time.monotonic() - queued_at > 2:
            enqueue(runtime.redis, departures_job, job_id="departures")
            queued_at = time.monotonic()
        time.sleep(0.15)
    scene.hub.settle(step)  # the transfers delivered to WeCom
    sent = [e for e in wecom.effects(sink="transfers")[before:] if e["handover_userid"] == member]
    started = sorted(c["external_userid"] for e in sent for c in e["customer"] if c["errcode"] == 0)
    from connectors.wecom.members import MemberDirectory

    names = MemberDirectory(runtime.connector(WECOM))
    takeovers = sorted({e["takeover_userid"] for e in sent})
    who = "、".join(f"{names.name(t) or t}" for t in takeovers) or "—"
    scene.echo(f"{hhmm}  自动化   离职交接：销售{names.name(member) or member}离职（通讯录回调 delete_user）→ "
               f"{len(started)} 位客户分给其直属上级 {who}（resigned/transfer_customer，{len(sent)} 批，"
               f"客户 24 小时后自动接替，汇流跟进 transfer_result）（规则 {DEPARTURE}）")
    if not sent or len(started) != left["customers"] or sorted(a.payload["customer"] for a in actions) != started:
        raise DemoFailed(f"{step}: WeCom did not start one transfer per customer of {member}: sent {sent}, "
                         f"ledger {[(a.payload, a.status) for a in actions]}")
    if any(a.status not in ("queued", "waiting") for a in actions):
        raise DemoFailed(f"{step}: a transfer failed: {[(a.payload['customer'], a.status, a.detail) for a in actions]}")
