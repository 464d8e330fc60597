"""What the UI and the API show of automations — read-only, plain dicts.

* :func:`overview` — every automation: kind, status, trigger, action and enrollment counts
  (a handful of grouped queries for all of them at once);
* :func:`detail` — one automation: its definition in plain terms, enrollments waiting and due
  at each step, the action figures, a sample of contacts and the latest actions;
* :func:`contact_journeys` — one contact's progress through each journey it entered;
* :func:`schedule_info` — a schedule (cron) rule: its next firing and how its last instant
  went (:func:`hub.automations.schedule.state`, plus what its actions did at that instant);
* :func:`handovers` — a departure rule: per departed member, the takeovers, the batches and
  the customers per transfer state; :func:`contact_handovers` — one contact's hand-overs.

The figures come from ``automation_actions`` (the ledger: ``queued``, ``done``, ``preview``,
``capped``, ``failed``), the delivery state of the outbox rows the ledger points to
(``pending``, ``held``, ``sending``, ``delivered``, ``matched``, ``dead``, ``discarded``)
and ``journey_enrollments``. Nothing here writes; masking is the web layer's business
(:mod:`hub.web.pii`): names, phones and payloads are returned as stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from hub.automations.control import PREVIEW, statuses
from hub.automations.spec import Action, Automation
from hub.store.models import AutomationAction, AutomationState, Contact, Identity, JourneyEnrollment, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in

#: Ledger statuses and outbox delivery states, in the order they are shown.
LEDGER = ("queued", "done", "unchanged", "preview", "capped", "failed")
DELIVERY = ("pending", "held", "sending", "delivered", "matched", "dead", "discarded")
ENROLLMENT = ("active", "exited", "completed")


def duration_text(seconds: float) -> str:
    """``172800`` → ``2d``, ``5400`` → ``1h30m``, ``0`` → ``0m`` (how ``after:`` is written)."""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0m"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def action_dict(action: Action) -> dict[str, Any]:
    """One configured action: what kind, where to, with which template or inline payload."""
    assign = getattr(action, "assign", None)  # {set: {attribute: value}}
    kind = ("sink" if action.sink else "enroll" if action.enroll else "exit" if action.leave
            else "transfer" if getattr(action, "transfer", None) is not None else "set" if assign is not None else "tag")
    payload = action.payload if assign is None else {str(assign[0]): assign[1]}
    transfer = getattr(action, "transfer", None)
    describe = transfer.describe() if transfer is not None else f"set {assign[0]} = {assign[1]}" if assign is not None else None
    return {"kind": kind, "target": action.target, "template": action.template, "payload": payload,
            "uses_mapping": action.uses_mapping, "describe": describe,
            "attribute": str(assign[0]) if assign is not None else None, "value": assign[1] if assign is not None else None}


def definition(auto: Automation) -> dict[str, Any]:
    """The automation as configured, in plain terms (the same words as ``hub automations show``)."""
    out: dict[str, Any] = {"source": auto.source, "description": auto.description}
    if auto.kind == "rule":
        out["on"] = auto.on.describe() if auto.on is not None else ""
        out["actions"] = [action_dict(a) for a in auto.actions]
        return out
    out["enroll"] = auto.enroll.describe() if auto.enroll is not None else ""
    out["exit"] = [t.describe() for t in auto.exits]
    out["steps"] = [{"number": i, "after_seconds": step.after, "after": duration_text(step.after),
                     "at": str(step.window) if step.window is not None else None,
                     "actions": [action_dict(a) for a in step.actions]}
                    for i, step in enumerate(auto.steps, 1)]
    return out


def trigger_text(auto: Automation) -> str:
    trigger = auto.on or auto.enroll
    return trigger.describe() if trigger is not None else ""


def figures(ledger: dict[str, int], delivery: dict[str, int]) -> dict[str, int]:
    """The numbers an operator reads: ``sent`` (delivered, or linked to an existing record),
    ``pending`` (queued, not out yet), ``held`` (its sink is in preview), ``failed`` (could
    not be rendered, or dead-lettered), ``capped`` (over the daily cap, not sent),
    ``preview`` (recorded while the automation was in preview), ``done`` (hub tags,
    attributes set and journey enrollments/exits, done at once), ``unchanged`` (a ``set``
    that changed nothing: the value was already so, or the field policy kept another)."""
    return {
        "sent": delivery.get("delivered", 0) + delivery.get("matched", 0),
        "pending": delivery.get("pending", 0) + delivery.get("sending", 0),
        "held": delivery.get("held", 0),
        "failed": ledger.get("failed", 0) + delivery.get("dead", 0),
        "discarded": delivery.get("discarded", 0),
        "capped": ledger.get("capped", 0),
        "preview": ledger.get("preview", 0),
        "done": ledger.get("done", 0),
        "unchanged": ledger.get("unchanged", 0),
    }


def _grouped(session: Any, stmt: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, key, n in session.execute(stmt):
        out.setdefault(name, {})[key] = out.get(name, {}).get(key, 0) + n
    return out


def _counts(session: Any, names: list[str]) -> tuple[dict, dict, dict]:
    """Ledger statuses, outbox delivery states and enrollment statuses per automation."""
    if not names:
        return {}, {}, {}
    A, O, J = AutomationAction, OutboxRow, JourneyEnrollment
    ledger = _grouped(session, select(A.automation, A.status, func.count()).where(column_in(session, A.automation, names))
                      .group_by(A.automation, A.status))
    delivery = _grouped(session, select(A.automation, O.status, func.count()).join(O, O.id == A.outbox_id)
                        .where(column_in(session, A.automation, names)).group_by(A.automation, O.status))
    enrolled = _grouped(session, select(J.journey, J.status, func.count()).where(column_in(session, J.journey, names))
                        .group_by(J.journey, J.status))
    return ledger, delivery, enrolled


def _state(session: Any, names: list[str]) -> dict[str, AutomationState]:
    if not names:
        return {}
    return {r.name: r for r in session.scalars(select(AutomationState).where(column_in(session, AutomationState.name, names)))}


def _summary(auto: Automation, state: AutomationState | None, ledger: dict, delivery: dict, enrolled: dict) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": auto.name, "kind": auto.kind, "status": state.status if state is not None else PREVIEW,
        "approved_at": state.approved_at if state is not None else None,
        "approved_by": state.approved_by if state is not None else None,
        "status_changed_at": state.updated_at if state is not None else None,
        "trigger": trigger_text(auto), "description": auto.description, "source": auto.source,
        "steps": len(auto.steps) if auto.kind == "journey" else None,
        # the known statuses in order, then any other (a hand-over's transfer states: waiting, …)
        "ledger": {k: ledger[k] for k in [*LEDGER, *sorted(set(ledger) - set(LEDGER))] if ledger.get(k)},
        "delivery": {k: delivery.get(k, 0) for k in DELIVERY if delivery.get(k)},
        "actions": figures(ledger, delivery),
        "enrollments": {k: enrolled.get(k, 0) for k in ENROLLMENT} if auto.kind == "journey" else None,
    }
    return out


def overview(runtime: Any, session: Any) -> list[dict[str, Any]]:
    """Every configured automation with its status and counts, in config order."""
    autos: dict[str, Automation] = runtime.config.automations.automations
    names = list(autos)
    ledger, delivery, enrolled = _counts(session, names)
    state = _state(session, names)
    out = [_summary(a, state.get(n), ledger.get(n, {}), delivery.get(n, {}), enrolled.get(n, {})) for n, a in autos.items()]
    for item in out:
        _extras(runtime, session, autos[item["name"]], item, members=0)
    return out


def _extras(runtime: Any, session: Any, auto: Automation, out: dict[str, Any], *, members: int) -> None:
    """A schedule rule's ``schedule`` and a departure rule's ``handover`` (None for others);
    ``members``: how many departed members to list (0: the totals only)."""
    from hub.automations.departure import is_departure

    out["schedule"] = schedule_info(runtime, session, auto.name) if is_schedule(auto) else None
    out["handover"] = handovers(session, auto.name, limit=members) if is_departure(auto) else None


def _people(session: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """``id → {name, phone}`` (the first phone identity) for a page of contacts."""
    if not ids:
        return {}
    out = {cid: {"display_name": name, "phone": None}
           for cid, name in session.execute(select(Contact.id, Contact.display_name).where(column_in(session, Contact.id, ids)))}
    for cid, value in session.execute(select(Identity.contact_id, Identity.value).where(
            column_in(session, Identity.contact_id, ids), Identity.kind == "phone").order_by(Identity.id)):
        if cid in out and out[cid]["phone"] is None:
            out[cid]["phone"] = value
    return out


def detail(runtime: Any, session: Any, name: str, *, sample: int = 20, recent: int = 20,
           now: datetime | None = None) -> dict[str, Any] | None:
    """One automation: the summary of :func:`overview`, its definition, per step how many
    active enrollments wait for it and how many of those are due, a sample of contacts
    (a journey's latest enrollments; a rule's latest contacts acted on) and its latest actions.
    None if no such automation is configured."""
    auto = runtime.config.automations.automations.get(name)
    if auto is None:
        return None
    now = now or utcnow()
    ledger, delivery, enrolled = _counts(session, [name])
    out = _summary(auto, _state(session, [name]).get(name), ledger.get(name, {}), delivery.get(name, {}), enrolled.get(name, {}))
    out["definition"] = definition(auto)
    _extras(runtime, session, auto, out, members=sample)
    J, A = JourneyEnrollment, AutomationAction
    samples: list[dict[str, Any]] = []
    if auto.kind == "journey":
        waiting = {i: {"waiting": 0, "due": 0} for i in range(len(auto.steps))}
        for step, n, due in session.execute(
            select(J.step, func.count(), func.sum(case((J.next_due_at <= now, 1), else_=0)))
            .where(J.journey == name, J.status == "active").group_by(J.step)
        ):
            waiting[step] = {"waiting": n, "due": int(due or 0)}
        for i, step in enumerate(out["definition"]["steps"]):
            step.update(waiting.get(i, {"waiting": 0, "due": 0}))
        rows = session.execute(select(J).where(J.journey == name).order_by(J.updated_at.desc(), J.id.desc()).limit(sample)).scalars().all()
        total = len(auto.steps)
        for r in rows:
            samples.append({"contact_id": r.contact_id, "status": r.status, "round": r.round, "step": _step_number(r, total),
                            "steps": total, "steps_done": min(r.step, total), "next_due_at": r.next_due_at,
                            "next_at": next_run(runtime, auto, r),
                            "enrolled_at": r.enrolled_at, "exit_reason": r.exit_reason, "at": r.updated_at})
    else:
        latest = (select(A.contact_id, func.max(A.id).label("last")).where(A.automation == name)
                  .group_by(A.contact_id).order_by(func.max(A.id).desc()).limit(sample)).subquery()
        for r in session.execute(select(A).join(latest, A.id == latest.c.last).order_by(A.id.desc())).scalars():
            samples.append({"contact_id": r.contact_id, "status": r.status, "kind": r.kind, "target": r.target, "at": r.created_at})
    people = _people(session, sorted({s["contact_id"] for s in samples}))
    for s in samples:
        s.update(people.get(s["contact_id"], {"display_name": None, "phone": None}))
    out["contacts"] = samples
    actions = []
    for a, delivered in session.execute(
        select(A, OutboxRow.status).outerjoin(OutboxRow, OutboxRow.id == A.outbox_id).where(A.automation == name)
        .order_by(A.id.desc()).limit(recent)
    ):
        actions.append({"id": a.id, "contact_id": a.contact_id, "kind": a.kind, "target": a.target, "status": a.status,
                        "delivery": delivered, "payload": a.payload, "detail": a.detail, "created_at": a.created_at})
    names = _people(session, sorted({a["contact_id"] for a in actions} - set(people)))
    names.update(people)
    for a in actions:
        a.update(names.get(a["contact_id"], {"display_name": None, "phone": None}))
    out["recent_actions"] = actions
    return out


def next_run(runtime: Any, auto: Automation | None, row: Any) -> datetime | None:
    """When the enrollment's next step may run: its due time, moved to the start of the
    step's send window (its ``at:``, or ``automation_settings.send_window`` for a message
    step) when it falls outside — what the journey engine will do. (The daily cap may move it
    a day further; that depends on the other messages the contact gets that day.)"""
    if row.status != "active" or row.next_due_at is None or auto is None or row.step >= len(auto.steps):
        return row.next_due_at if row.status == "active" else None
    from hub.automations.actions import is_message

    step = auto.steps[row.step]
    settings = runtime.config.automations
    window = step.window or (settings.send_window if any(is_message(runtime, a) for a in step.actions) else None)
    return window.next_open(row.next_due_at) if window is not None else row.next_due_at


def _step_number(row: Any, total: int) -> int:
    """The step the enrollment is at, 1-based: the next one to run while active, the one
    it stopped before when exited, the last one when completed."""
    return max(1, min(row.step + 1, total)) if total else 0


def contact_journeys(runtime: Any, session: Any, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Every journey enrollment of these contacts (a contact and the ids merged into it),
    active ones first: the step it is at of how many, when the next one is due, and how it
    ended. A journey no longer in the config is shown with ``steps`` None."""
    if not contact_ids:
        return []
    journeys = runtime.config.automations.journeys()
    state = dict(statuses(session)) if journeys else {}
    J = JourneyEnrollment
    rows = session.execute(select(J).where(column_in(session, J.contact_id, contact_ids))
                           .order_by(J.status != "active", J.updated_at.desc(), J.id)).scalars().all()
    out = []
    for r in rows:
        auto = journeys.get(r.journey)
        total = len(auto.steps) if auto is not None else None
        out.append({
            "journey": r.journey, "contact_id": r.contact_id, "status": r.status, "round": r.round,
            "step": _step_number(r, total) if total else r.step + 1, "steps": total,
            "steps_done": min(r.step, total) if total is not None else r.step,
            "next_due_at": r.next_due_at if r.status == "active" else None, "next_at": next_run(runtime, auto, r),
            "enrolled_at": r.enrolled_at, "ended_at": r.updated_at if r.status != "active" else None,
            "exit_reason": r.exit_reason,
            "automation_status": state.get(r.journey, PREVIEW) if auto is not None else None,
        })
    return out


