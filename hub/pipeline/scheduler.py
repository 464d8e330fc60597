"""The ticker: scheduled pulls and the reconciler, from inside every worker.

Each ``hub worker`` runs a small thread; every tick one of them (whoever takes a short
Redis lock) enqueues the streams whose schedule is due — judged from the ``runs`` table,
so a restart neither skips nor doubles a pull — and the reconciler. No extra process to
deploy, and losing any one worker loses nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from hub.store.models import Run
from hub.store.types import utcnow

log = logging.getLogger(__name__)

LOCK_KEY = "hub:ticker"


def due_pulls(runtime) -> list[tuple[str, str]]:
    """``(instance, stream)`` pairs whose last pull started longer ago than their schedule."""
    from hub.pipeline.switches import switched_off

    off = switched_off(runtime.db)  # switched off in the ops UI: no pulls until switched back on
    scheduled = [
        (name, stream.name, stream.schedule)
        for name, inst in runtime.config.enabled_connectors().items()
        if name not in off
        for stream in inst.streams.values()
        if stream.enabled and stream.schedule
    ]
    if not scheduled:
        return []
    with runtime.db.session() as s:
        last = dict(
            ((c, st), at)
            for c, st, at in s.execute(
                select(Run.connector, Run.stream, func.max(Run.started_at)).where(Run.kind == "pull").group_by(Run.connector, Run.stream)
            )
        )
    now = utcnow()
    due = []
    for name, stream, every in scheduled:
        started = last.get((name, stream))
        if started is None or now - started >= timedelta(seconds=every):
            due.append((name, stream))
    return due


def tick(runtime) -> list[tuple[str, str]]:
    """One tick: if this worker holds the lock, enqueue due pulls and the reconciler."""
    from hub.pipeline.jobs import enqueue_pull, reconcile_job
    from hub.queue import enqueue

    # The lock lives a little under one interval: exactly one worker acts per tick.
    hold_ms = max(200, int(runtime.config.hub.tick_interval * 900))
    if not runtime.redis.set(LOCK_KEY, "1", nx=True, px=hold_ms):
        return []
    due = due_pulls(runtime)
    for instance, stream in due:
        enqueue_pull(runtime, instance, stream)
    enqueue(runtime.redis, reconcile_job, job_id="reconcile")
    if runtime.config.automations.journeys():  # due journey steps (SQL rows) → outbox
        from hub.automations.jobs import journeys_job

        enqueue(runtime.redis, journeys_job, job_id="journeys")
    if any(a.on is not None and a.on.member for a in runtime.config.automations.automations.values()):
        from hub.automations.departure import departures_job  # departures (SQL rows): hand-overs, transfer results

        enqueue(runtime.redis, departures_job, job_id="departures")
    if any(a.on is not None and a.on.schedule is not None for a in runtime.config.automations.automations.values()):
        from hub.automations.jobs import schedules_job  # cron rules: last instant in SQL

        enqueue(runtime.redis, schedules_job, job_id="schedules")
    from hub.pipeline.runs import flush_webhook_tallies

    flush_webhook_tallies(runtime)  # the webhook door's counters → runs
    return due


def start_ticker(runtime, interval: float | None = None) -> threading.Thread:
    interval = interval or runtime.config.hub.tick_interval
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                tick(runtime)
            except Exception:  # keep ticking: a DB or Redis blip must not kill scheduling
                log.exception("ticker failed; retrying next tick")

    thread = threading.Thread(target=loop, name="hub-ticker", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
