"""The merge-conflict review queue: list, merge, keep apart (both audited)."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import RAISE

from hub.web.api import schemas as S
from hub.web.api.common import Blueprint, actor, check_id, runtime
from hub.web.auth import requires

blp = Blueprint("api_conflicts", __name__, description="Review contacts that share an identifier but hold different strong ids.")


@blp.route("/conflicts", methods=["GET"])
@requires("operator")
@blp.arguments(S.ConflictListArgs, location="query", unknown=RAISE)
@blp.response(200, S.ConflictOut(many=True))
def list_(args):
    """Merge conflicts, newest first (`status=open` by default; identifiers masked)."""
    from hub.identity.review import list_conflicts
    from hub.web.views import conflict_dict

    rt = runtime()
    status = None if args["status"] == "all" else args["status"]
    with rt.db.session() as s:
        return [conflict_dict(c, masked=True) for c in list_conflicts(s, status=status, limit=args["limit"])]


def _resolve(conflict_id: int, action: str):
    from hub.identity.review import ReviewError, resolve_conflict
    from hub.web.views import conflict_dict

    rt = runtime()
    check_id(conflict_id, "merge conflict")
    try:
        with rt.db.session() as s:
            view = resolve_conflict(s, conflict_id, action, actor(), rules=rt.rules, policies=rt.config.fields, runtime=rt)
            return conflict_dict(view, masked=True)
    except ReviewError as exc:
        abort(404 if "no merge conflict" in str(exc) else 409, message=str(exc))


@blp.route("/conflicts/<int:conflict_id>/merge", methods=["POST"])
@requires("operator")
@blp.response(200, S.ConflictOut)
def merge(conflict_id: int):
    """Same person: merge the two contacts (both strong ids stay). Audited."""
    return _resolve(conflict_id, "merge")


@blp.route("/conflicts/<int:conflict_id>/keep-apart", methods=["POST"])
@requires("operator")
@blp.response(200, S.ConflictOut)
def keep_apart(conflict_id: int):
    """Different people: never merge this pair. Audited."""
    return _resolve(conflict_id, "keep_apart")


@blp.route("/conflicts/<int:conflict_id>/acknowledge", methods=["POST"])
@requires("operator")
@blp.response(200, S.ConflictOut)
def acknowledge(conflict_id: int):
    """A duplicate-record item (a destination holds one person twice): the destination was
    cleaned up. Audited."""
    return _resolve(conflict_id, "acknowledge")
