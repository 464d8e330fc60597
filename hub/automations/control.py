"""Preview, approval, pause and resume: the operator's switches for each automation.

A new automation starts in **preview**, like a sink in preview (``hub.pipeline.preview``):
its triggers are evaluated and every action it would take is recorded in
``automation_actions`` with status ``preview`` — who would be tagged, enrolled or written
to and with what payload — but nothing is sent, tagged or enrolled. ``hub automations
approve NAME`` makes it live from then on; previewed actions are *not* sent afterwards (a
"welcome to your trial" days late is worse than none). ``pause`` stops a live automation
(rules do not fire, journeys do not advance; enrollments keep their place) and ``resume``
lets it carry on. Every switch is a row in ``automation_states`` and an audit entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import AuditEntry, AutomationState
from hub.store.types import utcnow

PREVIEW, LIVE, PAUSED = "preview", "live", "paused"


def statuses(session: Any) -> dict[str, str]:
    """``name → status`` of every automation with a row; read once per transaction
    (cached in ``session.info``). An automation without a row is in preview."""
    cache = session.info.get("hub_automation_states")
    if cache is None:
        cache = {r.name: r.status for r in session.scalars(select(AutomationState))}
        session.info["hub_automation_states"] = cache
    return cache


def status_of(session: Any, name: str) -> str:
    return statuses(session).get(name, PREVIEW)


def _known(runtime: Any, name: str) -> None:
    autos = runtime.config.automations.automations
    if name not in autos:
        from hub.config import did_you_mean

        raise ValueError(f"no automation {name!r}{did_you_mean(name, autos)}; configured: {sorted(autos) or 'none'}")


def _switch(runtime: Any, name: str, actor: str, action: str, allowed: tuple[str, ...], to: str | None) -> str:
    _known(runtime, name)
    now = utcnow()
    with runtime.db.session() as s:
        row = s.get(AutomationState, name)
        current = row.status if row is not None else PREVIEW
        if current not in allowed:
            raise ValueError(f"{name} is {current}; {action} applies to an automation that is {' or '.join(allowed)}")
        new = to or (LIVE if row is not None and row.approved_at is not None else PREVIEW)
        if row is None:
            row = AutomationState(name=name, status=new, updated_at=now)
            s.add(row)
        row.status, row.updated_at = new, now
        if action == "approve":
            row.approved_at, row.approved_by = now, actor[:100]
        s.add(AuditEntry(actor=actor[:100], action=f"automation.{action}", target=name[:255], at=now,
                         detail={"from": current, "to": new}))
    return new


def approve(runtime: Any, name: str, *, actor: str) -> str:
    """Preview → live: actions from now on are sent."""
    return _switch(runtime, name, actor, "approve", (PREVIEW,), LIVE)


def pause(runtime: Any, name: str, *, actor: str) -> str:
    """Stop acting (rules and journey steps); enrollments keep their place."""
    return _switch(runtime, name, actor, "pause", (PREVIEW, LIVE), PAUSED)


def resume(runtime: Any, name: str, *, actor: str) -> str:
    """Back to live (or to preview, if it was never approved)."""
    return _switch(runtime, name, actor, "resume", (PAUSED,), None)
