"""Contacts: search, detail (masked), reveal (audited), history, unmerge (audited)."""

from __future__ import annotations

from dataclasses import asdict

from flask_smorest import abort
from marshmallow import RAISE

from hub.web.api import schemas as S
from hub.web.api.common import Blueprint, actor, check_id, runtime
from hub.web.auth import requires

blp = Blueprint("api_contacts", __name__, description="Find a customer and read one history.")


def _view(session, contact_id: int):
    from hub.contacts.queries import contact_view

    view = contact_view(session, check_id(contact_id, "contact"))
    if view is None:
        abort(404, message=f"no contact {contact_id}")
    return view


@blp.route("/contacts", methods=["GET"])
@requires("support")
@blp.arguments(S.SearchArgs, location="query", unknown=RAISE)
@blp.response(200, S.SearchOut)
@blp.alt_response(429, schema=S.ThrottledOut, description="Too many searches with this token; see `Retry-After`.",
                  headers={"Retry-After": {"description": "Seconds until the next search may run.", "schema": {"type": "integer"}}})
def search(args):
    """Search contacts by identity, phone or name (phones and e-mails masked).

    Roles without reveal rights (support) find a phone only by its whole number; operators and
    admins may also search by 3+ digits of one. Every search is audited (`contact.search`:
    who, kind of query, hit count — never the query) and rate-limited per token."""
    from flask import jsonify

    from hub.web.auth import current_principal
    from hub.web.searches import SearchThrottled, run_search
    from hub.web.views import hit_dict

    rt = runtime()
    try:
        with rt.db.session() as s:
            outcome = run_search(rt, s, current_principal(), args["q"], limit=args["limit"], via="api")
            return {"query": args["q"], "results": [hit_dict(rt, h, masked=True) for h in outcome.hits],
                    "whole_number_required": outcome.whole_number_required}
    except SearchThrottled as exc:
        response = jsonify(code=429, status="Too Many Requests", message=str(exc))
        response.status_code = 429
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@blp.route("/contacts/<int:contact_id>", methods=["GET"])
@requires("support")
@blp.response(200, S.ContactOut)
def detail(contact_id: int):
    """One contact: attributes with where each came from, identities (masked), links, merges, SOP journeys,
    departure hand-overs."""
    from hub.web.views import contact_dict

    rt = runtime()
    with rt.db.session() as s:
        view = _view(s, contact_id)
        return {**contact_dict(rt, view, masked=True), "journeys": _journeys(rt, s, view, masked=True),
                "handovers": _handovers(s, view, masked=True)}


def _journeys(rt, session, view, *, masked: bool) -> list[dict]:
    """The contact's SOP journeys (its own enrollments and those of ids merged into it)."""
    from hub.web.automations import contact_journeys

    return contact_journeys(rt, session, [view.id, *view.merged_ids], masked=masked)


def _handovers(session, view, *, masked: bool) -> list[dict]:
    """The contact's departure hand-overs (its own and those of ids merged into it)."""
    from hub.web.automations import contact_handovers

    return contact_handovers(session, [view.id, *view.merged_ids], masked=masked)


@blp.route("/contacts/<int:contact_id>/reveal", methods=["POST"])
@requires("operator")
@blp.response(200, S.ContactOut)
def reveal(contact_id: int):
    """The contact unmasked. Writes `contact.reveal` to the audit log."""
    from hub.web.queries import audit
    from hub.web.views import contact_dict

    rt = runtime()
    with rt.db.session() as s:
        view = _view(s, contact_id)
        audit(s, actor(), "contact.reveal", f"contact:{view.id}", {"via": "api"})
        return {**contact_dict(rt, view, masked=False), "journeys": _journeys(rt, s, view, masked=False),
                "handovers": _handovers(s, view, masked=False)}


@blp.route("/contacts/<int:contact_id>/history", methods=["GET"])
@requires("support")
@blp.arguments(S.HistoryArgs, location="query", unknown=RAISE)
@blp.response(200, S.HistoryOut)
def history(args, contact_id: int):
    """The unified timeline across connectors, newest first, keyset-paginated (`before`)."""
    from hub.contacts.queries import CursorError
    from hub.contacts.queries import history as load_history
    from hub.web.queries import instances_of
    from hub.web.views import event_dict

    rt = runtime()
    connectors = list(args["connector"])
    if args["channel"]:
        by_channel = instances_of(rt, args["channel"])
        connectors = [c for c in connectors if c in by_channel] if connectors else by_channel
        if not connectors:
            return {"events": [], "next_cursor": None}
    with rt.db.session() as s:
        _view(s, contact_id)
        try:
            page = load_history(s, contact_id, kinds=args["kind"], connectors=connectors, limit=args["limit"],
                                before=args.get("before"))
        except CursorError as exc:
            abort(400, message=str(exc))
        return {"events": [event_dict(rt, e, masked=True) for e in page.events], "next_cursor": page.next_cursor}


@blp.route("/contacts/<int:contact_id>/unmerge", methods=["POST"])
@requires("operator")
@blp.arguments(S.UnmergeArgs)
@blp.response(200, S.UnmergeOut)
def unmerge(args, contact_id: int):
    """Undo a wrong merge (one edge, or every merge through an identity). Audited."""
    from hub.identity import IdentityError
    from hub.identity.unmerge import UnmergeError
    from hub.identity.unmerge import unmerge as do_unmerge

    rt = runtime()
    check_id(contact_id, "contact")
    try:
        with rt.db.session() as s:
            result = do_unmerge(s, contact_id, edge_id=args.get("edge_id"), identity=args.get("identity"), rules=rt.rules,
                                policies=rt.config.fields, actor=actor())
    except UnmergeError as exc:
        abort(404 if str(exc).startswith("no contact") else 409, message=str(exc))
    except IdentityError as exc:
        # Well-formed KIND:VALUE that is no identity (unknown kind, invalid number): nothing
        # can have merged through it — the same answer as a real identity with no merge.
        abort(409, message=f"contact {contact_id} has no active merge through {args.get('identity')!r}: {exc}")
    except ValueError as exc:
        abort(422, message=str(exc))
    return {**asdict(result), "survivors": result.survivors}
