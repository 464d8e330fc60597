"""``/webhooks/<instance>``: the door for pushes from remote systems.

The connector's webhook handler verifies and parses; the records are committed to the
inbox *before* the sender gets its answer (so an answered push is never lost), then
processing is enqueued. A rejected push stores nothing and gets a 4xx.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.wrappers import Request, Response

from hub.connector import WebhookRejected, WebhookRequest, inputs

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


@bp.route("/webhooks/<instance>", methods=["GET", "POST"])
def receive(instance: str):
    """The route, for the URL map (``url_for``, the auth allow-list) and for a request that
    reaches Flask anyway; :class:`WebhookDoor` answers ``GET``/``POST`` before Flask."""
    from flask import current_app

    from hub.web import get_runtime

    return answer(get_runtime(), instance, request, current_app.config.get("MAX_CONTENT_LENGTH"))


def answer(runtime, instance: str, request, cap: int | None) -> Response:
    """Verify, parse and store one push (a Werkzeug/Flask ``request``); the sender's answer.
    ``cap`` is the app's body cap (the door's own limit is never above it). An unknown or
    disabled instance raises Werkzeug's ``NotFound``."""
    from hub.pipeline.webhook import ingest_webhook

    inst = runtime.config.connectors.get(instance)
    if inst is None or not inst.enabled or inst.connector_class.webhook is None:
        raise NotFound()
    handler_class = inst.connector_class.webhook
    limit = int(getattr(handler_class, "max_body", inputs.DEFAULT_MAX_BODY) or inputs.DEFAULT_MAX_BODY)
    try:
        # The door's own limit, refused before reading (the app's MAX_CONTENT_LENGTH caps all).
        body = inputs.read_bounded(request.stream, request.content_length, min(limit, cap) if cap else limit)
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


PREFIX = "/webhooks/"


class WebhookDoor:
    """WSGI middleware in front of the Flask app: ``GET``/``POST /webhooks/<instance>`` go
    straight to :func:`answer`, everything else to Flask.

    The door runs once per callback and must stay cheap (issue 14): Flask's request
    context, session cookie, URL matching, ``before_request`` hooks (the auth check lets
    webhooks through anyway; the UI's language and CSRF hooks skip them) and response
    processing cost about as much CPU as verifying and decrypting a WeCom callback. What
    the door answers is the same as through Flask: Werkzeug's plain 404 for an unknown or
    disabled instance, the handler's 4xx for a rejected push, a logged 500 for an error.
    Other methods and paths (``HEAD``, ``/webhooks/a/b``) are Flask's, as before."""

    def __init__(self, app):
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "POST") or not path.startswith(PREFIX):
            return self.wsgi_app(environ, start_response)
        request = Request(environ)
        instance = request.path[len(PREFIX):]
        if not instance or "/" in instance:  # not the route's <instance>: Flask's 404
            return self.wsgi_app(environ, start_response)
        app = self.app
        try:
            response = answer(app.extensions["hub"], instance, request, app.config.get("MAX_CONTENT_LENGTH"))
        except HTTPException as exc:  # the 404: Werkzeug's page, as Flask answers it here
            response = exc
        except Exception:
            if app.config.get("PROPAGATE_EXCEPTIONS") or (app.config.get("PROPAGATE_EXCEPTIONS") is None and (app.testing or app.debug)):
                raise
            # as Flask's own handler logs it (the same logger and message) and answers it
            app.logger.error("Exception on %s [%s]", request.path, request.method, exc_info=True)
            response = InternalServerError()
        return response(environ, start_response)
