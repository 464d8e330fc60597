"""Webhook ingestion: handler → inbox commit → enqueue → answer."""

from __future__ import annotations

import logging

from hub.connector import WebhookRejected, WebhookRequest, WebhookResult
from hub.pipeline.ingest import store_records

log = logging.getLogger(__name__)


def ingest_webhook(runtime, instance: str, request: WebhookRequest) -> WebhookResult:
    connector = runtime.connector(instance)
    handler = connector.webhook_handler()
    if handler is None:
        raise WebhookRejected(f"connector instance {instance!r} accepts no webhooks", status=404)
    result = handler.handle(request)
    if not result.records:
        return result
    by_stream: dict[str, list] = {}
    for stream, record in result.records:
        by_stream.setdefault(stream, []).append(record)
    inserted: list[int] = []
    with runtime.db.session() as session:
        for stream, records in by_stream.items():
            ids, _dupes = store_records(session, instance, stream, records)
            inserted.extend(ids)
    # Committed. Only now may processing start and the sender hear "success".
    if inserted:
        from hub.pipeline.jobs import _safely, enqueue_process

        _safely("processing", enqueue_process, runtime, inserted)
    return result
