"""RQ jobs. Each carries a batch of row ids, never a payload: the rows are the truth.

Jobs find the process's runtime through :func:`hub.runtime.current` (``HUB_CONFIG``), so a
worker on another machine with the same config does the same work. Enqueue failures
(Redis down) are not errors for the caller: the reconciler re-enqueues from SQL.
"""

from __future__ import annotations

import hashlib
import logging
import math
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


#: How long a "processing requested" mark outlives a job that never starts (Redis lost it,
#: or its worker died before starting it); after that, the next push queues a job again.
DEBOUNCE_SECONDS = 5


def _debounce_key(instance: str, stream: str) -> str:
    return f"hub:process-requested:{instance}:{stream}"


def request_processing(runtime, instance: str, stream: str) -> bool:
    """Make sure a job will claim ``stream``'s pending rows; True if this call queued it.

    Debounced: while a stream job is queued and not yet started, a Redis mark says so and
    further pushes queue nothing (one ``SET NX``) — a burst of callbacks becomes a few
    jobs, each claiming up to ``batch_size`` rows. The job clears the mark when it *starts*,
    before it claims, so a row committed after its claim always finds the mark gone and
    queues the next job. The mark expires after :data:`DEBOUNCE_SECONDS` in case its job
    is lost, and the reconciler still re-enqueues any row left pending."""
    if not runtime.redis.set(_debounce_key(instance, stream), b"1", nx=True, ex=DEBOUNCE_SECONDS):
        return False
    enqueue_requested(runtime, instance, stream)
    return True


def enqueue_requested(runtime, instance: str, stream: str) -> None:
    """Queue the stream job whose debounce mark this caller just set."""
    try:
        enqueue(runtime.redis, process_stream_job, instance, stream)
    except Exception:
        runtime.redis.delete(_debounce_key(instance, stream))  # best effort: the next push may try again
        raise


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
    from hub.pipeline.pull import SwitchedOff, pull
    from hub.runtime import current

    runtime = current()
    try:
        result = pull(runtime, instance, stream, after_commit=lambda ids: _safely("processing", enqueue_process, runtime, ids))
    except SwitchedOff as exc:  # switched off after this pull was queued
        log.info("%s", exc)
        return {"run_id": None, "records": 0, "new": 0, "error": str(exc)}
    return {"run_id": result.run_id, "records": result.records, "new": result.new, "error": result.error}


def process_job(inbox_ids: list[int]) -> dict:
    from hub.pipeline.process import process_inbox
    from hub.runtime import current

    runtime = current()
    outcome = process_inbox(runtime, inbox_ids)
    if outcome.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, outcome.outbox_ids)
    return outcome.summary()


def process_stream_job(instance: str, stream: str) -> dict:
    """Claim and process up to ``batch_size`` pending rows of one stream (pushes). A full
    batch queues the next round as soon as it is claimed, so a backlog is drained by as
    many workers as are free (on PostgreSQL each skips the rows the others hold)."""
    from hub.pipeline.process import process_inbox
    from hub.runtime import current

    runtime = current()
    _safely("the debounce reset", runtime.redis.delete, _debounce_key(instance, stream))
    limit = runtime.config.hub.batch_size

    def claimed(count: int) -> None:
        if count >= limit:  # probably more waiting: the next job may start on another worker now
            _safely("processing", request_processing, runtime, instance, stream)

    outcome = process_inbox(runtime, stream=(instance, stream), limit=limit, on_claimed=claimed)
    if outcome.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, outcome.outbox_ids)
    return outcome.summary()


def deliver_job(outbox_ids: list[int]) -> dict:
    from hub.pipeline.deliver import deliver
    from hub.runtime import current

    runtime = current()

    # Retries go out as one delayed job per whole second of delay, not one per row: a
    # throttled batch (the shared token bucket ran dry) comes back as a batch. RQ's
    # scheduler works in whole seconds anyway; rounding up never runs a row early.
    retries: dict[int, list[int]] = {}

    def schedule(row_id: int, delay: float) -> None:
        retries.setdefault(math.ceil(delay), []).append(row_id)

    from hub.pipeline.runs import track_deliveries
    from hub.pipeline.switches import deliverable

    try:  # rows of a switched-off destination stay pending; the rest are counted in its runs
        counts = track_deliveries(runtime.db, deliverable(runtime.db, outbox_ids),
                                  lambda ids: deliver(runtime, ids, schedule_retry=schedule,
                                                      on_matched=lambda found: _safely("processing", enqueue_process, runtime, found)))
    finally:
        for delay, ids in sorted(retries.items()):
            _safely("a retry", enqueue_deliver, runtime, ids, delay)
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
