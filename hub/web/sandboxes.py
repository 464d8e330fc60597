"""Mount every installed connector's sandbox (an imitation of its remote API).

Demo only: each sandbox serves under ``/sandbox/<connector type>`` the same paths the real
API has, so a connector configured with ``base_url: http://127.0.0.1:8000/sandbox/example``
runs unchanged against it. One sandbox instance per app holds that system's state.
"""

from __future__ import annotations

from flask import Flask


def sandbox_prefix(connector_type: str) -> str:
    return f"/sandbox/{connector_type}"


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
    return mounted
