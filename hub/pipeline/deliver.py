"""Deliver: outbox rows → ``sink.write`` with the row's idempotency key.

A row is claimed atomically (``pending → sending``) so two workers never send it at once; a
worker that dies while sending leaves it ``sending``, and the reconciler hands it back after
the pending threshold — the sink's idempotency key makes that second send harmless.

Outcomes: delivered (the link records what was written, for echo suppression); retried
later with full-jitter backoff (transient errors, provider throttling, our own token
bucket); or dead with its last error after the retry budget or on a permanent error,
visible in ``hub dlq list`` and replayable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from sqlalchemy import select, update

from hub.connector import ConnectorError, PermanentError, RateLimitedError
from hub.pipeline.backoff import backoff_delay
from hub.pipeline.links import record_write
from hub.pipeline.ratelimit import acquire_all
from hub.store.models import OutboxRow
from hub.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    retries: dict[int, float] = field(default_factory=dict)  # outbox id -> delay (s)


def _claim(db, row_id: int) -> OutboxRow | None:
    with db.session() as s:
        claimed = s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utcnow())
            .values(status="sending", claimed_at=utcnow())
        ).rowcount
        if not claimed:
            return None
        return s.get(OutboxRow, row_id)


def _reschedule(db, row: OutboxRow, delay: float, *, error: str | None, count_attempt: bool) -> None:
    with db.session() as s:
        values = {"status": "pending", "next_attempt_at": utcnow() + timedelta(seconds=delay)}
        if error is not None:
            values["last_error"] = error
        if count_attempt:
            values["attempts"] = OutboxRow.attempts + 1
        s.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(**values))


def _bury(db, row: OutboxRow, error: str) -> None:
    with db.session() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(status="dead", last_error=error, attempts=OutboxRow.attempts + 1))
    log.warning("outbox %s to %s.%s is dead: %s", row.id, row.connector, row.sink, error)


def deliver(runtime, outbox_ids: list[int], *, schedule_retry: Callable[[int, float], None] | None = None) -> DeliveryCounts:
    """Try each row once. ``schedule_retry(id, delay)`` arranges the next attempt (RQ's
    scheduler in production; tests and ``--inline`` loop themselves)."""
    settings = runtime.config.hub
    counts = DeliveryCounts()
    connectors: dict[str, object] = {}
    for row_id in outbox_ids:
        row = _claim(runtime.db, row_id)
        if row is None:
            counts.skipped += 1
            continue
        inst = runtime.config.connectors.get(row.connector)
        if inst is None or not inst.enabled or row.sink not in inst.sinks:
            _bury(runtime.db, row, f"destination {row.connector}.{row.sink} is not configured or not enabled")
            counts.dead += 1
            continue
        if row.connector not in connectors:
            connectors[row.connector] = runtime.connector(row.connector)
        connector = connectors[row.connector]
        # The instance's limits: a connector may derive them from its config.
        wait = acquire_all(runtime.redis, row.connector, connector.rate_limits)
        if wait > 0:  # our own share of the provider's limit is used up: not a failure
            _reschedule(runtime.db, row, wait, error=None, count_attempt=False)
            counts.retrying += 1
            counts.retries[row.id] = wait
            if schedule_retry:
                schedule_retry(row.id, wait)
            continue
        try:
            result = connector.write(row.sink, row.payload, idempotency_key=row.idempotency_key, native_id=row.native_id)
        except PermanentError as exc:
            _bury(runtime.db, row, f"{type(exc).__name__}: {exc.message}")
            counts.dead += 1
            continue
        except Exception as exc:  # transient, throttled, or a connector bug: retry within budget
            message = f"{type(exc).__name__}: {exc.message if isinstance(exc, ConnectorError) else exc}"
            if not isinstance(exc, ConnectorError):
                log.exception("sink %s.%s raised unexpectedly", row.connector, row.sink)
            attempt = row.attempts + 1
            if attempt >= settings.max_attempts:
                _bury(runtime.db, row, f"gave up after {attempt} attempts: {message}")
                counts.dead += 1
                continue
            retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
            delay = backoff_delay(attempt, base=settings.backoff_base, cap=settings.backoff_cap, retry_after=retry_after)
            _reschedule(runtime.db, row, delay, error=message, count_attempt=True)
            counts.retrying += 1
            counts.retries[row.id] = delay
            if schedule_retry:
                schedule_retry(row.id, delay)
            continue
        with runtime.db.session() as s:
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id)
                .values(status="delivered", delivered_at=utcnow(), native_id=result.native_id, attempts=OutboxRow.attempts + 1, last_error=None)
            )
            if row.contact_id is not None and result.native_id:
                record_write(s, row.connector, row.sink, str(result.native_id), row.contact_id, row.payload_hash, row.written_values)
        counts.delivered += 1
    return counts


def due_outbox_ids(db, limit: int = 1000) -> list[int]:
    with db.session() as s:
        return list(
            s.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utcnow())
                .order_by(OutboxRow.id)
                .limit(limit)
            )
        )
