"""The server-rendered UI: sign-in, search, the contact page with its unified timeline, the
connectors dashboard, dead letters with replay and merge-conflict review.

Jinja templates, one stylesheet and one small script; no build step. Chinese by default,
English with ``?lang=en``. The UI reads through the same helpers as the API
(:mod:`hub.web.queries`, :mod:`hub.web.views`) so both mask and audit alike. Forms carry a
per-session CSRF token; sign-in keeps only the token's hash in the signed session cookie.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from hub.web.auth import RANK, current_principal, hash_token, lookup, requires
from hub.web.ui.i18n import COOKIE, DEFAULT, current_lang, label, t

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static")

#: The channels the timeline knows icons for; any other connector type gets a generic one.
ICONS = ("wecom", "feiyu", "clink", "udesk", "sql", "example")


def _runtime():
    from hub.web import get_runtime

    return get_runtime()


def _tz() -> ZoneInfo:
    return ZoneInfo(os.environ.get("HUB_UI_TIMEZONE", "Asia/Shanghai"))


# -- template helpers ---------------------------------------------------------------------------
def fmt_dt(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "—"
    return value.astimezone(_tz()).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def fmt_ago(seconds: float | None) -> str:
    from hub.web.queries import ago

    parts = ago(seconds)
    return "—" if parts is None else t(f"ago.{parts[1]}", n=parts[0])


def fmt_duration(seconds: float | None) -> str:
    from hub.web.queries import ago

    parts = ago(seconds)
    return "—" if parts is None else t(f"dur.{parts[1]}", n=parts[0])


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (list, tuple)):
        return "、".join(fmt_value(v) for v in value) if current_lang() == "zh-CN" else ", ".join(fmt_value(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and _ISO.match(value):  # timestamps in event details, shown like the rest
        try:
            return fmt_dt(datetime.fromisoformat(value), seconds=True)
        except ValueError:
            return value
    return str(value)


_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$")


def fmt_field(group: str, name: str, value: Any, members: dict[str, str] | None = None) -> str:
    """A value as its registered format says (``talk_seconds`` 372 → 6分12秒, an owner's
    user id → 张三); anything unformattable falls back to :func:`fmt_value`."""
    from hub.web.labels import app_labels, format_duration

    labels = app_labels()
    coded = labels.value(group, name, value, current_lang())
    if coded is not None:
        return coded
    kind = labels.format(group, name)
    if kind == "duration":
        return format_duration(value, current_lang()) or fmt_value(value)
    if kind == "member" and isinstance(value, str) and members and value in members:
        return members[value]
    if kind == "yesno" and value is not None:
        truthy = value in (True, 1, "1", "true", "yes", "是")
        return t("yes") if truthy else t("no")
    return fmt_value(value)


def label_icon(group: str, name: str) -> str | None:
    from hub.web.labels import app_labels

    return app_labels().icon(group, name)


def reason(error: str | None) -> str:
    from hub.web.reasons import explain

    return explain(error, t)


def mask(value: Any) -> Any:
    from hub.web.pii import mask_value

    return mask_value(value)


def actor_name(actor: str | None) -> str:
    """The person behind an audit actor string (``王芳 (token #4, admin)`` → ``王芳``)."""
    from hub.web.ui.audit_text import actor_parts

    return actor_parts(actor or "", t)["name"]


def iso_dt(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    principal = current_principal()
    return {
        "_": t, "label": label, "lang": current_lang(), "principal": principal, "csrf_token": csrf_token, "url_with": url_with,
        "fmt_dt": fmt_dt, "fmt_ago": fmt_ago, "fmt_duration": fmt_duration, "fmt_value": fmt_value, "icons": ICONS,
        "fmt_field": fmt_field, "label_icon": label_icon, "reason": reason, "mask": mask, "actor_name": actor_name, "iso_dt": iso_dt,
        "can": (lambda role: principal is not None and RANK[principal.role] >= RANK[role]),
    }


@bp.before_app_request
def _lang_and_csrf():
    from hub.web.auth import is_api

    if is_api(request.path) or request.blueprint != "ui":
        return None
    current_lang()
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        if not sent or not hmac.compare_digest(str(session.get("csrf", "")), sent):
            return render_template("error.html", title=t("error.generic"), message=t("error.csrf")), 400
    return None


@bp.after_app_request
def _remember_lang(response):
    wanted = request.args.get("lang")
    if wanted and request.blueprint == "ui":
        response.set_cookie(COOKIE, g.get("lang", DEFAULT), max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def forbidden(role: str):
    return render_template("error.html", title=t("error.forbidden"), message=t("error.forbidden_body", role=label_role(role))), 403


def label_role(role: str) -> str:
    return t(f"role.{role}")


def error_page(error: HTTPException):
    """HTML for HTTP errors outside the API (webhooks and sandboxes keep Werkzeug's plain pages)."""
    if request.blueprint != "ui" and not (request.endpoint is None and request.accept_mimetypes.accept_html):
        return error
    title = t("error.not_found") if error.code == 404 else t("error.generic")
    return render_template("error.html", title=title, message=error.description if error.code != 404 else ""), error.code


_ID = re.compile(r"[0-9]{1,18}", re.ASCII)


def _page_id(text: str) -> int | None:
    """A row id from a query or form value: ASCII digits only (``'²'.isdigit()`` is True and
    ``int('²')`` raises), within BIGINT; else None."""
    return int(text) if _ID.fullmatch(text or "") else None


# -- sign-in --------------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ui.search")


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    error = None
    if request.method == "POST":
        token = request.form.get("token", "").strip()
        principal = lookup(_runtime().db, hash_token(token)) if token else None
        if principal is not None:
            session.clear()
            session["token_hash"] = hash_token(token)
            session.permanent = True
            csrf_token()
            return redirect(_safe_next(request.args.get("next")))
        error = t("signin.invalid")
    return render_template("signin.html", error=error, next=request.args.get("next", "")), (401 if error else 200)


@bp.route("/signout", methods=["POST"])
@requires("support")
def signout():
    session.clear()
    return redirect(url_for("ui.signin"))


# -- search ----------------------------------------------------------------------------------------
@bp.route("/")
@requires("support")
def search():
    from hub.web.searches import SearchThrottled, run_search
    from hub.web.views import hit_dict

    query = request.args.get("q", "").replace("\x00", "").strip()[:200]
    hits = None
    whole_number = False
    if query:
        rt = _runtime()
        try:
            with rt.db.session() as s:
                outcome = run_search(rt, s, current_principal(), query, limit=50, via="ui")
                hits = [hit_dict(rt, h, masked=True) for h in outcome.hits]
                whole_number = outcome.whole_number_required
        except SearchThrottled as exc:
            page = render_template("search.html", q=query, hits=None, throttled=exc.retry_after)
            return page, 429, {"Retry-After": str(exc.retry_after)}
    return render_template("search.html", q=query, hits=hits, whole_number=whole_number)


# -- contact ---------------------------------------------------------------------------------------
def _contact_page(contact_id: int, *, masked: bool):
    from hub.contacts.queries import CursorError, contact_view, history
    from hub.web.queries import MAX_ID, instances_of
    from hub.web.views import contact_dict, event_dict

    if contact_id > MAX_ID:
        abort(404)
    rt = _runtime()
    channel = request.args.get("channel") or None
    before = request.args.get("before") or None
    with rt.db.session() as s:
        view = contact_view(s, contact_id)
        if view is None:
            abort(404)
        if view.requested_id is not None and request.method == "GET":
            return redirect(url_for("ui.contact", contact_id=view.id, **request.args))
        contact = contact_dict(rt, view, masked=masked)
        connectors = instances_of(rt, [channel]) if channel else []
        if channel and not connectors:
            connectors = ["-"]  # a channel this hub has no instance of: nothing matches
        try:
            page = history(s, view.id, connectors=connectors, limit=50, before=before)
        except CursorError:
            abort(400)
        events = [event_dict(rt, e, masked=masked) for e in page.events]
        # the channel chips: every channel this contact has events from
        from sqlalchemy import select

        from hub.store.models import Event
        from hub.web.queries import channel_of

        used = s.execute(select(Event.connector).where(Event.contact_id == view.id).distinct()).scalars().all()
        channels = sorted({channel_of(rt, c) for c in used})
        contact["groups"] = _groups(s, view.id, masked=masked)
        from hub.web.automations import contact_handovers, contact_journeys

        contact["journeys"] = contact_journeys(rt, s, [view.id, *view.merged_ids], masked=masked)
        contact["handovers"] = contact_handovers(s, [view.id, *view.merged_ids], masked=masked)
        members = _member_names(s, contact, events)
    return render_template("contact.html", c=contact, events=events, next_cursor=page.next_cursor, channel=channel,
                           channels=channels, revealed=not masked, members=members)


def _member_names(session, contact: dict, events: list[dict]) -> dict[str, str]:
    """Display names for every value on the page shown in the ``member`` format (one query)."""
    from hub.web.labels import app_labels, member_names

    labels = app_labels()
    ids = [a["value"] for a in contact["attributes"] if labels.format("attr", a["name"]) == "member"]
    ids += [v for e in events for k, v in e["data"].items() if labels.format("field", k) == "member"]
    return member_names(session, ids)


def _groups(session, contact_id: int, *, masked: bool) -> list[dict]:
    """The contact's customer groups (from group_joined / group_left events); group names are
    shown to support like chat text, with anything phone-shaped masked."""
    from hub.contacts.groups import group_memberships
    from hub.web.pii import mask_value

    groups = group_memberships(session, contact_id)
    return [{**g, "group_name": mask_value(g.get("group_name"))} for g in groups] if masked else groups


@bp.route("/contacts/<int:contact_id>")
@requires("support")
def contact(contact_id: int):
    return _contact_page(contact_id, masked=True)


@bp.route("/contacts/<int:contact_id>/reveal", methods=["POST"])
@requires("operator")
def reveal(contact_id: int):
    """Render the contact unmasked, once, and write it to the audit log."""
    from hub.contacts.queries import contact_view
    from hub.web.queries import MAX_ID, audit

    if contact_id > MAX_ID:
        abort(404)
    rt = _runtime()
    with rt.db.session() as s:
        view = contact_view(s, contact_id)
        if view is None:
            abort(404)
        audit(s, current_principal().actor, "contact.reveal", f"contact:{view.id}", {"via": "ui"})
    return _contact_page(contact_id, masked=False)


@bp.route("/contacts/<int:contact_id>/unmerge", methods=["POST"])
@requires("operator")
def unmerge(contact_id: int):
    from hub.identity.unmerge import UnmergeError
    from hub.identity.unmerge import unmerge as do_unmerge

    rt = _runtime()
    edge = request.form.get("edge_id", "")
    if _page_id(edge) is None:
        abort(400)
    try:
        with rt.db.session() as s:
            result = do_unmerge(s, contact_id, edge_id=int(edge), rules=rt.rules, policies=rt.config.fields,
                                actor=current_principal().actor)
        flash(f"#{contact_id} → {', '.join('#' + str(x) for x in result.survivors)}", "ok")
    except (UnmergeError, ValueError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.contact", contact_id=contact_id))


# -- operations ------------------------------------------------------------------------------------
@bp.route("/connectors")
@requires("operator")
def connectors():
    from hub.web.queries import connector_statuses

    rt = _runtime()
    _flush_webhook_counts(rt)
    with rt.db.session() as s:
        statuses = connector_statuses(rt, s)
    return render_template("connectors.html", statuses=statuses)


def _flush_webhook_counts(rt) -> None:
    """Bring the webhook door's counters into ``runs`` before showing them (best effort)."""
    from hub.pipeline.runs import flush_webhook_tallies

    try:
        flush_webhook_tallies(rt)
    except Exception:  # noqa: BLE001 - Redis down: the page shows what SQL has
        pass


def _instance_or_404(name: str):
    rt = _runtime()
    if name not in rt.config.connectors:
        abort(404)
    return rt, rt.config.connectors[name]


@bp.route("/connectors/<name>")
@requires("operator")
def connector(name: str):
    """One instance: status, streams and sinks, and its runs (pulls, webhook bursts,
    delivery bursts) with counts and errors, older ones by ``before``."""
    from hub.web.queries import MAX_ID, connector_statuses, list_runs

    rt, _inst = _instance_or_404(name)
    _flush_webhook_counts(rt)
    before = request.args.get("before", "")
    kind = request.args.get("kind") or None
    if kind not in (None, "pull", "webhook", "deliver", "remap"):
        abort(400)
    with rt.db.session() as s:
        (status,) = connector_statuses(rt, s, [name])
        runs = list_runs(s, connector=name, kind=kind, limit=50,
                         before=_page_id(before))
    return render_template("connector.html", st=status, runs=runs, kind=kind)


@bp.route("/connectors/<name>/runs/<int:run_id>")
@requires("operator")
def run_detail(name: str, run_id: int):
    """A run's counts and error, and for a pull the records it read that a mapping rejected."""
    from sqlalchemy import func, select

    from hub.store.models import InboxRow, Run
    from hub.web.queries import MAX_ID

    rt, _inst = _instance_or_404(name)
    if run_id > MAX_ID:
        abort(404)
    with rt.db.session() as s:
        run = s.get(Run, run_id)
        if run is None or run.connector != name:
            abort(404)
        outcomes: dict[str, int] = {}
        rejected: list[InboxRow] = []
        if run.kind == "pull":
            outcomes = dict(s.execute(select(InboxRow.status, func.count()).where(InboxRow.run_id == run.id)
                                      .group_by(InboxRow.status)).all())
            rejected = list(s.scalars(select(InboxRow).where(InboxRow.run_id == run.id, InboxRow.status == "rejected")
                                      .order_by(InboxRow.id).limit(50)))
        s.expunge_all()
    return render_template("run.html", run=run, outcomes=outcomes, rejected=rejected, name=name)


@bp.route("/connectors/<name>/sync", methods=["POST"])
@requires("admin")
def sync_now(name: str):
    """Queue a pull of every enabled stream now (the workers run it), audited."""
    from hub.pipeline.switches import NotSyncable, queue_sync, worker_count

    rt, _inst = _instance_or_404(name)
    try:
        streams = queue_sync(rt, name, actor=current_principal().actor)
        workers = worker_count(rt)
    except NotSyncable as exc:
        key = {"switched_off": "connector.sync_disabled", "config": "connector.config_disabled"}.get(exc.reason, "connector.sync_nothing")
        flash(t(key, name=name), "error")
        return _back_to(name)
    except Exception as exc:  # noqa: BLE001 - Redis down: say so in one line
        flash(t("connector.queue_down", error=type(exc).__name__), "error")
        return _back_to(name)
    flash(t("connector.synced", name=name, streams="、".join(streams) if current_lang() == "zh-CN" else ", ".join(streams)), "ok")
    if not workers:
        flash(t("connector.no_workers"), "error")
    return _back_to(name)


@bp.route("/connectors/<name>/switch", methods=["POST"])
@requires("admin")
def switch(name: str):
    """Switch an instance off (no pulls, writes held) or back on, at once and audited."""
    from hub.pipeline.switches import set_switch

    rt, inst = _instance_or_404(name)
    action = request.form.get("action")
    if action not in ("on", "off"):
        abort(400)
    if not inst.enabled:
        flash(t("connector.config_disabled", name=name), "error")
    elif set_switch(rt, name, action == "on", actor=current_principal().actor):
        flash(t(f"connector.switched_{action}", name=name), "ok")
    return _back_to(name)


def _back_to(name: str):
    """Back to the page the button was on: the dashboard (``back=list``) or the instance's page."""
    return redirect(url_for("ui.connectors") if request.form.get("back") == "list" else url_for("ui.connector", name=name))


@bp.route("/deadletters")
@requires("operator")
def deadletters():
    from hub.pipeline.deadletters import list_dead

    from hub.web.pii import mask_identity, mask_value
    from hub.web.queries import dead_letter_customers

    rt = _runtime()
    letters = sorted(list_dead(rt.db, limit=200), key=lambda d: d.at, reverse=True)
    with rt.db.session() as s:
        customers = dead_letter_customers(rt, s, [d.ref for d in letters])
    for who in customers.values():  # operators see dead letters masked, like every other page
        who["name"] = mask_value(who["name"])
        who["phone"] = mask_identity("phone", who["phone"]) if who["phone"] else None
    return render_template("deadletters.html", letters=letters, customers=customers)


@bp.route("/deadletters/replay", methods=["POST"])
@requires("operator")
def replay():
    from hub.pipeline.deadletters import replay as do_replay

    refs = _dead_refs()
    if refs:
        try:  # re-rendered from the current mapping, unless "as it was" is ticked
            counts = do_replay(_runtime(), refs, actor=current_principal().actor, as_was=request.form.get("as_was") == "1")
        except ValueError as exc:
            flash(str(exc), "error")
        else:
            flash(t("dlq.replayed", outbox=counts["outbox"], inbox=counts["inbox"]), "ok")
            if counts.get("superseded"):
                flash(t("dlq.superseded", n=len(counts["superseded"])), "ok")
            for row_id, message in sorted((counts.get("failed") or {}).items()):
                flash(t("dlq.still_failing", ref=f"outbox:{row_id}", reason=reason(message)), "error")
    return redirect(url_for("ui.deadletters"))


def _dead_refs() -> list[str]:
    """The dead letters a form names: one button's ``one``, or the ticked ``ref`` boxes."""
    one = request.form.get("one")
    return [one] if one else [r for r in request.form.getlist("ref") if r]


@bp.route("/deadletters/discard", methods=["POST"])
@requires("operator")
def discard_dead():
    """Give up on dead letters (kept for the record, no longer listed); audited per row."""
    from hub.pipeline.deadletters import discard

    refs = _dead_refs()
    if refs:
        try:
            counts = discard(_runtime(), refs, actor=current_principal().actor)
        except ValueError as exc:
            flash(str(exc), "error")
        else:
            flash(t("dlq.discarded", outbox=counts["outbox"], inbox=counts["inbox"]), "ok")
    return redirect(url_for("ui.deadletters"))


# -- held writes (preview sinks) -------------------------------------------------------------------
@bp.route("/writes")
@requires("operator")
def pending_writes():
    """待写入: every sink's mode and approval, and the writes preview sinks hold, rendered."""
    from hub.pipeline.preview import held_writes, sink_previews
    from hub.web.pii import mask_value

    rt = _runtime()
    held = held_writes(rt.db, limit=500)
    # the sinks this config writes to, and any other that holds rows or was approved
    previews = [p for p in sink_previews(rt)
                if p.held or p.approved_at or p.sink in getattr(rt.config.connectors.get(p.instance), "sinks", {})]
    by_target: dict[str, list] = {}
    for w in held:
        by_target.setdefault(f"{w.instance}.{w.sink}", []).append(w)
    ids = {w.contact_id for w in held if w.contact_id is not None}
    with rt.db.session() as s:
        from sqlalchemy import select

        from hub.store.models import Contact

        names = dict(s.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(ids))).all()) if ids else {}
    names = {cid: mask_value(name) for cid, name in names.items()}
    payloads = {w.id: _flat(mask_value(w.payload)) for w in held}
    return render_template("writes.html", previews=previews, by_target=by_target, names=names, payloads=payloads,
                           shown=len(held))


def _flat(payload: Any, prefix: str = "") -> dict[str, Any]:
    """``{"customer": {"nick_name": …}}`` → ``{"customer.nick_name": …}``: one row per value written."""
    if not isinstance(payload, dict):
        return {prefix or "value": payload}
    out: dict[str, Any] = {}
    for key, value in payload.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


@bp.route("/writes/approve", methods=["POST"])
@requires("admin")
def approve_writes():
    """Release held writes: the ticked ones (the sink stays in preview), or all of a sink's
    (the sink is approved: later writes flow). Audited."""
    from hub.pipeline.preview import approve, discard_held

    target = request.form.get("target", "")
    action = request.form.get("action")
    if action not in ("approve", "approve_all", "discard") or not target:
        abort(400)
    raw = request.form.getlist("id")
    if any(_page_id(i) is None for i in raw):
        abort(400)
    ids = [int(i) for i in raw]
    actor = current_principal().actor
    try:
        if action == "approve_all":
            done = approve(_runtime(), target, actor=actor)
            flash(t("writes.approved_all", target=target, n=len(done.released)), "ok")
        elif not ids:
            flash(t("writes.none_selected"), "error")
        elif action == "approve":
            done = approve(_runtime(), target, ids=ids, actor=actor)
            flash(t("writes.released", target=target, n=len(done.released)), "ok")
        else:
            dropped = discard_held(_runtime(), target, ids=ids, actor=actor)
            flash(t("writes.discarded", target=target, n=len(dropped)), "ok")
    except ValueError as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.pending_writes"))


@bp.route("/writes/revoke", methods=["POST"])
@requires("admin")
def revoke_writes():
    """Put an approved sink back in preview: its next writes are held again. Audited."""
    from hub.pipeline.preview import revoke

    target = request.form.get("target", "")
    if not target:
        abort(400)
    try:
        gone = revoke(_runtime(), target, actor=current_principal().actor)
        flash(t("writes.revoked", target=target) if gone else t("writes.not_approved", target=target), "ok")
    except ValueError as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.pending_writes"))


@bp.route("/conflicts")
@requires("operator")
def conflicts():
    from hub.identity.review import list_conflicts
    from hub.web.views import conflict_dict

    rt = _runtime()
    with rt.db.session() as s:
        open_ = [conflict_dict(c, masked=True) for c in list_conflicts(s, status="open", limit=200)]
        recent = [conflict_dict(c, masked=True) for c in list_conflicts(s, status=None, limit=30) if c.status != "open"][:10]
        ids = {i for c in open_ for i in (c["contact_a"], c["contact_b"])}
        people = _people(s, rt, ids)
    return render_template("conflicts.html", conflicts=open_, recent=recent, people=people)


def _people(session, rt, ids) -> dict[int, dict]:
    from hub.contacts.queries import contact_view
    from hub.web.views import contact_dict

    out = {}
    for cid in sorted(ids):
        view = contact_view(session, cid)
        if view is not None:
            out[cid] = contact_dict(rt, view, masked=True)
    return out


@bp.route("/conflicts/<int:conflict_id>/resolve", methods=["POST"])
@requires("operator")
def resolve(conflict_id: int):
    from hub.identity.review import ReviewError, resolve_conflict

    action = request.form.get("action")
    if action not in ("merge", "keep_apart", "acknowledge"):
        abort(400)
    rt = _runtime()
    try:
        with rt.db.session() as s:
            resolve_conflict(s, conflict_id, action, current_principal().actor, rules=rt.rules, policies=rt.config.fields, runtime=rt)
        flash(t(f"conflicts.done.{action}", id=conflict_id), "ok")
    except ReviewError as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.conflicts"))


@bp.route("/audit")
@requires("admin")
def audit_log():
    from hub.web.queries import list_audit

    before = request.args.get("before", "")
    with _runtime().db.session() as s:
        entries = list_audit(s, limit=100, before=_page_id(before))
    from hub.web.ui.audit_text import describe

    return render_template("audit.html", entries=[(e, describe(e, t)) for e in entries])


from hub.web.ui import automations as _automations  # noqa: E402,F401  (its routes on this blueprint)
