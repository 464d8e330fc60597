"""The automations pages: the list, one page per automation (definition, status with approve /
pause / resume, enrollments per step, action figures, a sample of contacts, latest actions).

Everyone signed in may read them (a support agent follows an automation's name from a
customer's timeline); pausing is an operator's brake, approving and resuming — which make an
automation act — are an admin's, as approving a sink is. Every switch is a CSRF-checked form
through :mod:`hub.automations.control`, audited with the token's name."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from hub.web.auth import current_principal, requires
from hub.web.ui import bp
from hub.web.ui.i18n import t


def _runtime():
    from hub.web import get_runtime

    return get_runtime()


@bp.app_context_processor
def _automation_globals() -> dict:
    """``has_automations()``: the menu links the automations page (for operators and admins)
    only when the config has any; support agents reach an automation's page from the
    timeline."""
    from hub.web.cron_text import describe
    from hub.web.ui.i18n import current_lang

    return {"has_automations": lambda: bool(_runtime().config.automations.automations),
            "cron_words": lambda expression: describe(expression, current_lang())}


@bp.route("/automations")
@requires("support")
def automations():
    from hub.web.automations import automation_list

    rt = _runtime()
    with rt.db.session() as s:
        items = automation_list(rt, s)
    return render_template("automations.html", items=items)


@bp.route("/automations/<name>")
@requires("support")
def automation(name: str):
    from hub.web.automations import automation_detail

    rt = _runtime()
    with rt.db.session() as s:
        found = automation_detail(rt, s, name, masked=True)
    if found is None:
        abort(404)
    return render_template("automation.html", a=found)


def _switch(name: str, verb: str):
    from hub.automations import control

    rt = _runtime()
    if name not in rt.config.automations.automations:
        abort(404)
    try:
        status = getattr(control, verb)(rt, name, actor=current_principal().actor)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        flash(t(f"auto.{verb}d", name=name, status=t(f"auto.status.{status}")), "ok")
    return redirect(url_for("ui.automation", name=name))


@bp.route("/automations/<name>/approve", methods=["POST"])
@requires("admin")
def automation_approve(name: str):
    return _switch(name, "approve")


@bp.route("/automations/<name>/pause", methods=["POST"])
@requires("operator")
def automation_pause(name: str):
    return _switch(name, "pause")


@bp.route("/automations/<name>/resume", methods=["POST"])
@requires("admin")
def automation_resume(name: str):
    return _switch(name, "resume")
