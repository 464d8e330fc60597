"""The canonical store: SQLAlchemy 2 models. SQL is the source of truth; Redis is transport.

Tables, in the order data flows through them:

* ``inbox`` — raw native records as received (pull or webhook), deduped, kept for remap.
* ``contacts`` / ``contact_attributes`` / ``contact_tags`` — one person, attributes with provenance.
* ``identities`` — ``(kind, value) → contact``; ``merge_edges`` keep why contacts merged;
  ``merge_conflicts`` hold strong-id clashes for review.
* ``links`` — ``(instance, stream, native id) → contact`` with read/written hashes (echo suppression).
* ``events`` — the timeline, unique per ``(instance, native id)``.
* ``outbox`` — one row per pending destination write, idempotency key unique.
* ``cursors``, ``runs``, ``connector_state``, ``audit_log``, ``api_tokens`` — bookkeeping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.store.types import BigId, Json, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Set when this contact was merged into another; lookups follow the redirect.
    merged_into: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))


class ContactAttribute(Base):
    """One attribute value with its provenance (which instance set it, source timestamp)."""

    __tablename__ = "contact_attributes"

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(Json)
    connector: Mapped[str] = mapped_column(String(64))
    source_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"), Index(None, "contact_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    connector: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The contact this identity was first attached to. Merges move ``contact_id`` to the
    #: survivor; unmerge moves it back to the group holding its origin.
    origin_contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))


class MergeEdge(Base):
    """Why two contacts became one: the identifier they shared and who reported it.

    Unmerge rebuilds a component from its identities and the edges not marked undone.
    """

    __tablename__ = "merge_edges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    merged_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    connector: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MergeConflict(Base):
    """Two contacts that share an identifier but hold different strong ids of one kind."""

    __tablename__ = "merge_conflicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_a: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    contact_b: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class Link(Base):
    """A native record in some system that belongs to a contact, with echo-suppression hashes."""

    __tablename__ = "links"
    #: Unique per record of a stream; ``native_id`` before ``stream`` so that the index also
    #: serves lookups of a connector's records across its streams (what the hub wrote to a
    #: record, :func:`hub.pipeline.links.written_values`), not only within one stream.
    __table_args__ = (UniqueConstraint("connector", "native_id", "stream"), Index(None, "contact_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    native_id: Mapped[str] = mapped_column(String(255))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    last_read_hash: Mapped[str | None] = mapped_column(String(64))
    last_written_hash: Mapped[str | None] = mapped_column(String(64))
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The canonical values (and ``__tags__``) the hub last wrote to this record: read back
    #: unchanged, they are our own echo, not a change (see ``hub.pipeline.links``).
    last_written_values: Mapped[Any | None] = mapped_column(Json)
    #: The contact this record was first attached to (see ``Identity.origin_contact_id``).
    origin_contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    #: What this record last contributed (attributes, tags, source timestamp), so unmerge can
    #: recompute each split contact's attributes under the field policy.
    attributes: Mapped[Any | None] = mapped_column(Json)
    tags: Mapped[Any | None] = mapped_column(Json)
    source_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("connector", "native_id"),
        Index("ix_events_contact_time", "contact_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    connector: Mapped[str] = mapped_column(String(64))
    native_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[Any] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The contact this event was first appended to (see ``Identity.origin_contact_id``).
    origin_contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))


class InboxRow(Base):
    """A raw native record, committed before the sender gets an answer."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("connector", "stream", "dedupe_key"),
        Index("ix_inbox_status_received", "status", "received_at"),
        Index("ix_inbox_stream_received", "connector", "stream", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    native_id: Mapped[str] = mapped_column(String(255))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(Json)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(BigId)


class OutboxRow(Base):
    """One write owed to a destination. ``idempotency_key`` is unique: enqueueing the same
    change twice is one row, and the sink receives the key to make the write idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_destination_contact", "connector", "sink", "contact_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    sink: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    origin: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[Any] = mapped_column(Json)
    payload_hash: Mapped[str] = mapped_column(String(64))
    native_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a worker claimed the row for sending; stuck claims are handed back by the reconciler.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The contact's canonical values this payload was rendered from (recorded on the link).
    written_values: Mapped[Any | None] = mapped_column(Json)
    #: The canonical names this rendering covers (the mapping's ``changed``); a newer
    #: rendering for the same destination and contact supersedes a pending one and covers
    #: the union, so no change is lost and the destination gets the latest state.
    changed: Mapped[Any | None] = mapped_column(Json)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Cursor(Base):
    __tablename__ = "cursors"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_connector_started", "connector", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # pull | webhook | remap | deliver
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[Any] = mapped_column(Json, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ConnectorState(Base):
    """Durable per-instance state (rotating refresh tokens, persisted channel-code ids)."""

    __tablename__ = "connector_state"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[Any] = mapped_column(Json, default=dict)


class ApiToken(Base):
    """API tokens, stored as SHA-256 hashes only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SinkApproval(Base):
    """A sink an operator approved with ``hub approve``: its writes flow from then on
    instead of being held for preview (see :mod:`hub.pipeline.preview`)."""

    __tablename__ = "sink_approvals"

    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str] = mapped_column(String(100))


