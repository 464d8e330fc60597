"""Performing actions: hub tags, and sink writes as ordinary outbox rows — each exactly once.

Every action first claims its row in ``automation_actions`` by a unique key (automation,
contact, trigger, action index). Only the transaction that inserts the key acts; a replay,
a re-processed inbox row or a journey step run twice by two workers finds the key taken
and does nothing. A sink write then becomes an outbox row keyed ``auto:<key>``, so
delivery, retries, rate limits, dead letters and sink preview (``held``) apply as to any
write; the row's origin is ``automation:<name>`` and the convergence bookkeeping of
outbound mappings (``hub.pipeline.outbound.histories``) leaves such rows out, so a later
mapping rendering never supersedes an automation's message.

Payloads: ``payload:`` inline, ``template:`` (a named payload), both (payload wins), or
neither — then the sink's outbound mapping renders the contact's current state. Strings
may hold placeholders: ``{match}`` and ``{keyword}`` (text triggers), ``{contact_id}``,
``{attributes.NAME}``, ``{identities.KIND}`` (a list) or ``{identities.KIND[0]}``, and
``{tags}``. A string that is one placeholder keeps the value's type (a list stays a list);
a placeholder with no value fails the action (recorded as ``failed``, nothing sent).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from hub.automations.control import LIVE, PREVIEW
from hub.automations.spec import Action, Automation, AutomationSet
from hub.pipeline.hashing import payload_hash
from hub.store.models import AutomationAction, ContactTag, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[^{}\[\]]+)?(?:\[\d+\])?)\}")
#: Ledger states that mean a message went (or is going) out: they count against the cap.
SENDING = ("queued", "done")
ORIGIN_PREFIX = "automation:"


class MissingValue(Exception):
    """A placeholder the contact has no value for."""


@dataclass
class Performed:
    """What one call of :func:`perform` did."""

    outbox_ids: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # per action: queued, done, preview, capped, failed, duplicate


def ledger_key(*parts: Any) -> str:
    """A unique key of at most 255 characters: readable when short, hashed when long."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= 200:
        return text
    return f"{text[:120]}…{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _lookup(name: str, view: dict[str, Any], values: dict[str, Any], contact_id: int) -> Any:
    index = None
    if name.endswith("]"):
        name, _, rest = name.partition("[")
        index = int(rest[:-1])
    if name in values:
        value = values[name]
    elif name == "contact_id":
        value = contact_id
    elif name == "tags":
        value = list(view.get("tags") or [])
    elif name.startswith("attributes."):
        value = (view.get("attributes") or {}).get(name[len("attributes."):])
    elif name.startswith("identities."):
        value = (view.get("identities") or {}).get(name[len("identities."):])
    else:
        value = None
    if index is not None:
        value = value[index] if isinstance(value, list) and len(value) > index else None
    if value in (None, "", []):
        raise MissingValue(f"no value for {{{name if index is None else f'{name}[{index}]'}}}")
    return value


