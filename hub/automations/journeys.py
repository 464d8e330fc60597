"""Journeys: per-contact enrollments advanced by the worker's ticker.

An enrollment is a row in ``journey_enrollments`` — the next step's index and when it is
due — so a journey survives restarts and Redis loss: the ticker (every worker runs one,
one acts per tick) queues :func:`advance_due` through :mod:`hub.automations.jobs`, which
claims due rows and, for each:

1. checks the journey's exit conditions against the contact's current state — an attribute
   that changed since enrollment, or an exit event on the timeline since then — and ends
   the enrollment instead of sending;
2. keeps the send window (``at: "10:00-20:00"``, local time) and the per-customer daily
   message cap (across all automations): outside the window or over the cap the step is
   not skipped but moved to the next allowed time;
3. performs the step's actions, keyed per (journey, contact, round, step): a step run twice
   — a worker killed after the commit but before it knew, two tickers in a race — writes
   one outbox row; and moves the row on (compare-and-set on the step number, in the same
   transaction), or marks it completed.

Claiming: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite a no-op write first takes the
database's write lock (as :mod:`hub.pipeline.claims` does), so an exit being processed
and a due step never interleave: whichever commits first, the other sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from hub.automations.actions import Job, day_start, is_message, ledger_key, messages_today_many, on_timeline, perform_many
from hub.automations.control import LIVE, PREVIEW, statuses
from hub.automations.spec import ANY, Automation, AutomationSet, Step, Trigger
from hub.pipeline.hashing import jsonable
from hub.store.models import AutomationAction, Event, JourneyEnrollment
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

ACTIVE, EXITED, COMPLETED = "active", "exited", "completed"


@dataclass
class Advance:
    """What one :func:`advance_due` pass did."""

    steps: int = 0
    outbox_ids: list[int] = field(default_factory=list)
    exited: int = 0
    deferred: int = 0
    completed: int = 0


def _watched(auto: Automation) -> list[str]:
    return sorted({t.attribute for t in auto.exits if t.attribute})


def enroll(session: Any, runtime: Any, auto: Automation, contact_id: int, view: dict[str, Any],
           trigger_key: str, label: str, mode: str, now: datetime) -> bool:
    """Enroll ``contact_id`` once per trigger; True if a live enrollment started.

    In preview the enrollment is only recorded (``automation_actions``, kind ``enroll``).
    An active enrollment stays as it is; a finished one starts a new round."""
    key = ledger_key(auto.name, contact_id, trigger_key, "enroll")
    status = PREVIEW if mode != LIVE else "done"
    got = insert_ignore(session, AutomationAction, [{
        "automation": auto.name, "contact_id": contact_id, "key": key, "kind": "enroll", "target": auto.name,
        "status": status, "is_message": False, "payload": None, "detail": label[:2000], "created_at": now}],
        ["key"], returning=[AutomationAction.id])
    if not got or status != "done":
        return False
    on_timeline(session, contact_id, auto.name, f"enroll:{got[0][0]}", f"进入旅程（{label}）", now)
    snapshot = {name: view["attributes"].get(name) for name in _watched(auto)}
    due = now + timedelta(seconds=auto.steps[0].after)
    existing = session.execute(select(JourneyEnrollment).where(JourneyEnrollment.journey == auto.name,
                                                               JourneyEnrollment.contact_id == contact_id)).scalar_one_or_none()
    if existing is None:
        session.add(JourneyEnrollment(journey=auto.name, contact_id=contact_id, round=1, step=0, status=ACTIVE, next_due_at=due,
                                      enrolled_at=now, enrolled_values=jsonable(snapshot), updated_at=now))
        session.flush()
        return True
    if existing.status == ACTIVE:
        return False
    existing.round, existing.step, existing.status, existing.next_due_at = existing.round + 1, 0, ACTIVE, due
    existing.enrolled_at, existing.enrolled_values, existing.exit_reason, existing.updated_at = now, jsonable(snapshot), None, now
    session.flush()
    return True


def exit_contact(session: Any, auto: Automation, contact_id: int, reason: str, now: datetime) -> bool:
    """End the contact's active enrollment in ``auto``; True if there was one."""
    done = session.execute(update(JourneyEnrollment).where(
        JourneyEnrollment.journey == auto.name, JourneyEnrollment.contact_id == contact_id, JourneyEnrollment.status == ACTIVE)
        .values(status=EXITED, exit_reason=reason[:2000], next_due_at=None, updated_at=now))
    if done.rowcount:
        on_timeline(session, contact_id, auto.name, f"exit:{contact_id}:{now.isoformat()}", f"退出旅程：{reason}", now)
    return bool(done.rowcount)


