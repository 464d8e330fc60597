"""Holding an instance's writes while the remote system has blocked it.

Some providers block an API for a long stretch once a quota is used up — WeCom's hour-level
frequency limit (45009) refuses every call for the rest of the hour. Retrying each write on
its own schedule would burn its whole retry budget against a closed door and dead-letter it.
A sink that knows this raises ``RateLimitedError(paused=True, retry_after=…)``; delivery then
records a pause for the instance here, reschedules the write to the end of the pause without
counting an attempt, and holds every other write of that instance until then (also without
counting). The connectors page shows the pause.

The pause lives in SQL (``connector_state``, key :data:`KEY`) so every worker and web process
sees it. Delivery checks it for every row, so each process keeps what it read for
:data:`CHECK_EVERY` seconds; the process that records a pause sees it at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import select

from hub.store.models import ConnectorState
from hub.store.types import utcnow
from hub.store.upsert import upsert

#: The ``connector_state`` key of a pause (``hub.`` keeps it apart from connectors' own keys).
KEY = "hub.pause"
#: Seconds a process trusts what it last read about an instance's pause.
CHECK_EVERY = 1.0

#: (id of the Database, instance) -> (the Database, read at (monotonic), paused until (epoch s)).
#: The weak reference tells a reused id() of a new Database apart from the one that was read.
_seen: dict[tuple[int, str], tuple[weakref.ref, float, float]] = {}
_guard = threading.Lock()


def _remember(db, instance: str, until: float) -> tuple[float, float]:
    entry = (weakref.ref(db), time.monotonic(), until)
    with _guard:
        _seen[(id(db), instance)] = entry
    return entry[1], entry[2]


def _recalled(db, instance: str) -> tuple[float, float] | None:
    with _guard:
        entry = _seen.get((id(db), instance))
    if entry is None or entry[0]() is not db:
        return None
    return entry[1], entry[2]


def pause(db, instance: str, seconds: float, reason: str) -> datetime:
    """Hold ``instance``'s writes for ``seconds`` (an existing longer pause is kept); return
    when the pause ends."""
    until = utcnow() + timedelta(seconds=max(0.0, float(seconds)))
    with db.session() as s:
        current = s.execute(select(ConnectorState.value).where(
            ConnectorState.connector == instance, ConnectorState.key == KEY)).scalar_one_or_none()
        if isinstance(current, dict) and _until(current) and _until(current) >= until:
            until = _until(current)
        else:
            upsert(s, ConnectorState, {"connector": instance, "key": KEY,
                                       "value": {"until": until.isoformat(), "reason": reason[:300], "since": utcnow().isoformat()}},
                   ["connector", "key"], ["value"])
    _remember(db, instance, until.timestamp())
    return until


def paused_for(db, instance: str) -> float:
    """Seconds ``instance``'s writes are still held (0 when not paused)."""
    cached = _recalled(db, instance)
    if cached is None or time.monotonic() - cached[0] > CHECK_EVERY:
        with db.session() as s:
            value = s.execute(select(ConnectorState.value).where(
                ConnectorState.connector == instance, ConnectorState.key == KEY)).scalar_one_or_none()
        until = _until(value) if isinstance(value, dict) else None
        cached = _remember(db, instance, until.timestamp() if until else 0.0)
    return max(0.0, cached[1] - utcnow().timestamp())


def active_pauses(session, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``instance -> {"until": datetime, "reason", "since"}`` for the pauses not yet over."""
    now = utcnow()
    out = {}
    for name, value in session.execute(select(ConnectorState.connector, ConnectorState.value).where(
            ConnectorState.key == KEY, ConnectorState.connector.in_(list(names)))):
        until = _until(value) if isinstance(value, dict) else None
        if until and until > now:
            out[name] = {**value, "until": until}
    return out


def _until(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value["until"]))
    except (KeyError, TypeError, ValueError):
        return None
