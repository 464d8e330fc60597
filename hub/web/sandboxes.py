"""Mount every installed connector's sandbox (an imitation of its remote API).

Demo only: each sandbox serves under ``/sandbox/<connector type>`` the same paths the real
API has, so a connector configured with ``base_url: http://127.0.0.1:8000/sandbox/wecom``
runs unchanged against it.
"""

from __future__ import annotations

from flask import Flask


def register_sandboxes(app: Flask, registry) -> list[str]:
    mounted = []
    for name, cls in sorted(registry.connectors.items()):
        if not cls.sandbox:
            continue
        factory = cls.sandbox[0] if isinstance(cls.sandbox, tuple) else cls.sandbox
        blueprint = factory()
        app.register_blueprint(blueprint, url_prefix=f"/sandbox/{name}", name=f"sandbox_{name}")
        mounted.append(name)
    return mounted
