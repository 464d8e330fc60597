"""The journey job the ticker queues: advance due steps, then deliver what they wrote."""

from __future__ import annotations

import time

#: Enrollments per transaction (benchmarks/journeys.py: 2,000 gives ~2,300 steps/s on PostgreSQL).
BATCH = 2000
#: How long one job keeps draining before it leaves the rest to the next tick's job.
BUDGET_SECONDS = 60.0


def journeys_job() -> dict:
    """Advance due journey steps batch after batch until none is due (or the time budget
    is spent: the next tick queues the job again), queueing delivery after each batch."""
    from hub.automations.journeys import advance_due
    from hub.pipeline.jobs import _safely, enqueue_deliver
    from hub.runtime import current

    runtime = current()
    totals = {"steps": 0, "outbox": 0, "exited": 0, "deferred": 0, "completed": 0}
    started = time.monotonic()
    while True:
        done = advance_due(runtime, limit=BATCH)
        if done.outbox_ids:
            _safely("delivery", enqueue_deliver, runtime, done.outbox_ids)
        for key, value in (("steps", done.steps), ("outbox", len(done.outbox_ids)), ("exited", done.exited),
                           ("deferred", done.deferred), ("completed", done.completed)):
            totals[key] += value
        claimed = done.steps + done.exited + done.deferred
        if claimed < BATCH or time.monotonic() - started > BUDGET_SECONDS:
            return totals


def schedules_job() -> dict:
    """Fire the schedule (cron) rules whose instant has come (hub.automations.schedule),
    queueing delivery of what they wrote."""
    from hub.automations.schedule import fire_due
    from hub.pipeline.jobs import _safely, enqueue_deliver
    from hub.runtime import current

    runtime = current()
    done = fire_due(runtime, budget=BUDGET_SECONDS)
    if done.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, done.outbox_ids)
    return {"firings": len(done.firings), "contacts": done.contacts, "outbox": len(done.outbox_ids), "skipped": len(done.skipped)}