class AutomationState(Base):
    """An automation an operator approved, paused or resumed (``hub automations``). No row:
    the automation is in preview — its actions are recorded, not sent (hub.automations)."""

    __tablename__ = "automation_states"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # preview | live | paused
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AutomationAction(Base):
    """One action an automation took (or, in preview, would take) on one contact. ``key`` is
    unique per (automation, contact, trigger, action), so replaying inputs never acts twice."""

    __tablename__ = "automation_actions"
    __table_args__ = (Index("ix_automation_actions_contact_created", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    automation: Mapped[str] = mapped_column(String(100), index=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sink | tag | enroll | exit | transfer
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # queued | done | preview | capped | failed
    is_message: Mapped[bool] = mapped_column(Boolean, default=False)
    outbox_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[Any | None] = mapped_column(Json)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A departure hand-over's customer (kind ``transfer``): the departure it belongs to; its
    #: status follows the transfer (queued → waiting → done | refused | limit | failed).
    departure_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departures.id"), index=True)


class Departure(Base):
    """A member who left, as one departure automation hands over their customers: signalled
    once or many times (a callback, the unassigned scan, an HR record), unique per
    (automation, instance, member). ``next_due_at`` is when the ticker's departures job looks
    at it again (new customers to hand over, transfer results to follow); None when done."""

    __tablename__ = "departures"
    __table_args__ = (
        UniqueConstraint("automation", "connector", "member"),
        Index("ix_departures_status_due", "status", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    automation: Mapped[str] = mapped_column(String(100))
    connector: Mapped[str] = mapped_column(String(64))  # the instance whose member left
    member: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # open | previewed | done
    signals: Mapped[int] = mapped_column(Integer, default=1)
    #: Where the latest signal came from (instance.stream native id).
    source: Mapped[str | None] = mapped_column(String(255))
    batches: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)
    signalled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JourneyEnrollment(Base):
    """A contact's progress through a journey: the next step and when it is due. ``round``
    counts re-enrollments, so each round's steps are keyed (and sent) once."""

    __tablename__ = "journey_enrollments"
    __table_args__ = (
        UniqueConstraint("journey", "contact_id"),
        Index("ix_journey_enrollments_status_due", "status", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    journey: Mapped[str] = mapped_column(String(100))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    round: Mapped[int] = mapped_column(Integer, default=1)
    step: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # active | exited | completed
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The values of the attributes the exit conditions watch, as they were at enrollment.
    enrolled_values: Mapped[Any | None] = mapped_column(Json)
    exit_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AutomationSchedule(Base):
    """A schedule (cron) rule's last instant and, while it fires, the last contact done
    (hub.automations.schedule). One row per automation, locked while a batch fires, so two
    workers never fire one instant twice."""

    __tablename__ = "automation_schedules"

    automation: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: The expression and time zone ``instant`` was computed from; another starts afresh.
    schedule: Mapped[str] = mapped_column(String(200))
    instant: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # firing | done | skipped | stopped
    #: While firing: the last contact id done (the next batch starts after it); else null.
    cursor: Mapped[int | None] = mapped_column(BigId)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    #: Instants skipped by catch-up before this one (downtime): fired once, not once each.
    missed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
