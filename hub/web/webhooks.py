"""``/webhooks/<instance>``: the door for pushes from remote systems.

The connector's webhook handler verifies and parses; the records are committed to the
inbox *before* the sender gets its answer (so an answered push is never lost), then
processing is enqueued. A rejected push stores nothing and gets a 4xx.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from hub.connector import WebhookRejected, WebhookRequest, inputs

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


def body_limit(handler_class) -> int:
    """The door's :attr:`~hub.connector.WebhookHandler.max_body`, never above the app's cap."""
    from flask import current_app

    limit = int(getattr(handler_class, "max_body", inputs.DEFAULT_MAX_BODY) or inputs.DEFAULT_MAX_BODY)
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(limit, cap) if cap else limit


@bp.route("/webhooks/<instance>", methods=["GET", "POST"])
def receive(instance: str):
    from hub.pipeline.webhook import ingest_webhook
    from hub.web import get_runtime

    runtime = get_runtime()
    inst = runtime.config.connectors.get(instance)
    if inst is None or not inst.enabled or inst.connector_class.webhook is None:
        abort(404)
    try:
        # The door's own limit, refused before reading (Flask's MAX_CONTENT_LENGTH caps all).
        body = inputs.read_bounded(request.stream, request.content_length, body_limit(inst.connector_class.webhook))
        req = WebhookRequest(
            method=request.method,
            path=request.path,
            headers={k: v for k, v in request.headers.items()},
            args={k: v for k, v in request.args.items()},
            body=body,
            remote_addr=request.remote_addr,
        )
        result = ingest_webhook(runtime, instance, req)
    except WebhookRejected as exc:
        log.warning("webhook %s rejected: %s", instance, exc.message)
        return Response(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    return Response(result.body, status=result.status, content_type=result.content_type)
