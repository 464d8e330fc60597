"""Webhook ingestion: handler → inbox insert → request processing → answer.

The door stays cheap because it runs once per callback while everything else runs once
per batch: verify and parse, one autocommitted insert (:func:`store_push`), then one Redis
command (:data:`DOOR_SCRIPT`: the tally and a debounced ``SET NX`` per stream, as
:func:`~hub.pipeline.jobs.request_processing` does) — a burst of callbacks becomes a few
jobs that each claim a batch of the stream's pending rows.
"""

from __future__ import annotations

import hashlib
import logging

from hub.connector import WebhookRejected, WebhookRequest, WebhookResult, inputs
from hub.pipeline.ingest import store_push
from hub.pipeline.runs import tally_webhook

log = logging.getLogger(__name__)


def ingest_webhook(runtime, instance: str, request: WebhookRequest) -> WebhookResult:
    connector = runtime.connector(instance)
    handler = connector.webhook_handler()
    if handler is None:
        raise WebhookRejected(f"connector instance {instance!r} accepts no webhooks", status=404)
    try:
        result = handler.handle(request)
        check_records(handler, result)
    except WebhookRejected as exc:
        tally_webhook(runtime, instance, rejected=1, error=exc.message)
        raise
    if not result.records:
        tally_webhook(runtime, instance, requests=1)
        if result.writes:  # urgent writes (hub.pipeline.urgent): sent before the answer
            from hub.pipeline.urgent import deliver_urgent

            deliver_urgent(runtime, instance, result.writes)
        _request_pulls(runtime, instance, result.pulls)
        return result
    inserted = store_push(runtime.db, instance, result.records)
    # Committed. Only now may processing start and the sender hear "success".
    if result.writes:  # urgent writes (a 20-second WelcomeCode): delivered here, not queued
        from hub.pipeline.urgent import deliver_urgent

        deliver_urgent(runtime, instance, result.writes)
    _after_insert(runtime, instance, len(result.records), inserted)
    _request_pulls(runtime, instance, result.pulls)
    return result


def _request_pulls(runtime, instance: str, streams: list[str]) -> None:
    """Queue a pull of each stream a push said changed (one queued pull per stream at a time;
    without Redis the schedule catches up)."""
    if not streams:
        return
    from hub.pipeline.jobs import _safely, enqueue_pull

    inst = runtime.config.connectors.get(instance)
    for stream in dict.fromkeys(streams):
        if inst is not None and stream in inst.streams:
            _safely(f"pull of {instance}.{stream}", enqueue_pull, runtime, instance, stream)


#: The door's Redis work as one command: count the push in the instance's tally hash
#: (``HINCRBY`` per count, the hash's ``EXPIRE``) and set each stream's debounce mark
#: (``SET NX EX``, as :func:`~hub.pipeline.jobs.request_processing` does); the reply says,
#: per mark, whether this call set it. The commands a pipeline would send, run server-side:
#: one request to pack and one reply to parse instead of five.
#: KEYS: the tally hash, then one debounce key per stream. ARGV: the tally's TTL, the
#: marks' TTL, then (count name, value) pairs.
DOOR_SCRIPT = """
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local first = {}
for i = 2, #KEYS do first[i - 1] = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[2]) and 1 or 0 end
return first
"""
DOOR_SCRIPT_SHA = hashlib.sha1(DOOR_SCRIPT.encode()).hexdigest()


def _after_insert(runtime, instance: str, read: int, inserted: dict[str, list[int]]) -> None:
    """The door's Redis work in one round trip and one command (:data:`DOOR_SCRIPT`): its
    tally and a debounce mark per stream with new rows; a job is queued only for the marks
    that were not already set. If Redis is unreachable the rows wait for the reconciler."""
    from redis.exceptions import NoScriptError

    from hub.pipeline.jobs import DEBOUNCE_SECONDS, _debounce_key, _safely, enqueue_requested
    from hub.pipeline.runs import TALLY_TTL, _tally_key

    new = sum(len(ids) for ids in inserted.values())
    counts = [item for pair in (("requests", 1), ("read", read), ("new", new), ("duplicates", read - new)) if pair[1] for item in pair]
    keys = [_tally_key(instance), *(_debounce_key(instance, stream) for stream in inserted)]
    args = [TALLY_TTL, DEBOUNCE_SECONDS, *counts]
    try:
        try:
            marks = runtime.redis.evalsha(DOOR_SCRIPT_SHA, len(keys), *keys, *args)
        except NoScriptError:  # a restarted or flushed server: EVAL sends the text (and caches it)
            marks = runtime.redis.eval(DOOR_SCRIPT, len(keys), *keys, *args)
    except Exception as exc:  # Redis unavailable: the reconciler will pick the rows up
        log.warning("could not request processing (%s); the reconciler will", type(exc).__name__)
        return
    for stream, first in zip(inserted, marks):
        if first:  # no job was waiting for this stream: queue one
            _safely("processing", enqueue_requested, runtime, instance, stream)


def check_records(handler, result: WebhookResult) -> None:
    """The last line of defence whatever the connector parsed: a push is bounded in records
    (:attr:`~hub.connector.WebhookHandler.max_records`), every payload is storable in JSONB
    and every source time is timezone-aware — else the sender gets a 4xx and nothing is
    stored (instead of a 500 at insert)."""
    limit = int(getattr(handler, "max_records", 0) or 0)
    if limit and len(result.records) > limit:
        raise WebhookRejected(f"push carries {len(result.records)} records; this door accepts at most {limit}", status=413)
    for index, (_stream, record) in enumerate(result.records):
        inputs.ensure_storable(record.data, what=f"record {index + 1}")
        if record.updated_at is not None and record.updated_at.utcoffset() is None:
            raise WebhookRejected(f"record {index + 1} has a time without a time zone", status=400)
