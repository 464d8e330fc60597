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

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm import aliased

from hub.connector import ConnectorError, PermanentError, RateLimitedError
from hub.pipeline.backoff import backoff_delay
from hub.pipeline.links import record_write, record_writes
from hub.pipeline.outbound import status_of
from hub.pipeline.matching import settle_creates
from hub.pipeline.pauses import pause, paused_for
from hub.pipeline.ratelimit import acquire_all
from hub.store import pgbulk
from hub.store.models import OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in

#: Rows per ``write_many`` call (and per claim / bookkeeping statement).
MANY = 500

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    matched: int = 0
    superseded: int = 0
    retries: dict[int, float] = field(default_factory=dict)  # outbox id -> delay (s)


def _in_order():
    """Claim condition: no older rendering of the same contact for the same sink is being
    sent, so a destination never receives an older rendering after a newer one (the row
    stays pending and is picked up again)."""
    older = aliased(OutboxRow)
    return ~exists().where(and_(older.connector == OutboxRow.connector, older.sink == OutboxRow.sink,
                                older.contact_id == OutboxRow.contact_id, older.status == "sending", older.id < OutboxRow.id))


def _claim(db, row_id: int) -> OutboxRow | None:
    with db.session() as s:
        claimed = s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utcnow(), _in_order())
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


def _retry_later(row, delay: float, counts: DeliveryCounts, schedule_retry) -> None:
    counts.retrying += 1
    counts.retries[row.id] = delay
    if schedule_retry:
        schedule_retry(row.id, delay)


def _throttled(runtime, connector, row, counts: DeliveryCounts, schedule_retry) -> bool:
    """Take the row's share of the instance's rate limits (a connector may derive them from
    its config); when used up — or while the remote has the instance blocked
    (:mod:`hub.pipeline.pauses`) — reschedule the row: not a failure, no attempt counted."""
    wait = paused_for(runtime.db, row.connector) or acquire_all(runtime.redis, row.connector, connector.rate_limits)
    if wait <= 0:
        return False
    _reschedule(runtime.db, row, wait, error=None, count_attempt=False)
    _retry_later(row, wait, counts, schedule_retry)
    return True


def _failed(runtime, row, exc: Exception, counts: DeliveryCounts, schedule_retry) -> None:
    """A write that raised: dead on a permanent error, else retried within the budget."""
    settings = runtime.config.hub
    if isinstance(exc, PermanentError):
        _bury(runtime.db, row, f"{type(exc).__name__}: {exc.message}")
        counts.dead += 1
        return
    message = f"{type(exc).__name__}: {exc.message if isinstance(exc, ConnectorError) else exc}"
    if isinstance(exc, RateLimitedError) and exc.paused:
        # The remote blocked the instance: hold all its writes until then; no attempt used.
        pause(runtime.db, row.connector, exc.retry_after, message)
        _reschedule(runtime.db, row, exc.retry_after, error=message, count_attempt=False)
        _retry_later(row, exc.retry_after, counts, schedule_retry)
        return
    attempt = row.attempts + 1
    if attempt >= settings.max_attempts:
        _bury(runtime.db, row, f"gave up after {attempt} attempts: {message}")
        counts.dead += 1
        return
    retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
    delay = backoff_delay(attempt, base=settings.backoff_base, cap=settings.backoff_cap, retry_after=retry_after)
    _reschedule(runtime.db, row, delay, error=message, count_attempt=True)
    _retry_later(row, delay, counts, schedule_retry)


_CLAIM_COLUMNS = (OutboxRow.id, OutboxRow.connector, OutboxRow.sink, OutboxRow.contact_id, OutboxRow.payload,
                  OutboxRow.payload_hash, OutboxRow.native_id, OutboxRow.attempts, OutboxRow.idempotency_key,
                  OutboxRow.written_values, OutboxRow.origin)


