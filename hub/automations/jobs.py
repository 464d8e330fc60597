"""The journey job the ticker queues: advance due steps, then deliver what they wrote."""

from __future__ import annotations


def journeys_job() -> dict:
    from hub.automations.journeys import advance_due
    from hub.pipeline.jobs import _safely, enqueue_deliver
    from hub.runtime import current

    runtime = current()
    done = advance_due(runtime)
    if done.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, done.outbox_ids)
    return {"steps": done.steps, "outbox": len(done.outbox_ids), "exited": done.exited,
            "deferred": done.deferred, "completed": done.completed}
