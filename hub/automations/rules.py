"""Triggers evaluated while processing, right after a batch is applied.

Processing calls :func:`evaluate` inside its transaction, after the outbox rows of the
batch are written (``hub.pipeline.process._apply``). For every applied record it looks at

* the attributes the record changed (``ApplyResult.attributes_changed``) and the value it
  set — ``{attribute: stage, becomes: 要求试用}`` fires when the record sets 要求试用 and the
  contact held something else; ``changes: true`` on any change;
* the events the record carries — ``{event: chat_message, text_matches: …}``.

A firing rule performs its actions (:mod:`hub.automations.actions`); a journey's exit
triggers end active enrollments, then its enroll trigger enrolls (exits first, so the very
change that enrolls a contact does not also end the enrollment). Each is keyed by
(automation, contact, the change or event that fired it): re-processing the same inbox rows,
or the same change arriving twice, acts once. Nothing here runs for a config without
automations.
"""

from __future__ import annotations

from typing import Any, Iterator

from hub.automations import journeys
from hub.automations.actions import perform
from hub.automations.control import PAUSED, status_of
from hub.automations.spec import Automation, Trigger
from hub.pipeline.hashing import jsonable, payload_hash
from hub.store.types import utcnow

#: One firing: (the trigger key, the template values, a description).
Firing = tuple[str, dict[str, Any], str]


def _changes(items: list[tuple[Any, Any]], results: list[Any]) -> Iterator[tuple[int, Any, Any]]:
    for (row, item), result in zip(items, results):
        if result.contact_id is not None:
            yield result.contact_id, item, result


def firings(trigger: Trigger, item: Any, result: Any) -> list[Firing]:
    """Every way ``trigger`` fires for one applied record."""
    record = item.record
    out: list[Firing] = []
    if trigger.on_attribute:
        name = trigger.attribute
        if name in result.attributes_changed and name in record.attributes:
            new = jsonable(record.attributes[name])
            if trigger.attribute_fires(name, object(), new):
                digest = payload_hash([new, record.source_updated_at])[:20]
                out.append((f"attr:{name}:{item.instance}:{item.native_id}:{digest}", {"value": new}, f"{name} → {new}"))
        return out
    for ev in record.events:
        native = ev.native_id or f"{item.native_id}:{ev.kind}"
        event = {"kind": ev.kind, "summary": ev.summary or "", "data": jsonable(ev.data or {}), "connector": item.instance}
        values = trigger.event_fires(event)
        if values is not None:
            label = f"{ev.kind} {values['keyword']} → {values['match']}" if "match" in values else str(ev.kind)
            out.append((f"event:{item.instance}:{native}", values, label))
    return out


def evaluate(session: Any, runtime: Any, items: list[tuple[Any, Any]], results: list[Any], views: dict[int, dict[str, Any]]) -> list[int]:
    """Fire the automations this batch triggers; returns new outbox ids (to deliver)."""
    settings = runtime.config.automations
    if not settings:
        return []
    now = utcnow()
    outbox: list[int] = []
    changes = list(_changes(items, results))
    # Changes an automation made ({set: …}) never fire it again, directly or through others.
    skip = session.info.get("hub_automation_chain", frozenset())
    # Every exit first, then enrollments and rules: the change that enrolls a contact (by a
    # journey's own trigger or a rule's enroll action) never ends that same enrollment.
    for auto in settings.automations.values():
        if auto.name in skip:
            continue
        for contact_id, item, result in changes:
            for trigger in auto.exits:
                for key, _, label in firings(trigger, item, result):
                    journeys.exit_contact(session, auto, contact_id, f"{label} ({key})"[:500], now)
    for name, auto in settings.automations.items():
        if name in skip:
            continue
        mode = status_of(session, name)
        if auto.kind == "journey":
            if mode == PAUSED:
                continue
            for contact_id, item, result in changes:
                view = views.get(contact_id)
                if view is None:
                    continue
                for key, _, label in firings(auto.enroll, item, result):  # type: ignore[arg-type]
                    journeys.enroll(session, runtime, auto, contact_id, view, key, label, mode, now)
            continue
        if mode == PAUSED or auto.on is None:
            continue
        for contact_id, item, result in changes:
            view = views.get(contact_id)
            if view is None:
                continue
            for key, values, label in firings(auto.on, item, result):
                outbox += perform(session, runtime, auto, contact_id, view, auto.actions, key, values, mode, now, label).outbox_ids
    return outbox


def rule_summary(auto: Automation) -> str:
    trig = auto.on or auto.enroll
    return trig.describe() if trig is not None else ""