def _come_back_later(runtime, ids: list[int], schedule_retry) -> None:
    """Rows this call could not claim that are still pending — a create in its settle
    window, or one waiting for an older rendering of its contact to finish sending — are
    scheduled for when they fall due (at least a second from now), not left to the
    reconciler's sweep."""
    if not ids or schedule_retry is None:
        return
    now = utcnow()
    with runtime.db.session() as s:
        for row_id, due in s.execute(select(OutboxRow.id, OutboxRow.next_attempt_at)
                                     .where(column_in(s, OutboxRow.id, ids), status_of() == "pending")):
            schedule_retry(row_id, max(1.0, (due - now).total_seconds()))


def _settle(runtime, sink, rows: list, counts: DeliveryCounts, schedule_retry, on_matched) -> list:
    """Match before create (:mod:`hub.pipeline.matching`); the rows still to write."""
    go, failed, settled = settle_creates(runtime, sink, rows, on_matched)
    counts.matched += settled["matched"]
    counts.superseded += settled["superseded"]
    for row, exc in failed:
        _failed(runtime, row, exc, counts, schedule_retry)
    return go


_DELIVERED_PG = (
    "UPDATE outbox AS o SET status = 'delivered', delivered_at = %b, native_id = u.native_id, "
    "attempts = o.attempts + 1, last_error = NULL FROM unnest(%b::bigint[], %b::text[]) AS u(id, native_id) "
    "WHERE o.id = u.id"
)


def _deliver_many(runtime, connector, sink, ids: list[int], counts: DeliveryCounts, schedule_retry, on_matched=None) -> None:
    """The rows of one sink that writes many at once (``Sink.write_many``): one claim, one
    ``write_many`` call and one bookkeeping transaction per :data:`MANY` rows. Each row's
    outcome is handled exactly as a single write's would be."""
    for start in range(0, len(ids), MANY):
        chunk = ids[start : start + MANY]
        with runtime.db.session() as s:
            now = utcnow()
            claimed = s.execute(
                update(OutboxRow)
                .where(column_in(s, OutboxRow.id, chunk), status_of() == "pending", OutboxRow.next_attempt_at <= now, _in_order())
                .values(status="sending", claimed_at=now)
                .returning(*_CLAIM_COLUMNS)
            ).all()
        counts.skipped += len(chunk) - len(claimed)
        taken = {row.id for row in claimed}
        _come_back_later(runtime, [i for i in chunk if i not in taken], schedule_retry)
        order = {row_id: i for i, row_id in enumerate(chunk)}
        go = []
        for row in sorted(claimed, key=lambda r: order[r.id]):
            if _throttled(runtime, connector, row, counts, schedule_retry):
                continue
            go.append(row)
        go = _settle(runtime, sink, go, counts, schedule_retry, on_matched)
        if not go:
            continue
        try:
            outcomes = sink.write_many([(row.payload, row.idempotency_key, row.native_id) for row in go])
        except Exception as exc:  # a connector bug: every row of the call retries within budget
            log.exception("sink %s.%s write_many raised unexpectedly", go[0].connector, go[0].sink)
            outcomes = [exc] * len(go)
        delivered = []
        for row, outcome in zip(go, outcomes):
            if isinstance(outcome, Exception):
                _failed(runtime, row, outcome, counts, schedule_retry)
            else:
                delivered.append((row, outcome))
        if not delivered:
            continue
        with runtime.db.session() as s:
            now = utcnow()
            table = OutboxRow.__table__  # Core: an executemany UPDATE, no ORM bulk-update rules
            if pgbulk.is_postgres(s):  # one UPDATE … FROM unnest(ids, native ids), not one per row
                pgbulk.execute(s, _DELIVERED_PG, (now, [row.id for row, _ in delivered],
                                                  [None if r.native_id is None else str(r.native_id) for _, r in delivered]))
            else:
                s.execute(
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(status="delivered", delivered_at=now, native_id=bindparam("written_id"),
                            attempts=table.c.attempts + 1, last_error=None),
                    [{"row_id": row.id, "written_id": result.native_id} for row, result in delivered],
                )
            record_writes(s, [(row.connector, row.sink, str(result.native_id), row.contact_id, row.payload_hash, row.written_values)
                              for row, result in delivered if row.contact_id is not None and result.native_id])
        counts.delivered += len(delivered)


