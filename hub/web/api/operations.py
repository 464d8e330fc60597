"""What IT watches and does: connector status, runs, dead letters (replaying and discarding
them), sync now and switching a connector off and on — the actions audited."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import RAISE

from hub.web.api import schemas as S
from hub.web.api.common import Blueprint, actor, runtime
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


def _switchable(name: str):
    rt = runtime()
    if name not in rt.config.connectors:
        abort(404, message=f"no connector instance {name!r}")
    return rt


@blp.route("/connectors/<name>/sync", methods=["POST"])
@requires("admin")
@blp.response(202, S.SyncOut)
def sync(name: str):
    """Queue a pull of every enabled stream of the instance for the workers (audited)."""
    from hub.pipeline.switches import NotSyncable, queue_sync, worker_count

    rt = _switchable(name)
    try:
        streams = queue_sync(rt, name, actor=actor())
    except NotSyncable as exc:
        abort(409, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - Redis down
        abort(503, message=f"the job queue is unavailable ({type(exc).__name__})")
    return {"streams": streams, "workers": worker_count(rt)}


def _switch(name: str, enabled: bool) -> dict:
    from hub.pipeline.switches import set_switch
    from hub.web.queries import connector_statuses

    rt = _switchable(name)
    if not rt.config.connectors[name].enabled:
        abort(409, message=f"{name} is disabled in the config file; change the config and reload")
    set_switch(rt, name, enabled, actor=actor())
    with rt.db.session() as s:
        return _status_dict(connector_statuses(rt, s, [name])[0])


@blp.route("/connectors/<name>/disable", methods=["POST"])
@requires("admin")
@blp.response(200, S.ConnectorOut)
def disable(name: str):
    """Switch the instance off at once: no pulls, its writes held (audited; no restart)."""
    return _switch(name, False)


@blp.route("/connectors/<name>/enable", methods=["POST"])
@requires("admin")
@blp.response(200, S.ConnectorOut)
def enable(name: str):
    """Switch the instance back on; the writes held meanwhile are queued (audited)."""
    return _switch(name, True)


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


@blp.route("/deadletters/discard", methods=["POST"])
@requires("operator")
@blp.arguments(S.DiscardArgs)
@blp.response(200, S.ReplayOut)
def discard(args):
    """Give up on the given dead letters: kept for the record, no longer listed or replayed. Each one is audited."""
    from hub.pipeline.deadletters import discard as do_discard

    try:
        return do_discard(runtime(), list(dict.fromkeys(args["refs"])), actor=actor())
    except ValueError as exc:
        abort(409, message=str(exc))