def render(value: Any, view: dict[str, Any], values: dict[str, Any], contact_id: int) -> Any:
    """Fill placeholders in every string of ``value`` (recursively)."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), view, values, contact_id)
        return PLACEHOLDER.sub(lambda m: str(_lookup(m.group(1), view, values, contact_id)), value)
    if isinstance(value, dict):
        return {k: render(v, view, values, contact_id) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, view, values, contact_id) for v in value]
    return value


def is_message(runtime: Any, action: Action) -> bool:
    """Whether ``action`` counts against the daily message cap."""
    if action.message is not None:
        return action.message
    if action.sink is None:
        return False
    inst = runtime.config.connectors.get(action.sink[0])
    cls = getattr(inst.connector_class, "sinks", {}).get(action.sink[1]) if inst is not None else None
    return bool(getattr(cls, "sends_message", False))


def day_start(settings: AutomationSet, now: datetime) -> datetime:
    """Midnight of ``now``'s local day (the cap's day), as an aware datetime."""
    local = now.astimezone(settings.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def messages_today(session: Any, contact_id: int, settings: AutomationSet, now: datetime) -> int:
    """Messages automations sent (or queued) to ``contact_id`` since local midnight."""
    start = day_start(settings, now)
    return session.scalar(select(func.count()).select_from(AutomationAction).where(
        AutomationAction.contact_id == contact_id, AutomationAction.is_message.is_(True),
        AutomationAction.status.in_(SENDING), AutomationAction.created_at >= start, AutomationAction.created_at < start + timedelta(days=1))) or 0


def _payload(session: Any, runtime: Any, action: Action, contact_id: int, view: dict[str, Any], values: dict[str, Any],
             links: list[Any]) -> tuple[dict | None, str | None]:
    """``(payload, native_id)`` to write; raises :class:`MissingValue` when it cannot render."""
    from hub.mapping import MappingRecordError, canonical_view
    from hub.pipeline import outbound

    dest, sink = action.sink  # type: ignore[misc]
    record = outbound.record_for(links, dest, sink)
    native_id = record.native_id if record is not None else None
    if action.uses_mapping:
        # A full rendering (every name changed) — or, for `{tag: …, sink: …}`, the tag alone:
        # the mapping reads it as automation.tag, with only tags changed.
        names = sorted(set(view["attributes"]) | set(outbound.STRUCTURAL)) if action.with_tag is None else ["tags"]
        context = {key: values[key] for key in ("match", "keyword") if key in values}
        if action.with_tag is not None:
            context["tag"] = render(action.with_tag, view, values, contact_id)
        try:
            payload = runtime.mapping(dest, sink=sink).apply(
                canonical_view(contact_id, view["attributes"], view["identities"], view["tags"], native_id, names,
                               automation=context))
        except MappingRecordError as exc:
            raise MissingValue(f"outbound mapping of {dest}.{sink}: {exc.message}") from None
        if not payload:
            raise MissingValue(f"outbound mapping of {dest}.{sink} renders nothing for this contact")
        return payload, native_id
    settings: AutomationSet = runtime.config.automations
    body: dict[str, Any] = {}
    if action.template is not None:
        body.update(settings.templates.get(action.template) or {})
    body.update(action.payload or {})
    return render(body, view, values, contact_id), native_id


#: The timeline entry kind of what automations do besides writes (hub tags, enrollments,
#: exits, actions not sent); their writes appear as the hub's own writes (``outbound_write``).
TIMELINE_KIND = "automation"


def on_timeline(session: Any, contact_id: int, automation: str, native: str, summary: str, now: datetime,
                **data: Any) -> None:
    """One ``automation`` entry on the contact's timeline, unique per ``native``."""
    from hub.store.models import Event

    insert_ignore(session, Event, [_timeline_row(contact_id, automation, native, summary, now, **data)], ["connector", "native_id"])


def _timeline_row(contact_id: int, automation: str, native: str, summary: str, now: datetime, **data: Any) -> dict[str, Any]:
    return {"connector": "automation", "native_id": native[:255], "kind": TIMELINE_KIND, "occurred_at": now,
            "summary": f"{automation}: {summary}"[:500], "contact_id": contact_id, "origin_contact_id": contact_id,
            "created_at": now, "data": {"automation": automation, **data}}


@dataclass
class Job:
    """One contact's actions for one trigger or journey step (see :func:`perform_many`)."""

    automation: Automation
    contact_id: int
    view: dict[str, Any]
    actions: list[Action]
    key_base: str
    values: dict[str, Any]
    mode: str
    detail: str = ""


def perform(session: Any, runtime: Any, automation: Automation, contact_id: int, view: dict[str, Any],
            actions: list[Action], key_base: str, values: dict[str, Any], mode: str, now: datetime,
            detail: str = "") -> Performed:
    """Do ``actions`` for one contact and one trigger (or journey step), once per key.

    ``mode`` is the automation's status: ``live`` acts, ``preview`` only records."""
    return perform_many(session, runtime, [Job(automation, contact_id, view, actions, key_base, values, mode, detail)], now)[0]