def exit_reason(session: Any, auto: Automation, row: Any, view: dict[str, Any]) -> str | None:
    """Why the enrollment must end now, from the contact's current state; None to go on."""
    before = row.enrolled_values or {}
    for trigger in auto.exits:
        if trigger.attribute:
            now_value = view["attributes"].get(trigger.attribute)
            then = before.get(trigger.attribute)
            if now_value != then and (trigger.becomes is ANY or trigger.attribute_fires(trigger.attribute, then, now_value)):
                return f"{trigger.attribute}: {then} → {now_value}"
    event_triggers = [t for t in auto.exits if t.events]
    if event_triggers:
        kinds = sorted({k for t in event_triggers for k in t.events})
        for kind, summary, data, connector in session.execute(
            select(Event.kind, Event.summary, Event.data, Event.connector).where(
                Event.contact_id == row.contact_id, column_in(session, Event.kind, kinds), Event.created_at >= row.enrolled_at)
        ):
            event = {"kind": kind, "summary": summary or "", "data": data or {}, "connector": connector}
            for trigger in event_triggers:
                if trigger.event_fires(event) is not None:
                    return f"{kind} since enrollment"
    return None


def _claim(session: Any, names: list[str], now: datetime, limit: int) -> list[Any]:
    where = [JourneyEnrollment.status == ACTIVE, JourneyEnrollment.next_due_at <= now, column_in(session, JourneyEnrollment.journey, names)]
    columns = (JourneyEnrollment.id, JourneyEnrollment.journey, JourneyEnrollment.contact_id, JourneyEnrollment.round,
               JourneyEnrollment.step, JourneyEnrollment.enrolled_at, JourneyEnrollment.enrolled_values)
    if session.get_bind().dialect.name == "sqlite":
        pick = select(JourneyEnrollment.id).where(*where).order_by(JourneyEnrollment.next_due_at, JourneyEnrollment.id).limit(limit)
        table = JourneyEnrollment.__table__
        stmt = update(table).where(table.c.id.in_(pick.scalar_subquery())).values(step=table.c.step).returning(*columns)
        return sorted(session.execute(stmt).all(), key=lambda r: r.id)
    stmt = select(*columns).where(*where).order_by(JourneyEnrollment.next_due_at, JourneyEnrollment.id).limit(limit)
    return list(session.execute(stmt.with_for_update(skip_locked=True)).all())


def _allowed_at(runtime: Any, step: Step, sent_today: int, now: datetime) -> datetime:
    """The earliest time from ``now`` the step may send: its window, then the daily cap
    (``sent_today``: messages the contact already had today)."""
    settings: AutomationSet = runtime.config.automations
    sends = any(is_message(runtime, a) for a in step.actions)
    window = step.window or (settings.send_window if sends else None)
    at = window.next_open(now) if window is not None else now
    if sends and settings.daily_messages is not None and at < day_start(settings, now) + timedelta(days=1):
        if sent_today >= settings.daily_messages:
            tomorrow = day_start(settings, now) + timedelta(days=1)
            at = window.next_open(tomorrow) if window is not None else tomorrow
    return at


