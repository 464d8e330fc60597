"""Automations (rules and SOP journeys): list, one with its figures, approve / pause / resume
(audited; the same switches as ``hub automations``, :mod:`hub.automations.control`)."""

from __future__ import annotations

from flask_smorest import abort

from hub.web.api import schemas as S
from hub.web.api.common import Blueprint, actor, runtime
from hub.web.auth import requires

blp = Blueprint("api_automations", __name__, description="Rules and SOP journeys: status, figures, approval.")


@blp.route("/automations", methods=["GET"])
@requires("support")
@blp.response(200, S.AutomationOut(many=True))
def list_():
    """Every configured automation: kind, status (preview, live, paused), trigger, action
    figures (sent, pending, held, failed, capped, preview, done) and journey enrollments."""
    from hub.web.automations import automation_list

    rt = runtime()
    with rt.db.session() as s:
        return automation_list(rt, s)


def _detail(rt, name: str) -> dict:
    from hub.web.automations import automation_detail

    with rt.db.session() as s:
        found = automation_detail(rt, s, name, masked=True)
    if found is None:
        abort(404, message=f"no automation {name!r}")
    return found


@blp.route("/automations/<name>", methods=["GET"])
@requires("support")
@blp.response(200, S.AutomationDetailOut)
def detail(name: str):
    """One automation: the list's figures, its definition with per step how many active
    enrollments wait and how many are due, a sample of contacts (masked) and its latest actions."""
    return _detail(runtime(), name)


def _switch(name: str, verb: str) -> dict:
    from hub.automations import control

    rt = runtime()
    if name not in rt.config.automations.automations:
        abort(404, message=f"no automation {name!r}")
    try:
        getattr(control, verb)(rt, name, actor=actor())
    except ValueError as exc:  # the switch does not apply to its current status
        abort(409, message=str(exc))
    return _detail(rt, name)


@blp.route("/automations/<name>/approve", methods=["POST"])
@requires("admin")
@blp.response(200, S.AutomationDetailOut)
def approve(name: str):
    """Preview → live: its actions are taken from now on (what it recorded in preview is not
    sent afterwards). 409 unless it is in preview. Audited (`automation.approve`)."""
    return _switch(name, "approve")


@blp.route("/automations/<name>/pause", methods=["POST"])
@requires("operator")
@blp.response(200, S.AutomationDetailOut)
def pause(name: str):
    """Stop acting: rules don't fire, journeys don't advance (enrollments keep their place).
    409 if already paused. Audited (`automation.pause`)."""
    return _switch(name, "pause")


@blp.route("/automations/<name>/resume", methods=["POST"])
@requires("admin")
@blp.response(200, S.AutomationDetailOut)
def resume(name: str):
    """Back to live (or to preview, if it was never approved). 409 unless paused. Audited
    (`automation.resume`)."""
    return _switch(name, "resume")