def messages_today_many(session: Any, contact_ids: set[int], settings: AutomationSet, now: datetime) -> dict[int, int]:
    """:func:`messages_today` for many contacts in one query per 500."""
    counts = dict.fromkeys(contact_ids, 0)
    start = day_start(settings, now)
    ids = sorted(contact_ids)
    for i in range(0, len(ids), 500):
        for cid, n in session.execute(
            select(AutomationAction.contact_id, func.count()).where(
                column_in(session, AutomationAction.contact_id, ids[i:i + 500]), AutomationAction.is_message.is_(True),
                AutomationAction.status.in_(SENDING), AutomationAction.created_at >= start,
                AutomationAction.created_at < start + timedelta(days=1)).group_by(AutomationAction.contact_id)
        ):
            counts[cid] = n
    return counts


def perform_many(session: Any, runtime: Any, jobs: list[Job], now: datetime) -> list[Performed]:
    """:func:`perform` for many jobs with a handful of statements in all (the journey
    engine's batches): links and today's message counts read once, then the ledger rows,
    tags, outbox rows and timeline entries each written in one multi-row statement."""
    from hub.pipeline import outbound
    from hub.pipeline.preview import hold_status
    from hub.automations.setattr import Setter
    from hub.pipeline.process import _timeline_writes

    settings: AutomationSet = runtime.config.automations
    results = [Performed() for _ in jobs]
    setter = Setter(session, runtime, jobs)  # {set: {…}} actions (hub.automations.setattr)
    olds: dict[str, Any] = {}
    links = outbound.contact_links(session, {j.contact_id for j in jobs if any(a.sink for a in j.actions)})
    capped = settings.daily_messages is not None
    counts = messages_today_many(session, {j.contact_id for j in jobs if j.mode == LIVE and any(is_message(runtime, a) for a in j.actions)},
                                 settings, now) if capped else {}
    planned: list[tuple[int, Job, Action, dict[str, Any], str | None]] = []  # (job index, job, action, ledger row, native id)
    for ji, job in enumerate(jobs):
        cid, view = job.contact_id, job.view
        for index, action in enumerate(job.actions):
            key = ledger_key(job.automation.name, cid, job.key_base, index)
            if action.enroll is not None or action.leave is not None:
                results[ji].statuses.append(_journey_action(session, runtime, job.automation, action, cid, view, key, job.mode, now, job.detail))
                continue
            message = is_message(runtime, action)
            row: dict[str, Any] = {"automation": job.automation.name, "contact_id": cid, "key": key,
                                   "kind": "sink" if action.sink else "set" if action.assign else "tag", "target": action.target[:200], "is_message": message,
                                   "payload": None, "detail": job.detail[:2000] or None, "created_at": now, "outbox_id": None}
            native_id = None
            try:
                if action.sink is not None:
                    row["payload"], native_id = _payload(session, runtime, action, cid, view, job.values, links.get(cid, []))
                elif action.assign is not None:
                    row["payload"] = setter.rendered(action, view, job.values, cid)
                else:
                    row["payload"] = {"tag": str(render(action.tag, view, job.values, cid)).strip()[:100]}
            except MissingValue as exc:
                row.update(status="failed", detail=str(exc)[:2000])
            else:
                if job.mode != LIVE:
                    row["status"] = PREVIEW
                elif message and capped and counts.get(cid, 0) >= settings.daily_messages:  # type: ignore[operator]
                    row.update(status="capped", detail=f"daily cap: {settings.daily_messages} message(s) a day per customer")
                else:
                    row["status"] = "queued" if action.sink is not None else "done"
                    if message:
                        counts[cid] = counts.get(cid, 0) + 1
                    if action.assign is not None:
                        olds[key] = setter.old_value(cid, row["payload"]["attribute"])
                        row["status"], why = setter.plan(job.automation, cid, view, row["payload"], now)
                        row["detail"] = why or row["detail"]
                    if action.tag is not None and row["payload"]["tag"] not in view["tags"]:
                        view["tags"] = sorted([*view["tags"], row["payload"]["tag"]])  # a later sink action renders it
            planned.append((ji, job, action, row, native_id))
    got = insert_ignore(session, AutomationAction, [p[3] for p in planned], ["key"], returning=[AutomationAction.id, AutomationAction.key])
    ledger_ids = {key: lid for lid, key in got}
    tags, outbox, notes = [], [], []
    for ji, job, action, row, native_id in planned:
        lid = ledger_ids.get(row["key"])
        if lid is None:
            results[ji].statuses.append("duplicate")
            continue
        results[ji].statuses.append(row["status"])
        origin = (ORIGIN_PREFIX + job.automation.name)[:64]
        if action.assign is not None and row["status"] == "done":
            setter.record(ji, lid, job.automation, job.contact_id, row["payload"], olds.get(row["key"]), job.view)
            continue  # on the timeline as the attribute change (hub.automations.setattr)
        if row["status"] in ("done", "capped", "failed"):
            said = f"打标签 {row['payload']['tag']}" if row["status"] == "done" else f"{action.target} 未发送：{row['detail']}"
            notes.append(_timeline_row(job.contact_id, job.automation.name, f"action:{lid}", said, now, status=row["status"]))
        if row["status"] == "done":
            tags.append({"contact_id": job.contact_id, "tag": row["payload"]["tag"], "connector": origin, "created_at": now})
        elif row["status"] == "queued":
            dest, sink = action.sink  # type: ignore[misc]
            outbox.append((ji, lid, {
                "connector": dest, "sink": sink, "contact_id": job.contact_id, "origin": origin,
                "idempotency_key": ("auto:" + row["key"])[:255], "payload": row["payload"], "payload_hash": payload_hash(row["payload"]),
                "written_values": {**job.view["attributes"], "__tags__": job.view["tags"]}, "changed": None,
                "native_id": native_id, "status": hold_status(runtime, session, dest, sink),
                "next_attempt_at": min(now, utcnow()),  # due now: ``now`` is the step's clock, delivery runs on the real one
            }))
    insert_ignore(session, ContactTag, tags, ["contact_id", "tag"])
    if notes:
        from hub.store.models import Event

        insert_ignore(session, Event, notes, ["connector", "native_id"])
    if outbox:
        rows = [o[2] for o in outbox]
        written = insert_ignore(session, OutboxRow, rows, ["idempotency_key"], returning=[OutboxRow.id, OutboxRow.idempotency_key])
        _timeline_writes(session, runtime, rows, written, now, {})  # as the hub's own writes, with their delivery state
        by_key = {key: oid for oid, key in written}
        links_back = []
        for ji, lid, row in outbox:
            oid = by_key.get(row["idempotency_key"])
            if oid is not None:
                results[ji].outbox_ids.append(oid)
                links_back.append({"lid": lid, "oid": oid})
        if links_back:
            table = AutomationAction.__table__
            session.execute(update(table).where(table.c.id == bindparam("lid")).values(outbox_id=bindparam("oid")), links_back)
    for ji, ids in setter.apply(now).items():  # renderings and other automations' triggers
        results[ji].outbox_ids.extend(ids)
    return results


