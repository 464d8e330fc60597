"""Plain data passed between connectors and the hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Record:
    """One native record as read from a stream or received by a webhook.

    ``native_id`` is the record's id in its own system (unique within the stream).
    ``dedupe_key`` defaults to ``native_id`` + a hash of the payload in the inbox, so
    a re-read unchanged record is a no-op while a changed one is processed again;
    webhooks set it to the event's own id so retried deliveries collapse into one.
    """

    native_id: str
    data: dict[str, Any]
    updated_at: datetime | None = None
    deleted: bool = False
    dedupe_key: str | None = None


@dataclass
class ReadBatch:
    """A page of records and the cursor that covers exactly them.

    The hub commits the records and the cursor in one transaction, so a crash between
    pages re-reads at most one page. ``complete`` is True only on the last batch of a
    full (non-incremental) read; the hub never infers deletes from a partial read.
    """

    records: list[Record]
    cursor: Any
    complete: bool = False


@dataclass
class Match:
    """An existing destination record that a create would duplicate (see ``Sink.match``).

    ``stream`` names the connector stream that reads such records and ``record`` is the
    record exactly as that stream would yield it: the hub processes it like a pulled
    record, so its ids join the contact under the identity rules. Without them the hub
    only links the contact to ``native_id``."""

    native_id: str
    stream: str | None = None
    record: Record | None = None


@dataclass
class WriteResult:
    """What a sink reports after a write: the record's native id in the destination."""

    native_id: str | None
    created: bool = False
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class WebhookRequest:
    """A framework-free view of an incoming HTTP request; verification uses the raw body."""

    method: str
    path: str
    headers: dict[str, str]
    args: dict[str, str]
    body: bytes
    remote_addr: str | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        """The header ``name`` (case-insensitive, as HTTP headers are), or ``default``."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


@dataclass
class UrgentWrite:
    """A write a push makes time-critical, to a sink of the same connector instance (a
    WeCom welcome message must be sent within 20 seconds of its callback).

    The hub renders ``event`` through the sink's outbound mapping (the mapping reads it
    under ``event``; the contact parts of the view are empty), stores the payload as an
    outbox row once the push's records are committed, and delivers it from the webhook
    request before the sender is answered — not queued behind batches. Nothing is written
    when the sink is not enabled on the instance or the mapping renders nothing.
    ``key`` makes the outbox idempotency key, so a retried push sends once."""

    sink: str
    event: dict[str, Any]
    key: str


@dataclass
class WebhookResult:
    """Records to store (as ``(stream, Record)``) and the answer to give the sender.

    The hub sends the answer only after the records are committed to the inbox.
    """

    records: list[tuple[str, Record]] = field(default_factory=list)
    #: Time-critical writes delivered right after the commit (see :class:`UrgentWrite`).
    writes: list[UrgentWrite] = field(default_factory=list)
    #: Streams of this instance the push says changed without carrying the data (a WeCom
    #: "tag groups reordered" event, a notification with only an id): the hub queues one pull
    #: of each after the commit, so the change arrives without waiting for the schedule.
    pulls: list[str] = field(default_factory=list)
    body: str | bytes = "success"
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
