"""``hub automations run NAME --dry-run``: what an automation would do against current data.

It finds the contacts its trigger matches *now* — an attribute holding the ``becomes``
value (any value for ``changes: true``), or a stored timeline event of the trigger's kinds
that passes its conditions and text match — and renders the actions (for a journey: the
enrollment and its first step) through the very code that acts, inside a transaction that
is rolled back. Nothing is written, sent or recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hub.automations.actions import perform
from hub.automations.control import PREVIEW
from hub.automations.spec import ANY, Automation, Trigger
from hub.pipeline.views import load_views
from hub.store.models import AutomationAction, ContactAttribute, Event
from hub.store.types import utcnow
from hub.store.upsert import column_in


@dataclass
class Would:
    contact_id: int
    why: str
    actions: list[dict[str, Any]] = field(default_factory=list)  # {target, status, payload, detail}


def _matches(session: Any, trigger: Trigger, limit: int) -> list[tuple[int, str, str, dict[str, Any]]]:
    """``(contact_id, trigger key, why, template values)`` for current data."""
    out = []
    if trigger.schedule is not None:  # who matches where: now (hub.automations.schedule)
        from hub.automations.schedule import first_matches

        why = " and ".join(c.describe() for c in trigger.schedule.where)
        return [(cid, "dry-run:schedule", why, {}) for cid in first_matches(session, trigger.schedule, limit)]
    if trigger.attribute:
        query = select(ContactAttribute.contact_id, ContactAttribute.value).where(ContactAttribute.name == trigger.attribute)
        for cid, value in session.execute(query.order_by(ContactAttribute.contact_id)):
            if value in (None, "") or (trigger.becomes is not ANY and not trigger.attribute_fires(trigger.attribute, object(), value)):
                continue
            out.append((cid, f"dry-run:attr:{trigger.attribute}", f"{trigger.attribute} = {value}", {"value": value}))
            if len(out) >= limit:
                break
        return out
    query = (select(Event.contact_id, Event.connector, Event.native_id, Event.kind, Event.summary, Event.data)
             .where(column_in(session, Event.kind, trigger.events)).order_by(Event.id.desc()))
    for cid, connector, native, kind, summary, data in session.execute(query):
        values = trigger.event_fires({"kind": kind, "summary": summary or "", "data": data or {}, "connector": connector})
        if values is None:
            continue
        why = f"{kind} {values['keyword']} → {values['match']}" if "match" in values else f"{kind} {summary or ''}".strip()
        out.append((cid, f"dry-run:event:{connector}:{native}", why, values))
        if len(out) >= limit:
            break
    return out


def dry_run(runtime: Any, auto: Automation, *, limit: int = 20) -> list[Would]:
    """Up to ``limit`` contacts the automation would act on now, with rendered actions."""
    if auto.on is not None and auto.on.member is not None:  # a departure (hub.automations.departure)
        from hub.automations.departure import dry_run as departure_dry_run

        return departure_dry_run(runtime, auto, limit=limit)
    trigger = auto.on or auto.enroll
    found: list[Would] = []
    session = runtime.db.sessionmaker()
    try:
        matches = _matches(session, trigger, limit) if trigger is not None else []
        views = load_views(session, [m[0] for m in matches])
        now = utcnow()
        actions = auto.actions if auto.kind == "rule" else (auto.steps[0].actions if auto.steps else [])
        for cid, key, why, values in matches:
            would = Would(cid, why)
            if auto.kind == "journey":
                would.actions.append({"target": f"enroll {auto.name}", "status": PREVIEW, "payload": None, "detail": None})
            done = perform(session, runtime, auto, cid, views[cid], actions, key, values, PREVIEW, now)
            rows = session.execute(select(AutomationAction).where(AutomationAction.contact_id == cid,
                                                                  AutomationAction.key.like(f"{auto.name}:{cid}:{key}:%"))).scalars()
            for row in rows:
                would.actions.append({"target": row.target, "status": row.status, "payload": row.payload, "detail": row.detail})
            del done
            found.append(would)
    finally:
        session.rollback()
        session.close()
    return found
