"""Who am I, the audit log, API tokens."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import RAISE
from sqlalchemy import select

from hub.store.models import ApiToken
from hub.store.types import utcnow
from hub.web.api import schemas as S
from hub.web.api.common import Blueprint, actor, check_id, runtime
from hub.web.auth import current_principal, requires

blp = Blueprint("api_admin", __name__, description="The caller, the audit log, API tokens.")


@blp.route("/me", methods=["GET"])
@requires("support")
@blp.response(200, S.MeOut)
def me():
    """The token this request authenticated with."""
    return current_principal().__dict__


@blp.route("/audit", methods=["GET"])
@requires("admin")
@blp.arguments(S.AuditArgs, location="query", unknown=RAISE)
@blp.response(200, S.AuditOut(many=True))
def audit_log(args):
    """Replays, merges, unmerges, reveals and token changes, newest first (page with `before`)."""
    from hub.web.queries import list_audit

    rt = runtime()
    with rt.db.session() as s:
        return list_audit(s, action=args.get("action"), actor=args.get("actor"), target=args.get("target"),
                          limit=args["limit"], before=args.get("before"))


@blp.route("/tokens", methods=["GET"])
@requires("admin")
@blp.response(200, S.TokenOut(many=True))
def tokens():
    """All API tokens (never their values)."""
    rt = runtime()
    with rt.db.session() as s:
        return list(s.scalars(select(ApiToken).order_by(ApiToken.id)))


@blp.route("/tokens", methods=["POST"])
@requires("admin")
@blp.arguments(S.TokenCreateArgs)
@blp.response(201, S.TokenCreatedOut)
def create_token(args):
    """A new token; its value is in this answer only. Audited."""
    from hub.web.auth import create_token as make
    from hub.web.queries import audit

    rt = runtime()
    token_id, token = make(rt.db, args["name"], args["role"])
    with rt.db.session() as s:
        audit(s, actor(), "token.create", f"token:{token_id}", {"name": args["name"], "role": args["role"]})
        row = s.get(ApiToken, token_id)
        return {**{c: getattr(row, c) for c in ("id", "name", "role", "created_at", "last_used_at", "revoked_at")}, "token": token}


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@requires("admin")
@blp.response(200, S.TokenOut)
def revoke_token(token_id: int):
    """Revoke a token: it stops working at once. Audited."""
    from hub.web.queries import audit

    rt = runtime()
    check_id(token_id, "token")
    with rt.db.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            abort(404, message=f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit(s, actor(), "token.revoke", f"token:{token_id}", {"name": row.name})
        s.flush()
        return row
