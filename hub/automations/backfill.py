"""``hub automations run NAME``: act on current data now, once.

Automations act on changes as they arrive. An automation approved after the facts — the
customers already in stage 要求试用, chats that said 太贵了 last week — acts on them only
when asked: ``run`` finds what its trigger matches *now* (the very matching of
``--dry-run``, :mod:`hub.automations.dryrun`) and acts through the same code as processing,
with keys that make a second run, or a run after processing already fired, act once:

* an event trigger: the processing key of that event (``event:<instance>:<native id>``) —
  a chat line that already tagged the contact tags it no more; one seen only while the rule
  was in preview is acted on (key ``run:event:…``), once;
* an attribute trigger of a rule: ``current:attr:<name>:<value>`` per contact, skipped for a
  contact the rule already acted on for a change of that attribute;
* a journey: only contacts never enrolled in it are enrolled (a completed or exited one is
  not restarted by a run);
* a schedule rule: fires now for who matches ``where:`` (keyed by the minute of the run);
* a departure rule: the hand-over job runs now (:func:`hub.automations.departure.advance_departures`).

Only a live automation runs; a paused one or one in preview is refused (preview: use
``--dry-run``). Each contact is its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hub.automations import journeys
from hub.automations.actions import ledger_key, perform
from hub.automations.control import LIVE, PREVIEW, status_of
from hub.automations.spec import Automation
from hub.pipeline.hashing import payload_hash
from hub.pipeline.views import load_views
from hub.store.models import AutomationAction, JourneyEnrollment
from hub.store.types import utcnow

#: Contacts looked at per run at most (a run is an operator's command, not a migration).
LIMIT = 100_000


class NotLive(Exception):
    """The automation is not live: nothing was done."""


@dataclass
class RunResult:
    matched: int = 0
    acted: int = 0
    skipped: int = 0
    outbox_ids: list[int] = field(default_factory=list)
    detail: str = ""


def run_now(runtime: Any, auto: Automation, *, limit: int = LIMIT) -> RunResult:
    from hub.automations.dryrun import _matches

    with runtime.db.session() as s:
        mode = status_of(s, auto.name)
    if mode != LIVE:
        raise NotLive(f"{auto.name} is {mode}: only a live automation runs"
                      + (" (hub automations run NAME --dry-run shows what it would do)" if mode != "paused" else ""))
    out = RunResult()
    if auto.on is not None and auto.on.member is not None:
        from hub.automations.departure import advance_departures

        done = advance_departures(runtime)
        out.detail = str(done)
        return out
    trigger = auto.on or auto.enroll
    if trigger is None:
        return out
    with runtime.db.session() as s:
        matches = _matches(s, trigger, limit)
    out.matched = len(matches)
    now = utcnow()
    stamp = now.strftime("%Y-%m-%dT%H:%M")
    for cid, key, why, values in matches:
        with runtime.db.session() as s:
            view = load_views(s, [cid]).get(cid)
            if view is None:  # merged away meanwhile
                out.skipped += 1
                continue
            if auto.kind == "journey":
                ever = s.scalar(select(JourneyEnrollment.id).where(JourneyEnrollment.journey == auto.name,
                                                                   JourneyEnrollment.contact_id == cid))
                started = ever is None and journeys.enroll(s, runtime, auto, cid, view, _current(key, values), why, mode, now)
                out.acted += bool(started)
                out.skipped += not started
                continue
            if key.startswith("dry-run:schedule"):
                key_base = f"run:schedule:{stamp}"
            elif key.startswith("dry-run:event:"):
                key_base = key.removeprefix("dry-run:")
                if _previewed(s, auto.name, cid, key_base):  # seen in preview only: the run acts (once)
                    key_base = "run:" + key_base
            else:
                attribute = trigger.attribute
                if s.scalar(select(AutomationAction.id).where(
                        AutomationAction.automation == auto.name, AutomationAction.contact_id == cid,
                        AutomationAction.key.like(ledger_key(auto.name, cid, f"attr:{attribute}:") + "%")).limit(1)):
                    out.skipped += 1
                    continue
                key_base = _current(key, values)
            done = perform(s, runtime, auto, cid, view, auto.actions, key_base, values, mode, now, f"run: {why}")
            out.outbox_ids += done.outbox_ids
            acted = any(status != "duplicate" for status in done.statuses)
            out.acted += acted
            out.skipped += not acted
    if out.outbox_ids:
        from hub.pipeline.jobs import _safely, enqueue_deliver

        _safely("delivery", enqueue_deliver, runtime, out.outbox_ids)
    return out


def _previewed(session: Any, automation: str, contact_id: int, key_base: str) -> bool:
    return session.scalar(select(AutomationAction.id).where(
        AutomationAction.automation == automation, AutomationAction.contact_id == contact_id, AutomationAction.status == PREVIEW,
        AutomationAction.key.like(ledger_key(automation, contact_id, key_base) + ":%")).limit(1)) is not None


def _current(key: str, values: dict[str, Any]) -> str:
    """``current:attr:<name>:<digest of the value>`` from the dry run's ``dry-run:attr:<name>``."""
    return f"current:{key.removeprefix('dry-run:')}:{payload_hash([values.get('value')])[:16]}"
