"""The set-attribute action: ``do: {set: {segment: 高意向}}``.

It sets a hub attribute on the contact as a source of its own, ``automation:<name>``, through
the same machinery as a record from any system:

* the **field policy** decides (``hub.contacts.policy.wins``): a field that prefers the CRM
  keeps the CRM's value, and the action is recorded ``unchanged`` with the reason; the same
  value as now changes nothing (``unchanged``, no write, no trigger);
* a change is an ``attribute_changed`` entry on the contact's timeline;
* every sink whose **outbound mapping** renders the contact is rendered anew
  (``hub.pipeline.process._write_outbox``: convergent, so a pending rendering is superseded);
* the **attribute triggers** of other automations see the change (``hub.automations.rules``),
  and they may act in turn. A change never fires the automation that made it, directly or
  through others (the chain of automations that caused it is carried along), so two rules
  cannot set each other's attributes back and forth forever.

Placeholders work in the value (``{match}``, ``{attributes.NAME}`` …): a value that is exactly
one placeholder keeps its type. ``{set: {a: 1, b: 2}}`` is two actions, in the order written.
Each is keyed once like every action (``automation_actions``, kind ``set``).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

from hub.automations.spec import Action, Automation

#: ``session.info`` key: the automations whose attribute changes are being evaluated now.
CHAIN_KEY = "hub_automation_chain"
#: How many automations deep a chain of changes may go before its changes stop firing
#: triggers (a backstop: each automation appears in a chain once anyway).
MAX_CHAIN = 8
#: The outbox origin of renderings a set caused (not ``automation:…``: those are an
#: automation's own writes, which renderings never supersede; these are renderings).
RENDER_ORIGIN = "automation-set:"


def parse_set(col: Any, path: tuple, raw: Any) -> list[Action]:
    """``{NAME: VALUE, …}`` → one action per attribute."""
    if not isinstance(raw, dict) or not raw:
        col.add(path, "expected {attribute name: value}, e.g. {segment: 高意向} (the value may use {match})")
        return []
    out = []
    for name, value in raw.items():
        if not isinstance(name, str) or not name.strip() or name.startswith("__") or len(name) > 100:
            col.add(path + (name,), "expected an attribute name (letters, digits, '_'; at most 100 characters)")
        elif value is None or (isinstance(value, str) and not value.strip()):
            col.add(path + (name,), "expected a value (a blank value never sets an attribute)")
        elif isinstance(value, dict):
            col.add(path + (name,), "expected a plain value or a list, not a mapping")
        else:
            out.append(Action(assign=(name.strip(), value)))
    return out


def caused_by(session: Any) -> frozenset[str]:
    """The automations whose changes are being evaluated now (they must not fire again)."""
    return session.info.get(CHAIN_KEY, frozenset())


@contextmanager
def _chain(session: Any, name: str) -> Iterator[None]:
    before = caused_by(session)
    session.info[CHAIN_KEY] = before | {name}
    try:
        yield
    finally:
        session.info[CHAIN_KEY] = before


class Setter:
    """The set actions of one :func:`hub.automations.actions.perform_many` call.

    Built before the actions are planned: it locks the contacts it will change (as
    processing does, so of two workers changing one contact the later renders both) and
    reads their stored attributes; :meth:`plan` judges each action under the field policy
    and shows the new value to the job's later actions; :meth:`apply` writes the changes
    whose ledger rows were new and runs what follows from them."""

    def __init__(self, session: Any, runtime: Any, jobs: list[Any]):
        from hub.automations.control import LIVE

        self.session, self.runtime = session, runtime
        ids = {j.contact_id for j in jobs if j.mode == LIVE and any(a.assign is not None for a in j.actions)}
        self.current: dict[int, dict[str, Any]] = {}
        self.changes: list[tuple[int, int, Automation, int, str, Any, Any]] = []  # (job, ledger id, automation, contact, name, old, new)
        self.views: dict[int, list[dict[str, Any]]] = {}  # the jobs' views of changed contacts, refreshed after
        if ids:
            from hub.contacts.attributes import load_attributes
            from hub.pipeline import outbound

            outbound.lock_contacts(session, ids)
            self.current = load_attributes(session, ids)

    def rendered(self, action: Action, view: dict[str, Any], values: dict[str, Any], contact_id: int) -> dict[str, Any]:
        from hub.automations.actions import render
        from hub.pipeline.hashing import jsonable

        name, value = action.assign  # type: ignore[misc]
        return {"attribute": name, "value": jsonable(render(value, view, values, contact_id))}

    def plan(self, automation: Automation, contact_id: int, view: dict[str, Any], payload: dict[str, Any],
             now: datetime) -> tuple[str, str | None]:
        """``(status, detail)`` of a live set: ``done`` if it changes the contact (the view
        and this batch's state then hold the new value), else ``unchanged`` and why."""
        from hub.contacts.policy import AttrValue, wins

        name, value = payload["attribute"], payload["value"]
        held = self.current.setdefault(contact_id, {})
        current = held.get(name)
        if current is not None and current.value == value:
            return "unchanged", f"{name} is already {value}"
        policy = self.runtime.config.field_policy(name)
        # As of now — and never older than the value it replaces: the automation acted on
        # it, so its change comes after it (whatever the clocks of the cascade or the source).
        at = now if current is None or current.source_ts is None or current.source_ts < now else current.source_ts + timedelta(microseconds=1)
        incoming = AttrValue(value, (f"automation:{automation.name}")[:64], at)
        if not wins(policy, current, incoming):
            if policy.policy == "none":
                return "unchanged", f"the field policy of {name} is none: the hub does not store it"
            return "unchanged", f"the field policy keeps {current.connector}'s {name} ({current.value})" if current else \
                f"the field policy does not store {name} = {value}"
        held[name] = incoming
        view["attributes"] = {**view["attributes"], name: value}
        return "done", None

    def record(self, job_index: int, ledger_id: int, automation: Automation, contact_id: int, payload: dict[str, Any],
               old: Any, view: dict[str, Any]) -> None:
        self.changes.append((job_index, ledger_id, automation, contact_id, payload["attribute"], old, payload["value"]))
        if not any(v is view for v in self.views.get(contact_id, [])):
            self.views.setdefault(contact_id, []).append(view)

    def old_value(self, contact_id: int, name: str) -> Any:
        """The value before this batch (for the timeline), read before :meth:`plan`."""
        current = self.current.get(contact_id, {}).get(name)
        return current.value if current is not None else None

    def apply(self, now: datetime) -> dict[int, list[int]]:
        """Write the changes, put them on the timeline, render the sinks and fire the other
        automations' triggers; returns new outbox ids per job index."""
        from hub.canonical import CanonicalRecord
        from hub.contacts.apply import ATTRIBUTE_EVENT, ApplyItem, ApplyResult
        from hub.contacts.attributes import write_attributes
        from hub.pipeline.outbound import Change
        from hub.pipeline.process import ProcessOutcome, _write_outbox
        from hub.pipeline.views import load_views
        from hub.store.models import Event
        from hub.store.upsert import insert_ignore

        if not self.changes:
            return {}
        session = self.session
        write_attributes(session, {(cid, name): self.current[cid][name] for _, _, _, cid, name, _, _ in self.changes})
        events = []
        for _, lid, auto, cid, name, old, new in self.changes:
            said = f"{name}: {old} → {new}" if old is not None else f"{name} → {new}"
            events.append({"connector": "automation", "native_id": f"set:{lid}", "kind": ATTRIBUTE_EVENT, "occurred_at": now,
                           "summary": f"{auto.name}: {said}"[:500], "contact_id": cid, "origin_contact_id": cid, "created_at": now,
                           "data": {"attribute": name, "old": old, "new": new, "source": f"automation:{auto.name}",
                                    "automation": auto.name}})
        insert_ignore(session, Event, events, ["connector", "native_id"])
        self._keep_journeys_own(now)
        owner = {}
        for ji, _, _, cid, _, _, _ in self.changes:
            owner.setdefault(cid, ji)
        out: dict[int, list[int]] = {}
        # The sinks: one rendering per changed contact, as after any record.
        changed: dict[int, Change] = {}
        for _, _, auto, cid, name, _, _ in self.changes:
            change = changed.setdefault(cid, Change())
            change.origins.add(RENDER_ORIGIN + auto.name)
            change.names.add(name)
        views = load_views(session, changed)
        outcome = ProcessOutcome()
        _write_outbox(session, self.runtime, changed, views, outcome)
        for oid, cid in self._contacts_of(outcome.outbox_ids):
            out.setdefault(owner[cid], []).append(oid)
        # The triggers: per automation that set something, with it (and its causes) left out.
        from hub.automations.rules import evaluate

        by_auto: dict[str, list[tuple[Any, Any]]] = {}
        results: dict[str, list[Any]] = {}
        for _, lid, auto, cid, name, _, new in self.changes:
            origin = f"automation:{auto.name}"[:64]
            item = ApplyItem(origin, "set", str(lid), CanonicalRecord(attributes={name: new}, source_updated_at=now))
            by_auto.setdefault(auto.name, []).append((None, item))
            results.setdefault(auto.name, []).append(ApplyResult(origin, "set", str(lid), cid, attributes_changed=[name]))
        if len(caused_by(session)) < MAX_CHAIN:
            for name, items in by_auto.items():
                with _chain(session, name):
                    new_ids = evaluate(session, self.runtime, items, results[name], views)
                for oid, cid in self._contacts_of(new_ids):
                    out.setdefault(owner.get(cid, 0), []).append(oid)
        # The callers' views show the contacts as they are now (what the triggers did too).
        fresh = load_views(session, self.views)
        for cid, held in self.views.items():
            for view in held:
                view.clear()
                view.update(fresh[cid])
        self.changes, self.views = [], {}
        return out

    def _contacts_of(self, outbox_ids: list[int]) -> list[tuple[int, int]]:
        from sqlalchemy import select

        from hub.store.models import OutboxRow
        from hub.store.upsert import column_in

        if not outbox_ids:
            return []
        return list(self.session.execute(select(OutboxRow.id, OutboxRow.contact_id).where(column_in(self.session, OutboxRow.id, outbox_ids))).all())

    def _keep_journeys_own(self, now: datetime) -> None:
        """A journey step that sets an attribute its own exit conditions watch moves the
        enrollment's snapshot along: its own change does not end it at the next step."""
        from sqlalchemy import select

        from hub.automations.journeys import ACTIVE, _watched
        from hub.store.models import JourneyEnrollment

        for _, _, auto, cid, name, _, new in self.changes:
            if auto.kind != "journey" or name not in _watched(auto):
                continue
            row = self.session.execute(select(JourneyEnrollment).where(
                JourneyEnrollment.journey == auto.name, JourneyEnrollment.contact_id == cid,
                JourneyEnrollment.status == ACTIVE)).scalar_one_or_none()
            if row is not None:
                row.enrolled_values = {**(row.enrolled_values or {}), name: new}
                row.updated_at = now