def _journey_action(session: Any, runtime: Any, automation: Automation, action: Action, contact_id: int,
                    view: dict[str, Any], key: str, mode: str, now: datetime, detail: str) -> str:
    """``{enroll: journey}`` / ``{exit: journey}``, once per key. The journey's own status
    decides the enrollment (a journey in preview only records who it would enroll)."""
    from hub.automations import journeys
    from hub.automations.control import status_of

    settings: AutomationSet = runtime.config.automations
    journey = settings.automations[action.enroll or action.leave]  # type: ignore[index]
    got = insert_ignore(session, AutomationAction, [{
        "automation": automation.name, "contact_id": contact_id, "key": key, "kind": "enroll" if action.enroll else "exit",
        "target": action.target[:200], "status": "done" if mode == LIVE else PREVIEW, "is_message": False, "payload": None,
        "detail": detail[:2000] or None, "created_at": now}], ["key"], returning=[AutomationAction.id])
    if not got:
        return "duplicate"
    if mode != LIVE:
        return PREVIEW
    if action.enroll:
        journeys.enroll(session, runtime, journey, contact_id, view, key, f"{automation.name}: {detail}".strip(": "),
                        status_of(session, journey.name), now)
    else:
        journeys.exit_contact(session, journey, contact_id, f"{automation.name}: {detail}".strip(": "), now)
    return "done"