def _batched_sinks(runtime, outbox_ids: list[int], connectors: dict[str, object]) -> tuple[dict[tuple[str, str], list[int]], list[int]]:
    """Split ``outbox_ids`` into rows for sinks with ``write_many`` (by sink) and the rest."""
    many: dict[tuple[str, str], list[int]] = {}
    single: list[int] = []
    destination: dict[int, tuple[str, str]] = {}
    with runtime.db.session() as s:
        for start in range(0, len(outbox_ids), MANY):
            chunk = outbox_ids[start : start + MANY]
            for row_id, instance, sink in s.execute(
                select(OutboxRow.id, OutboxRow.connector, OutboxRow.sink).where(column_in(s, OutboxRow.id, chunk))
            ):
                destination[row_id] = (instance, sink)
    batched: dict[tuple[str, str], bool] = {}
    for row_id in outbox_ids:
        key = destination.get(row_id)
        if key is not None and key not in batched:
            inst = runtime.config.connectors.get(key[0])
            batched[key] = False
            if inst is not None and inst.enabled and key[1] in inst.sinks:
                if key[0] not in connectors:
                    connectors[key[0]] = runtime.connector(key[0])
                batched[key] = callable(getattr(connectors[key[0]].sink(key[1]), "write_many", None))
        if key is not None and batched[key]:
            many.setdefault(key, []).append(row_id)
        else:  # a plain sink, or an unknown row or destination (the single path reports it)
            single.append(row_id)
    return many, single


def deliver(runtime, outbox_ids: list[int], *, schedule_retry: Callable[[int, float], None] | None = None,
            on_matched: Callable[[list[int]], None] | None = None) -> DeliveryCounts:
    """Try each row once. ``schedule_retry(id, delay)`` arranges the next attempt (RQ's
    scheduler in production; tests and ``--inline`` loop themselves). ``on_matched(ids)``
    gets the inbox rows stored for records a create matched (they need processing).

    Rows for a sink that offers ``write_many(writes) -> [WriteResult | ConnectorError]``
    (the SQL connector's tables) go in batches; the others one ``write`` at a time."""
    counts = DeliveryCounts()
    connectors: dict[str, object] = {}
    many, single = _batched_sinks(runtime, list(outbox_ids), connectors)
    for (instance, sink_name), ids in many.items():
        connector = connectors[instance]
        _deliver_many(runtime, connector, connector.sink(sink_name), ids, counts, schedule_retry, on_matched)
    for row_id in single:
        row = _claim(runtime.db, row_id)
        if row is None:
            counts.skipped += 1
            _come_back_later(runtime, [row_id], schedule_retry)
            continue
        inst = runtime.config.connectors.get(row.connector)
        if inst is None or not inst.enabled or row.sink not in inst.sinks:
            _bury(runtime.db, row, f"destination {row.connector}.{row.sink} is not configured or not enabled")
            counts.dead += 1
            continue
        if row.connector not in connectors:
            connectors[row.connector] = runtime.connector(row.connector)
        connector = connectors[row.connector]
        if _throttled(runtime, connector, row, counts, schedule_retry):
            continue
        if not _settle(runtime, connector.sink(row.sink), [row], counts, schedule_retry, on_matched):
            continue
        try:
            result = connector.write(row.sink, row.payload, idempotency_key=row.idempotency_key, native_id=row.native_id)
        except Exception as exc:  # permanent → dead; transient, throttled or a connector bug → retry within budget
            if not isinstance(exc, ConnectorError):
                log.exception("sink %s.%s raised unexpectedly", row.connector, row.sink)
            _failed(runtime, row, exc, counts, schedule_retry)
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
