"""``GET /healthz``: is the database reachable, is Redis reachable, which plugins loaded.

Load balancers take the status code (200 healthy, 503 not); people read the JSON.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    from hub.queue import ping
    from hub.web import get_runtime

    runtime = get_runtime()
    checks: dict[str, dict] = {}
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": runtime.db.dialect}
    except Exception as exc:  # report, don't crash: this endpoint exists to say what's down
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        ok = ping(runtime.redis)
        checks["redis"] = {"ok": ok, "embedded": not runtime.config.hub.redis_url}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
    plugins = [
        {"name": p.name, "version": p.version, "distribution": p.distribution} for p in runtime.registry.plugins
    ]
    healthy = all(c["ok"] for c in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "plugins": plugins,
        "connectors": sorted(runtime.config.enabled_connectors()),
    }
    return jsonify(body), (200 if healthy else 503)
