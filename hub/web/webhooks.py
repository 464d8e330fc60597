"""``/webhooks/<instance>``: the door for pushes from remote systems.

The connector's webhook handler verifies and parses; the records are committed to the
inbox *before* the sender gets its answer (so an answered push is never lost), then
processing is enqueued. A rejected push stores nothing and gets a 4xx.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from hub.connector import WebhookRejected, WebhookRequest

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


@bp.route("/webhooks/<instance>", methods=["GET", "POST"])
def receive(instance: str):
    from hub.pipeline.webhook import ingest_webhook
    from hub.web import get_runtime

    runtime = get_runtime()
    inst = runtime.config.connectors.get(instance)
    if inst is None or not inst.enabled or inst.connector_class.webhook is None:
        abort(404)
    req = WebhookRequest(
        method=request.method,
        path=request.path,
        headers={k: v for k, v in request.headers.items()},
        args={k: v for k, v in request.args.items()},
        body=request.get_data(cache=False),
        remote_addr=request.remote_addr,
    )
    try:
        result = ingest_webhook(runtime, instance, req)
    except WebhookRejected as exc:
        log.warning("webhook %s rejected: %s", instance, exc.message)
        return Response(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    return Response(result.body, status=result.status, content_type=result.content_type)
