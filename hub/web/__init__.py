"""The Flask app factory. ``wsgi.py`` exposes ``app = create_app()`` for gunicorn."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from hub.runtime import Runtime


def create_app(runtime: Runtime | None = None, *, sandboxes: bool | None = None) -> Flask:
    """Build the app. ``runtime`` defaults to one loaded from ``HUB_CONFIG``.

    Sandboxes (imitations of remote APIs) are mounted only when asked
    (``HUB_SANDBOXES=1`` or ``sandboxes=True``): they are for demos and tests.
    """
    app = Flask(__name__)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    runtime = runtime or Runtime.from_env(os.environ.get("HUB_CONFIG"))
    app.extensions["hub"] = runtime

    from hub.web.health import bp as health_bp
    from hub.web.webhooks import bp as webhooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    if sandboxes if sandboxes is not None else os.environ.get("HUB_SANDBOXES") == "1":
        from hub.web.sandboxes import register_sandboxes

        register_sandboxes(app, runtime.registry)
    runtime.registry.pm.hook.hub_startup(app=app)  # type: ignore[attr-defined]
    return app


def get_runtime() -> Runtime:
    from flask import current_app

    return current_app.extensions["hub"]