def advance_due(runtime: Any, *, now: datetime | None = None, limit: int = 500) -> Advance:
    """Run the due steps of live journeys (up to ``limit`` enrollments, one transaction).

    Set-based where it counts: the claim, the contacts' views and links, today's message
    counts, the ledger, outbox, timeline and enrollment writes are each one statement (or
    one executemany) per batch; only exit checks on timeline events read per enrollment."""
    from hub.pipeline.views import load_views

    settings: AutomationSet = runtime.config.automations
    journeys = settings.journeys()
    out = Advance()
    if not journeys:
        return out
    now = now or utcnow()
    # Which journeys are live, read before the claiming transaction: on SQLite the claim
    # must be that transaction's first statement (see hub.pipeline.claims).
    with runtime.db.session() as session:
        state = dict(statuses(session))
    live = sorted(n for n in journeys if state.get(n) == LIVE)
    if not live:
        return out
    with runtime.db.session() as session:
        rows = _claim(session, live, now, limit)
        if not rows:
            return out
        views = load_views(session, [r.contact_id for r in rows])
        sends = {r.contact_id for r in rows if r.step < len(journeys[r.journey].steps)
                 and any(is_message(runtime, a) for a in journeys[r.journey].steps[r.step].actions)}
        sent = messages_today_many(session, sends, settings, now) if settings.daily_messages is not None else {}
        jobs: list[Job] = []
        moves: list[dict[str, Any]] = []  # compare-and-set updates, one executemany per shape
        for row in rows:
            auto = journeys[row.journey]
            view = views[row.contact_id]
            move = {"b_id": row.id, "b_step": row.step, "step": row.step, "status": ACTIVE, "next_due_at": None,
                    "exit_reason": None, "updated_at": now}
            if row.step >= len(auto.steps):  # the journey lost steps since: nothing left to do
                moves.append({**move, "status": COMPLETED})
                out.completed += 1
                continue
            reason = exit_reason(session, auto, row, view)
            if reason is not None:
                moves.append({**move, "status": EXITED, "exit_reason": reason[:2000]})
                on_timeline(session, row.contact_id, auto.name, f"exit:{row.id}:r{row.round}", f"退出旅程：{reason}", now)
                out.exited += 1
                continue
            step = auto.steps[row.step]
            allowed = _allowed_at(runtime, step, sent.get(row.contact_id, 0), now)
            if allowed > now:
                moves.append({**move, "next_due_at": allowed})
                out.deferred += 1
                continue
            if row.contact_id in sent and any(is_message(runtime, a) for a in step.actions):
                sent[row.contact_id] += 1  # the cap holds within the batch too (one contact, several journeys)
            jobs.append(Job(auto, row.contact_id, view, step.actions, f"step:r{row.round}:s{row.step}", {}, LIVE,
                            f"step {row.step + 1}/{len(auto.steps)}"))
            out.steps += 1
            following = row.step + 1
            if following >= len(auto.steps):
                moves.append({**move, "step": following, "status": COMPLETED})
                out.completed += 1
            else:
                due = max(row.enrolled_at + timedelta(seconds=auto.steps[following].after), now)
                moves.append({**move, "step": following, "next_due_at": due})
        for done in perform_many(session, runtime, jobs, now):
            out.outbox_ids += done.outbox_ids
        if moves:
            table = JourneyEnrollment.__table__
            session.execute(
                update(table).where(table.c.id == bindparam("b_id"), table.c.step == bindparam("b_step"), table.c.status == ACTIVE)
                .values(step=bindparam("step"), status=bindparam("status"), next_due_at=bindparam("next_due_at"),
                        exit_reason=bindparam("exit_reason"), updated_at=bindparam("updated_at")),
                moves)
    return out


def progress(session: Any, journey: str) -> dict[str, Any]:
    """Counts for ``hub automations show``: per status and per next step."""
    from sqlalchemy import func

    counts: dict[str, Any] = {"active": 0, "exited": 0, "completed": 0, "by_step": {}}
    for status, step, n in session.execute(
        select(JourneyEnrollment.status, JourneyEnrollment.step, func.count()).where(JourneyEnrollment.journey == journey)
        .group_by(JourneyEnrollment.status, JourneyEnrollment.step)
    ):
        counts[status] = counts.get(status, 0) + n
        if status == ACTIVE:
            counts["by_step"][step + 1] = n
    return counts


def trigger_text(trigger: Trigger | None) -> str:
    return trigger.describe() if trigger is not None else ""
