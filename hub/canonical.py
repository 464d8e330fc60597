"""The canonical record: what an inbound mapping makes of one native record.

Mappings produce it, identity resolution consumes its identities, the store applies its
attributes (with provenance) and appends its events. It is the one shape every
connector's data takes inside the hub, so N systems need N mappings, not N².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CanonicalEvent:
    """A timeline entry: lead_created, call, ticket_opened, wecom_friend_added, …

    ``native_id`` makes the event unique per connector instance; a mapping that does
    not set one gets ``<record native id>:<kind>``.
    """

    kind: str
    occurred_at: datetime | None
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    native_id: str | None = None


@dataclass
class CanonicalRecord:
    """Contact attributes, identities, tags and events extracted from one native record."""

    identities: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    events: list[CanonicalEvent] = field(default_factory=list)
    #: When the source system last changed the record (for the ``latest`` policy).
    source_updated_at: datetime | None = None
    #: Mapping-declared deletion (e.g. WeCom del_external_contact): link state, never a hard delete.
    deleted: bool = False

    def is_empty(self) -> bool:
        return not (self.identities or self.attributes or self.tags or self.events)
