"""A warning a connector leaves for operators, shown on the connectors page.

Some trouble is neither a failed run nor a dead letter yet: an OAuth refresh token that keeps
failing to renew while the current access token still works, and that will lock the
instance out when it expires. The connector records such a warning in its durable state under
:data:`KEY` with :func:`set_notice`, and removes it with :func:`clear_notice` once the trouble
is over. The connectors page shows whatever is recorded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

#: The state key (``hub.`` keeps it apart from connectors' own keys).
KEY = "hub.notice"


def set_notice(state: Any, message: str) -> None:
    """Record ``message`` (kept from the first time it was set while it stays the same)."""
    current = state.get(KEY)
    if isinstance(current, dict) and current.get("message") == message:
        return
    state.set(KEY, {"message": message[:500], "since": datetime.now(timezone.utc).isoformat()})


def clear_notice(state: Any) -> None:
    if state.get(KEY):
        state.set(KEY, None)


def notice_of(state: Any) -> dict[str, Any] | None:
    value = state.get(KEY)
    return value if isinstance(value, dict) and value.get("message") else None
