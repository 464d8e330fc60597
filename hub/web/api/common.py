"""Small helpers the API views share."""

from __future__ import annotations

from flask_smorest import abort

from hub.web.auth import current_principal
from hub.web.queries import MAX_ID


def runtime():
    from hub.web import get_runtime

    return get_runtime()


def actor() -> str:
    principal = current_principal()
    return principal.actor if principal else "anonymous"


def check_id(value: int, what: str) -> int:
    """Ids beyond BIGINT are simply not found (rather than a database overflow error)."""
    if value < 1 or value > MAX_ID:
        abort(404, message=f"no {what} {value}")
    return value
