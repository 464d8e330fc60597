"""``runs`` rows: one per pull, webhook burst, remap or delivery sweep, with counts.

Counts are merged into the row as the work goes, each in its own short transaction, so
``hub runs`` shows progress of a long pull and what a failed run got done before failing.

Pulls have a natural start and end. Webhooks and deliveries do not: they trickle in one
request or one job at a time, and a row each would drown the runs that matter. They are
grouped into *bursts* instead (:func:`burst`): one row per instance and kind for each
:data:`BURST_WINDOW`, its counts summed, its ``error`` the latest problem, and ``failed``
only when the burst got nothing through (every push rejected, every write failed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, TypeVar

from sqlalchemy import select, update

from hub.store.models import OutboxRow, Run
from hub.store.types import utcnow
from hub.store.upsert import column_in
from hub.pipeline.outbound import status_of

#: Webhook requests and delivery jobs within this many seconds of a burst's start join it.
BURST_WINDOW = 60.0
#: Count keys that mean "something got through" / "something went wrong", per burst kind.
_GOOD = {"webhook": ("requests",), "deliver": ("delivered",)}
_BAD = {"webhook": ("rejected",), "deliver": ("dead", "retrying")}

T = TypeVar("T")


def start_run(db, connector: str, stream: str | None, kind: str) -> int:
    with db.session() as s:
        run = Run(connector=connector, stream=stream, kind=kind, status="running", counts={})
        s.add(run)
        s.flush()
        return run.id


def add_counts(session, run_id: int | None, **counts: int) -> None:
    """Add ``counts`` to the run, inside the caller's transaction."""
    if run_id is None:
        return
    run = session.get(Run, run_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    merged: dict[str, Any] = dict(run.counts or {})
    for key, value in counts.items():
        merged[key] = merged.get(key, 0) + value
    run.counts = merged


def finish_run(db, run_id: int, *, error: str | None = None) -> None:
    with db.session() as s:
        run = s.get(Run, run_id)
        run.status = "failed" if error else "succeeded"
        run.error = error
        run.finished_at = utcnow()


def recent_runs(db, limit: int = 20, connector: str | None = None) -> list[Run]:
    with db.session() as s:
        q = select(Run).order_by(Run.id.desc()).limit(limit)
        if connector:
            q = q.where(Run.connector == connector)
        return list(s.scalars(q))


def burst(session, connector: str, kind: str, stream: str | None = None, *, error: str | None = None,
          window: float = BURST_WINDOW, **counts: int) -> Run:
    """Add ``counts`` to the current ``kind`` burst of ``connector`` (and ``stream``: the sink,
    for deliveries), a new row once the last
    burst is older than ``window`` seconds), inside the caller's transaction.

    Two workers may open two bursts in the same second; both are correct, just not merged.
    """
    now = utcnow()
    same_stream = Run.stream.is_(None) if stream is None else Run.stream == stream
    stmt = (select(Run).where(Run.connector == connector, Run.kind == kind, same_stream,
                              Run.started_at >= now - timedelta(seconds=window))
            .order_by(Run.id.desc()).limit(1))
    if session.get_bind().dialect.name == "sqlite":
        # Read-modify-write of a shared row: SQLite has no row locks, so take its write lock
        # *before* reading (a no-op UPDATE), else two flushers both add to the same old counts.
        session.execute(update(Run).where(Run.id == -1).values(status=Run.status))
    else:
        stmt = stmt.with_for_update()
    run = session.execute(stmt).scalar_one_or_none()
    if run is None:
        run = Run(connector=connector, stream=stream, kind=kind, status="succeeded", counts={}, started_at=now)
        session.add(run)
        session.flush()
    merged: dict[str, Any] = dict(run.counts or {})
    for key, value in counts.items():
        if value:
            merged[key] = merged.get(key, 0) + value
    run.counts = merged
    run.finished_at = now
    if error:
        run.error = error[:2000]
    good = sum(merged.get(k, 0) for k in _GOOD.get(kind, ()))
    bad = sum(merged.get(k, 0) for k in _BAD.get(kind, ()))
    run.status = "failed" if bad and not good else "succeeded"
    return run


def track_deliveries(db, outbox_ids: list[int], deliver: Callable[[list[int]], T]) -> T:
    """Call ``deliver(outbox_ids)`` and record what it did in each sink's delivery burst.

    The deliverer itself counts per call, not per destination, so the rows are compared before
    and after: a row that was due and is now ``delivered`` / ``dead`` / back to ``pending`` with
    one more attempt was delivered / dead-lettered / scheduled for a retry; one back to pending
    with no new attempt was held by a rate limit (``throttled``). Rows that were not due (a
    retry not yet time, or already sent) are not this call's work and are not counted."""
    ids = list(outbox_ids)
    if not ids:
        return deliver(ids)
    before: dict[int, tuple[tuple[str, str], int]] = {}
    now = utcnow()
    with db.session() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row_id, connector, sink, attempts in s.execute(
                select(OutboxRow.id, OutboxRow.connector, OutboxRow.sink, OutboxRow.attempts).where(
                    column_in(s, OutboxRow.id, chunk), status_of() == "pending", OutboxRow.next_attempt_at <= now)
            ):
                before[row_id] = ((connector, sink), attempts)
    result = deliver(ids)
    if not before:
        return result
    tallies: dict[tuple[str, str], dict[str, int]] = {}
    errors: dict[tuple[str, str], str] = {}
    with db.session() as s:
        due = sorted(before)
        for start in range(0, len(due), 500):
            for row_id, status, attempts, error in s.execute(
                select(OutboxRow.id, OutboxRow.status, OutboxRow.attempts, OutboxRow.last_error).where(
                    column_in(s, OutboxRow.id, due[start : start + 500]))
            ):
                destination, attempts_before = before[row_id]
                if status == "delivered":
                    outcome = "delivered"
                elif status == "dead":
                    outcome = "dead"
                elif status == "pending":
                    outcome = "retrying" if attempts > attempts_before else "throttled"
                else:  # sending: another worker holds it now
                    continue
                tally = tallies.setdefault(destination, {})
                tally[outcome] = tally.get(outcome, 0) + 1
                if outcome in ("dead", "retrying") and error:
                    errors[destination] = error
        for (connector, sink), tally in sorted(tallies.items()):
            burst(s, connector, "deliver", sink, error=errors.get((connector, sink)), **tally)
    return result


# -- webhook bursts ---------------------------------------------------------------------------
# The webhook door runs once per callback and is kept cheap on purpose (one autocommitted
# insert): a row lock on a shared runs row per request would serialise an instance's pushes.
# So the door only bumps counters in a Redis hash, in its one Redis command, and
# :func:`flush_webhook_tallies` (every ticker tick, and the ops pages before they read) moves
# them into the instance's webhook burst. Losing Redis loses a few counts, never a record.

#: How long a door's counts wait in Redis for a flush (seconds).
TALLY_TTL = 7 * 86400


def _tally_key(instance: str) -> str:
    return f"hub:webhook-tally:{instance}"


def tally_webhook(runtime, instance: str, *, error: str | None = None, **counts: int) -> None:
    """Count one push at the door (``requests``/``read``/``new``/``duplicates``, or ``rejected``
    with its ``error``). Best effort: Redis trouble must not fail the push. (A push that
    stored records is counted by the door's own script, with its debounce marks:
    :data:`hub.pipeline.webhook.DOOR_SCRIPT`.)"""
    try:
        pipe = runtime.redis.pipeline(transaction=False)
        key = _tally_key(instance)
        for name, value in counts.items():
            if value:
                pipe.hincrby(key, name, value)
        if error:
            pipe.hset(key, "error", error[:2000])
        pipe.expire(key, TALLY_TTL)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - statistics only
        import logging

        logging.getLogger(__name__).debug("webhook tally for %s lost: %s", instance, type(exc).__name__)


def flush_webhook_tallies(runtime) -> int:
    """Move the door's counters into each instance's webhook burst; returns the instances flushed."""
    names = sorted(runtime.config.connectors)
    if not names:
        return 0
    pipe = runtime.redis.pipeline(transaction=True)  # read-and-delete atomically: no count twice
    for name in names:
        pipe.hgetall(_tally_key(name))
        pipe.delete(_tally_key(name))
    replies = pipe.execute()[::2]
    tallies = {name: reply for name, reply in zip(names, replies) if reply}
    if not tallies:
        return 0
    parsed = {}
    for name, raw in tallies.items():
        fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}
        error = fields.pop("error", None)
        parsed[name] = (error, {k: int(v) for k, v in fields.items() if str(v).isdigit()})
    try:
        with runtime.db.session() as s:
            for name, (error, counts) in parsed.items():
                burst(s, name, "webhook", error=error, **counts)
    except Exception:
        for name, (error, counts) in parsed.items():  # not written: back to Redis for the next flush
            tally_webhook(runtime, name, error=error, **counts)
        raise
    return len(tallies)
