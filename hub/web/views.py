"""Contacts, events and search hits as plain dicts, masked or revealed — one shape for the
API's JSON and the UI's templates, so both show exactly the same thing to the same role."""

from __future__ import annotations

from typing import Any

from hub.contacts.queries import ContactView, EventView
from hub.web.pii import MASKED_KINDS, mask_identity, mask_value
from hub.web.queries import ContactHit, channel_of


def _text(value: Any, masked: bool) -> Any:
    return mask_value(value) if masked else value


def contact_dict(runtime, view: ContactView, *, masked: bool) -> dict[str, Any]:
    def ident(kind: str, value: str) -> str:
        return mask_identity(kind, value) if masked and kind in MASKED_KINDS else value

    return {
        "id": view.id,
        "display_name": _text(view.display_name, masked),
        "requested_id": view.requested_id,
        "merged_ids": list(view.merged_ids),
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "masked": masked,
        "attributes": [
            {"name": a.name, "value": _text(a.value, masked), "connector": a.connector, "channel": channel_of(runtime, a.connector),
             "source_ts": a.source_ts, "updated_at": a.updated_at}
            for a in view.attributes
        ],
        "identities": [
            {"kind": i.kind, "value": ident(i.kind, i.value), "masked": masked and i.kind in MASKED_KINDS,
             "connector": i.connector, "channel": channel_of(runtime, i.connector), "created_at": i.created_at}
            for i in view.identities
        ],
        "tags": list(view.tags),
        "links": [
            {"connector": link.connector, "channel": channel_of(runtime, link.connector), "stream": link.stream,
             "native_id": _text(link.native_id, masked), "state": link.state, "last_read_at": link.last_read_at,
             "last_written_at": link.last_written_at}
            for link in view.links
        ],
        "merge_edges": [
            {"id": e.id, "survivor_id": e.survivor_id, "merged_id": e.merged_id, "kind": e.kind, "value": ident(e.kind, e.value),
             "connector": e.connector, "created_at": e.created_at}
            for e in view.merge_edges
        ],
        "open_conflicts": [conflict_dict(c, masked=masked) for c in view.open_conflicts],
    }


def conflict_dict(c, *, masked: bool) -> dict[str, Any]:
    value = mask_identity(c.kind, c.value) if masked and c.kind in MASKED_KINDS else c.value
    return {"id": c.id, "contact_a": c.contact_a, "contact_b": c.contact_b, "kind": c.kind, "value": value,
            "reason": _text(c.reason, masked), "status": c.status, "created_at": c.created_at,
            "resolved_at": c.resolved_at, "resolved_by": c.resolved_by}


def event_dict(runtime, e: EventView, *, masked: bool) -> dict[str, Any]:
    return {"id": e.id, "contact_id": e.contact_id, "connector": e.connector, "channel": channel_of(runtime, e.connector),
            "native_id": _text(e.native_id, masked), "kind": e.kind, "occurred_at": e.occurred_at,
            "summary": _text(e.summary or "", masked), "data": _text(e.data if isinstance(e.data, dict) else {"value": e.data}, masked)}


def hit_dict(runtime, hit: ContactHit, *, masked: bool) -> dict[str, Any]:
    return {
        "id": hit.id,
        "display_name": _text(hit.display_name, masked),
        "matched_by": hit.matched_by,
        "identities": [{"kind": k, "value": mask_identity(k, v) if masked and k in MASKED_KINDS else v} for k, v in hit.identities],
        "connectors": list(hit.connectors),
        "channels": sorted({channel_of(runtime, c) for c in hit.connectors}),
        "last_event_at": hit.last_event_at,
        "event_count": hit.event_count,
    }
