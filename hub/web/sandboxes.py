"""Mount every installed connector's sandbox (an imitation of its remote API).

Demo only: each sandbox serves under ``/sandbox/<connector type>`` the same paths the real
API has, so a connector configured with ``base_url: http://127.0.0.1:8000/sandbox/example``
runs unchanged against it. One sandbox instance per app holds that system's state.

``hub demo`` runs the sandboxes in the web process and plays the remote systems' users
from its own process, so it needs a way in: ``POST /sandbox/<type>/_control/<method>``
with a JSON object of keyword arguments calls ``sandbox.<method>(**kwargs)`` and answers
``{"result": ...}``. Only names listed in the sandbox class's ``control_methods`` are
callable; anything else is 404. Like the sandboxes themselves, it exists only with
``--sandboxes`` / ``HUB_SANDBOXES=1``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

log = logging.getLogger(__name__)


def sandbox_prefix(connector_type: str) -> str:
    return f"/sandbox/{connector_type}"


def _answer(status: int, **body: Any) -> Response:
    text = json.dumps(body, ensure_ascii=False, default=str)
    return Response(text, status=status, content_type="application/json; charset=utf-8")


def control_blueprint() -> Blueprint:
    """``POST /sandbox/<type>/_control/<method>``: drive a mounted sandbox (demo only)."""
    # The name starts with "sandbox_": public like the sandboxes (see hub.web.auth).
    bp = Blueprint("sandbox_control", __name__)

    @bp.post("/sandbox/<connector_type>/_control/<method>")
    def control(connector_type: str, method: str):
        sandbox = current_app.extensions.get("hub_sandboxes", {}).get(connector_type)
        if sandbox is None:
            return _answer(404, error=f"no sandbox for connector type {connector_type!r}")
        allowed = getattr(type(sandbox), "control_methods", ())
        if method not in allowed:
            return _answer(404, error=f"{connector_type} sandbox: {method!r} is not a control method "
                                      f"(allowed: {', '.join(allowed) or 'none'})")
        kwargs = request.get_json(silent=True) if request.content_length else {}
        if not isinstance(kwargs, dict):
            return _answer(400, error="the body must be a JSON object of keyword arguments")
        try:
            result = getattr(sandbox, method)(**kwargs)
        except (TypeError, ValueError, KeyError, LookupError) as exc:
            return _answer(400, error=f"{connector_type}.{method}: {type(exc).__name__}: {exc}")
        except Exception as exc:  # a sandbox bug: say what, keep serving
            log.exception("sandbox control %s.%s failed", connector_type, method)
            return _answer(500, error=f"{connector_type}.{method}: {type(exc).__name__}: {exc}")
        return _answer(200, result=result)

    return bp


def register_sandboxes(app: Flask, registry) -> dict[str, object]:
    """Mount each connector's sandbox; return ``{connector type: sandbox instance}``."""
    mounted: dict[str, object] = {}
    for name, cls in sorted(registry.connectors.items()):
        if cls.sandbox is None:
            continue
        sandbox = cls.sandbox()
        blueprint = sandbox.blueprint()
        if blueprint is None:
            continue
        app.register_blueprint(blueprint, url_prefix=sandbox_prefix(name), name=f"sandbox_{name}")
        mounted[name] = sandbox
    app.extensions["hub_sandboxes"] = mounted
    app.register_blueprint(control_blueprint())
    return mounted
