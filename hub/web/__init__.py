"""The Flask app factory. ``hub.wsgi`` exposes ``app = create_app()`` for gunicorn.

Blueprints: ``/healthz``, ``/webhooks/<instance>``, the API under ``/api/v1`` (OpenAPI at
``/api/v1/openapi.json``), the UI at ``/``, and — demo only — the connectors' sandboxes.
Every request passes :func:`hub.web.auth.authorize` first: deny by default — except
``GET``/``POST /webhooks/<instance>`` (public anyway), which
:class:`hub.web.webhooks.WebhookDoor` answers before Flask's request machinery.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from hub.runtime import Runtime


#: The app-wide body cap (bytes), ``HUB_MAX_CONTENT_LENGTH`` to change it.
MAX_CONTENT_LENGTH = 16 * 1024 * 1024


def create_app(runtime: Runtime | None = None, *, sandboxes: bool | None = None) -> Flask:
    """Build the app. ``runtime`` defaults to one loaded from ``HUB_CONFIG``.

    Sandboxes (imitations of remote APIs) are mounted only when asked
    (``HUB_SANDBOXES=1`` or ``sandboxes=True``): they are for demos and tests.
    """
    app = Flask(__name__, static_folder=None)  # assets live in the UI blueprint (/ui/static)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Every request body is bounded: a larger Content-Length is refused (413) before reading,
    # a chunked body is cut off at the limit. Webhook doors have their own, smaller limits.
    app.config["MAX_CONTENT_LENGTH"] = int(os.environ.get("HUB_MAX_CONTENT_LENGTH") or MAX_CONTENT_LENGTH)
    runtime = runtime or Runtime.from_env(os.environ.get("HUB_CONFIG"))
    app.extensions["hub"] = runtime

    app.secret_key = secret_key(runtime)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=os.environ.get("HUB_SECURE_COOKIES") == "1",
                      PERMANENT_SESSION_LIFETIME=12 * 3600)

    from hub.web import auth
    from hub.web.api import init_api
    from hub.web.health import bp as health_bp
    from hub.web.ui import bp as ui_bp
    from hub.web.webhooks import bp as webhooks_bp

    auth.init_app(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    init_api(app)
    app.register_blueprint(ui_bp)
    if sandboxes if sandboxes is not None else os.environ.get("HUB_SANDBOXES") == "1":
        from hub.web.sandboxes import register_sandboxes

        register_sandboxes(app, runtime.registry)
    from hub.web.webhooks import WebhookDoor

    # Webhook pushes skip Flask's request machinery (see WebhookDoor); plugins that wrap
    # app.wsgi_app in hub_startup (a proxy fix, say) wrap the door too.
    app.wsgi_app = WebhookDoor(app)  # type: ignore[method-assign]
    runtime.registry.pm.hook.hub_startup(app=app)  # type: ignore[attr-defined]
    return app


def secret_key(runtime: Runtime) -> str:
    """``HUB_SECRET_KEY``, else a random key kept in ``var/secret_key`` (made on first use).

    It signs the UI's session cookie. Several web processes on one machine share the file;
    on several machines set ``HUB_SECRET_KEY`` to the same value everywhere.
    """
    key = os.environ.get("HUB_SECRET_KEY")
    if key:
        return key
    import secrets

    path = runtime.config.hub.var_dir / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(candidate)
    return candidate


def get_runtime() -> Runtime:
    from flask import current_app

    return current_app.extensions["hub"]