# -- schedule (cron) rules ---------------------------------------------------------------------------


def is_schedule(auto: Automation) -> bool:
    return auto.on is not None and getattr(auto.on, "schedule", None) is not None


def schedule_info(runtime: Any, session: Any, name: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """A schedule rule as it stands: the expression as written and its ``where:``, the time
    zone, the next firing (aware, local) and — once an instant has passed since it was first
    seen — the last instant: ``status`` (firing, done, skipped, stopped), contacts matched,
    instants skipped by catch-up after downtime, and what the actions did at that instant
    (ledger statuses and contacts acted on: an action queued or done). None if ``name`` is not
    a schedule rule. The state is :func:`hub.automations.schedule.state`'s."""
    from hub.automations.schedule import SKIPPED, state

    auto = runtime.config.automations.automations.get(name)
    if auto is None or not is_schedule(auto):
        return None
    sched = auto.on.schedule
    now = now or utcnow()
    info = state(runtime, name, now=now)
    last = info["last"]
    # The engine fires an instant only after the last one it recorded: with that instant
    # ahead of this clock (a clock set back, another host's), the next firing follows it.
    after = last["instant"] if last is not None and last["instant"] >= now else None
    out: dict[str, Any] = {"expression": sched.expression, "where": [c.describe() for c in sched.where],
                           "timezone": info["timezone"], "last": None,
                           "next_at": sched.next(after, runtime.config.automations.tz) if after is not None else info["next"]}
    if last is not None:
        out["last"] = {**last, "actions": {}, "acted": 0}
        if last["status"] != SKIPPED:
            # The firing's actions are keyed (automation, contact, schedule:<instant UTC>, index)
            # (hub.automations.actions.ledger_key: readable up to 200 characters — an automation
            # name of more than ~75 characters is hashed past the instant and counts nothing here).
            from zoneinfo import ZoneInfo

            stamp = f"schedule:{last['instant'].astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%MZ}"
            A = AutomationAction
            mine = (A.automation == name, A.key.like(f"%:{stamp}:%"))
            out["last"]["actions"] = {k: n for k, n in session.execute(select(A.status, func.count()).where(*mine).group_by(A.status))}
            out["last"]["acted"] = session.scalar(select(func.count(func.distinct(A.contact_id))).where(
                *mine, A.status.in_(("queued", "done")))) or 0
    return out


# -- departure hand-overs ----------------------------------------------------------------------------

#: A transferred customer's states, in the order they are shown (hub.automations.departure).
TRANSFER_STATES = ("queued", "waiting", "done", "refused", "limit", "failed", "preview")


def _ordered(counts: dict[str, int], order: tuple[str, ...]) -> dict[str, int]:
    return {k: counts[k] for k in [*order, *sorted(set(counts) - set(order))] if counts.get(k)}


def handovers(session: Any, name: str, *, limit: int = 20) -> dict[str, Any]:
    """A departure rule's hand-overs: departures per status and customers per transfer state
    in all, and for the ``limit`` latest departed members: the instance, member (and the name
    the directory gave when it was handed over), how often it was signalled and from where,
    the batches written with their outbox delivery states, the customers per state and per
    takeover (``{takeover: {state: n}}``), and the job's last note (how the takeover was
    chosen, or the error it met)."""
    from hub.store.models import Departure

    A, D = AutomationAction, Departure
    out: dict[str, Any] = {
        "departures": dict(session.execute(select(D.status, func.count()).where(D.automation == name).group_by(D.status)).all()),
        "customers": _ordered(dict(session.execute(select(A.status, func.count()).where(
            A.automation == name, A.kind == "transfer").group_by(A.status)).all()), TRANSFER_STATES),
        "members": [],
    }
    deps = session.execute(select(D).where(D.automation == name).order_by(D.updated_at.desc(), D.id.desc())
                           .limit(limit)).scalars().all() if limit else []
    if not deps:
        return out
    per: dict[int, dict[str, Any]] = {d.id: {"customers": {}, "takeovers": {}, "outbox": set(), "member_name": None} for d in deps}
    for dep_id, status, payload, outbox_id in session.execute(
            select(A.departure_id, A.status, A.payload, A.outbox_id).where(column_in(session, A.departure_id, list(per)), A.kind == "transfer")):
        got, payload = per[dep_id], payload or {}
        got["customers"][status] = got["customers"].get(status, 0) + 1
        takeover = payload.get("takeover") or ""
        by = got["takeovers"].setdefault(takeover, {})
        by[status] = by.get(status, 0) + 1
        got["member_name"] = got["member_name"] or payload.get("member_name")
        if outbox_id is not None:
            got["outbox"].add(outbox_id)
    ids = sorted({o for g in per.values() for o in g["outbox"]})
    delivery = dict(session.execute(select(OutboxRow.id, OutboxRow.status).where(column_in(session, OutboxRow.id, ids))).all()) if ids else {}
    for d in deps:
        got = per[d.id]
        batches: dict[str, int] = {}
        for o in got["outbox"]:
            state = delivery.get(o, "missing")
            batches[state] = batches.get(state, 0) + 1
        out["members"].append({
            "departure_id": d.id, "connector": d.connector, "member": d.member, "member_name": got["member_name"],
            "status": d.status, "signals": d.signals, "source": d.source, "signalled_at": d.signalled_at, "updated_at": d.updated_at,
            "next_check_at": d.next_due_at, "batches": d.batches, "batch_delivery": _ordered(batches, DELIVERY),
            "customers": _ordered(got["customers"], TRANSFER_STATES), "total": sum(got["customers"].values()),
            "takeovers": [{"takeover": t or None, "customers": _ordered(c, TRANSFER_STATES), "total": sum(c.values())}
                          for t, c in sorted(got["takeovers"].items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))],
            "detail": d.detail,
        })
    return out


def contact_handovers(session: Any, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Every hand-over of these contacts (a contact and the ids merged into it), latest
    first: which automation, the member who left, who takes over, the batch, the transfer's
    state and why it failed."""
    if not contact_ids:
        return []
    A = AutomationAction
    rows = session.execute(select(A).where(column_in(session, A.contact_id, contact_ids), A.kind == "transfer")
                           .order_by(A.id.desc())).scalars().all()
    return [{"automation": r.automation, "contact_id": r.contact_id, "status": r.status,
             "member": (r.payload or {}).get("member"), "member_name": (r.payload or {}).get("member_name"),
             "takeover": (r.payload or {}).get("takeover"), "batch": (r.payload or {}).get("batch"),
             "target": r.target, "reason": r.detail if r.status == "failed" else None,
             "chosen": r.detail if r.status != "failed" else None, "at": r.created_at} for r in rows]
