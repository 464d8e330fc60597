"""The whole pipeline in one process, without the queue: ``hub sync --inline``, replays,
tests and benchmarks. Same functions the RQ jobs call, in the same order."""

from __future__ import annotations

from typing import Callable

from hub.pipeline.deliver import deliver
from hub.pipeline.process import process_inbox
from hub.pipeline.pull import SwitchedOff, pull
from hub.pipeline.runs import track_deliveries
from hub.pipeline.switches import deliverable


def run_inline(runtime, *, inbox_ids: list[int] = (), outbox_ids: list[int] = ()) -> dict[str, int]:
    """Process ``inbox_ids`` in batches, then deliver what that produced plus ``outbox_ids``
    once each (rows that must wait for a retry stay pending for the workers/reconciler)."""
    totals = {"processed": 0, "rejected": 0, "delivered": 0, "retrying": 0, "dead": 0}
    pending_out = list(outbox_ids)
    size = runtime.config.hub.batch_size
    inbox_ids = list(inbox_ids)
    for start in range(0, len(inbox_ids), size):
        outcome = process_inbox(runtime, inbox_ids[start : start + size])
        totals["processed"] += outcome.processed
        totals["rejected"] += outcome.rejected
        pending_out.extend(outcome.outbox_ids)
    pending_out = deliverable(runtime.db, pending_out)  # a switched-off destination's rows stay pending
    matched: list[int] = []
    for start in range(0, len(pending_out), size):
        counts = track_deliveries(runtime.db, pending_out[start : start + size], lambda ids: deliver(runtime, ids, on_matched=matched.extend))
        totals["delivered"] += counts.delivered
        totals["retrying"] += counts.retrying
        totals["dead"] += counts.dead
    if matched:  # records that creates matched in their destination: process them too
        for key, value in run_inline(runtime, inbox_ids=matched).items():
            totals[key] += value
    return totals


def sync_inline(runtime, instance: str, stream: str, *, progress: Callable[[int], None] | None = None) -> dict:
    """Pull a stream and push every committed batch through processing and delivery."""
    totals = {"processed": 0, "rejected": 0, "delivered": 0, "retrying": 0, "dead": 0}

    def after_commit(ids: list[int]) -> None:
        for key, value in run_inline(runtime, inbox_ids=ids).items():
            totals[key] += value

    try:
        result = pull(runtime, instance, stream, after_commit=after_commit, progress=progress)
    except SwitchedOff as exc:  # switched off in the ops UI: nothing read, said plainly
        return {"run": None, "read": 0, "new": 0, "duplicates": 0, **totals, "error": str(exc)}
    return {"run": result.run_id, "read": result.records, "new": result.new, "duplicates": result.duplicates, **totals, "error": result.error}
