"""RQ jobs. Each carries a batch of row ids, never a payload: the rows are the truth.

Jobs find the process's runtime through :func:`hub.runtime.current` (``HUB_CONFIG``), so a
worker on another machine with the same config does the same work. Enqueue failures
(Redis down) are not errors for the caller: the reconciler re-enqueues from SQL.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from hub.queue import enqueue, get_queue

log = logging.getLogger(__name__)


def _batch_id(prefix: str, ids: list[int]) -> str:
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]
    return f"{prefix}-{ids[0]}-{len(ids)}-{digest}"


def _chunks(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def enqueue_process(runtime, inbox_ids: list[int], *, fresh: bool = False) -> None:
    """Queue processing in batches. A stable job id per batch keeps a batch from being
    queued twice; ``fresh`` ids are for the reconciler, whose rows may belong to a job a
    killed worker left "started" under that very id (RQ would not run it again)."""
    for chunk in _chunks(sorted(inbox_ids), runtime.config.hub.batch_size):
        enqueue(runtime.redis, process_job, chunk, job_id=None if fresh else _batch_id("process", chunk))


def enqueue_deliver(runtime, outbox_ids: list[int], delay: float = 0, *, fresh: bool = False) -> None:
    for chunk in _chunks(sorted(outbox_ids), runtime.config.hub.batch_size):
        if delay > 0:
            get_queue(runtime.redis).enqueue_in(timedelta(seconds=delay), deliver_job, chunk, result_ttl=300)
        else:
            enqueue(runtime.redis, deliver_job, chunk, job_id=None if fresh else _batch_id("deliver", chunk))


def enqueue_pull(runtime, instance: str, stream: str):
    """One queued pull per stream at a time (a stable job id)."""
    return enqueue(runtime.redis, pull_job, instance, stream, job_id=f"pull-{instance}-{stream}", job_timeout=3600)


def _safely(what: str, func, *args) -> None:
    try:
        func(*args)
    except Exception as exc:  # Redis unavailable: the reconciler will pick the rows up
        log.warning("could not enqueue %s (%s); the reconciler will", what, type(exc).__name__)


# -- the jobs --------------------------------------------------------------------------------


def pull_job(instance: str, stream: str) -> dict:
    from hub.pipeline.pull import pull
    from hub.runtime import current

    runtime = current()
    result = pull(runtime, instance, stream, after_commit=lambda ids: _safely("processing", enqueue_process, runtime, ids))
    return {"run_id": result.run_id, "records": result.records, "new": result.new, "error": result.error}


def process_job(inbox_ids: list[int]) -> dict:
    from hub.pipeline.process import process_inbox
    from hub.runtime import current

    runtime = current()
    outcome = process_inbox(runtime, inbox_ids)
    if outcome.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, outcome.outbox_ids)
    return outcome.summary()


def deliver_job(outbox_ids: list[int]) -> dict:
    from hub.pipeline.deliver import deliver
    from hub.runtime import current

    runtime = current()

    def schedule(row_id: int, delay: float) -> None:
        _safely("a retry", enqueue_deliver, runtime, [row_id], delay)

    counts = deliver(runtime, outbox_ids, schedule_retry=schedule)
    return {"delivered": counts.delivered, "retrying": counts.retrying, "dead": counts.dead}


def reconcile_job() -> dict:
    from hub.pipeline.reconcile import expire_raw, sweep
    from hub.runtime import current

    runtime = current()
    settings = runtime.config.hub
    found = sweep(runtime.db, settings.pending_threshold)
    if found.inbox_ids:
        enqueue_process(runtime, found.inbox_ids, fresh=True)
    if found.outbox_ids:
        enqueue_deliver(runtime, found.outbox_ids, fresh=True)
    expired = expire_raw(runtime.db, settings.raw_retention)
    from hub.pipeline.preview import release_stranded  # held rows of sinks approved meanwhile

    if released := release_stranded(runtime):
        enqueue_deliver(runtime, released, fresh=True)
    if found.inbox_ids or found.outbox_ids or found.reclaimed:
        log.info("reconciler: re-enqueued %d inbox and %d outbox rows, reclaimed %d stuck sends",
                 len(found.inbox_ids), len(found.outbox_ids), found.reclaimed)
    return {"inbox": len(found.inbox_ids), "outbox": len(found.outbox_ids), "reclaimed": found.reclaimed, "expired": expired}
