"""What IT watches: connector status, runs, dead letters (and replaying them, audited)."""

from __future__ import annotations

from flask_smorest import Blueprint, abort
from marshmallow import RAISE

from hub.web.api import schemas as S
from hub.web.api.common import actor, runtime
from hub.web.auth import requires

blp = Blueprint("api_operations", __name__, description="Connector health, runs, dead letters.")


def _status_dict(st) -> dict:
    return {**st.__dict__, "streams": [s.__dict__ for s in st.streams]}


@blp.route("/connectors", methods=["GET"])
@requires("operator")
@blp.response(200, S.ConnectorOut(many=True))
def connectors():
    """Every configured connector instance: health, last runs, cursors, lag, error rate, recent errors."""
    from hub.web.queries import connector_statuses

    rt = runtime()
    with rt.db.session() as s:
        return [_status_dict(st) for st in connector_statuses(rt, s)]


@blp.route("/connectors/<name>", methods=["GET"])
@requires("operator")
@blp.response(200, S.ConnectorOut)
def connector(name: str):
    """One connector instance's status, with its last 20 runs."""
    from hub.web.queries import connector_statuses

    rt = runtime()
    with rt.db.session() as s:
        found = connector_statuses(rt, s, [name], runs=20)
        if not found:
            abort(404, message=f"no connector instance {name!r}")
        return _status_dict(found[0])


@blp.route("/runs", methods=["GET"])
@requires("operator")
@blp.arguments(S.RunArgs, location="query", unknown=RAISE)
@blp.response(200, S.RunOut(many=True))
def runs(args):
    """Pull, webhook, remap and delivery runs, newest first (page with `before`)."""
    from hub.web.queries import list_runs

    rt = runtime()
    with rt.db.session() as s:
        return list_runs(s, connector=args.get("connector"), status=args.get("status"), limit=args["limit"],
                         before=args.get("before"))


@blp.route("/deadletters", methods=["GET"])
@requires("operator")
@blp.arguments(S.DeadLetterArgs, location="query", unknown=RAISE)
@blp.response(200, S.DeadLetterOut(many=True))
def dead_letters(args):
    """Outbox rows that gave up and inbox rows a mapping rejected, newest first."""
    from hub.pipeline.deadletters import list_dead

    rt = runtime()
    return [{**d.__dict__, "ref": d.ref} for d in list_dead(rt.db, limit=args["limit"])]


@blp.route("/deadletters/replay", methods=["POST"])
@requires("operator")
@blp.arguments(S.ReplayArgs)
@blp.response(200, S.ReplayOut)
def replay(args):
    """Reset the given dead letters to pending and queue them again. Each one is audited."""
    from hub.pipeline.deadletters import replay as do_replay

    rt = runtime()
    try:
        return do_replay(rt, list(dict.fromkeys(args["refs"])), actor=actor())
    except ValueError as exc:
        abort(409, message=str(exc))
