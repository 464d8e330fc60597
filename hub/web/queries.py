"""Read helpers the API and the UI share that the store's query modules do not have (yet):
contact search, connector status, audit log pages, channel (connector type) lookups.

Nothing here masks: :mod:`hub.web.views` does that per caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.identity.merge import root_of
from hub.store.models import AuditEntry, Contact, ConnectorState, Cursor, Event, Identity, InboxRow, Link, OutboxRow, Run
from hub.store.types import utcnow

#: Largest id a BIGINT column holds: bigger path/query ids are simply "not found".
MAX_ID = 2**63 - 1
#: How many recent runs a connector's error rate and health are computed over.
RUN_WINDOW = 20


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class ContactHit:
    id: int
    display_name: str | None
    #: How it matched: identity | phone_fragment | name
    matched_by: str
    identities: list[tuple[str, str]] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)
    last_event_at: datetime | None = None
    event_count: int = 0


def channel_of(runtime, instance: str) -> str:
    """The connector type of an instance ("channel" in the timeline); the name if unknown."""
    inst = runtime.config.connectors.get(instance)
    return inst.type if inst is not None else instance


def instances_of(runtime, channels: Iterable[str]) -> list[str]:
    """Instance names whose connector type is one of ``channels``."""
    wanted = set(channels)
    return sorted(name for name, inst in runtime.config.connectors.items() if inst.type in wanted)


def search_contacts(session: Session, rules, query: str, limit: int = 20, *, fragments: bool = True) -> list[ContactHit]:
    """Contacts matching ``query``: an identity (``kind:value``, a phone, an e-mail, a WeCom or
    CRM id), a fragment of a phone number (3+ digits), or part of a name. Best matches first.

    ``fragments=False`` (callers who may not see phones, see :mod:`hub.web.searches`): phones
    match only exactly, and a digits-only query matches no name fragment either — else a
    masked number could be rebuilt one digit at a time."""
    from hub.identity import IdentityError

    text = query.strip()
    if not text:
        return []
    found: dict[int, str] = {}

    def add(contact_ids: Iterable[int | None], how: str) -> None:
        for cid in contact_ids:
            if cid is None:
                continue
            root = root_of(session, cid)
            if root is not None and root not in found:
                found[root] = how

    def by_identity(kind: str, value: str) -> None:
        add(session.execute(select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value)).scalars(),
            "identity")

    if ":" in text:
        try:
            by_identity(*rules.parse(text))
        except (IdentityError, KeyError):
            pass
    digits = re.sub(r"[\s()+-]", "", text)
    if digits.isdigit():
        try:
            phone = rules.normalize("phone", text)
        except (IdentityError, KeyError):
            phone = None
        if phone:
            by_identity("phone", phone)
        if len(digits) >= 3 and fragments:
            stmt = (select(Identity.contact_id).where(Identity.kind == "phone", Identity.value.like(_like(digits), escape="\\"))
                    .order_by(Identity.id).limit(limit * 2))
            add(session.execute(stmt).scalars(), "phone_fragment")
    if "@" in text:
        try:
            email = rules.normalize("email", text)
        except (IdentityError, KeyError):
            email = None
        if email:
            by_identity("email", email)
    # A bare id of any other kind (WeCom external userid, unionid, …) typed as is: one indexed
    # (kind, value) lookup per kind, never a scan over every identity's value.
    for kind in sorted(getattr(rules, "kinds", {})):
        if kind in ("phone", "email"):
            continue
        try:
            value = rules.normalize(kind, text)
        except (IdentityError, KeyError, ValueError):
            value = None
        if value:
            by_identity(kind, value)
    if len(found) < limit and (fragments or not digits.isdigit()):
        stmt = (select(Contact.id).where(Contact.merged_into.is_(None), Contact.display_name.like(_like(text), escape="\\"))
                .order_by(Contact.id).limit(limit))
        add(session.execute(stmt).scalars(), "name")
    ids = list(found)[:limit]
    if not ids:
        return []
    names = dict(session.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(ids))).all())
    hits = {cid: ContactHit(cid, names.get(cid), found[cid]) for cid in ids}
    for cid, kind, value in session.execute(
        select(Identity.contact_id, Identity.kind, Identity.value).where(Identity.contact_id.in_(ids)).order_by(Identity.kind, Identity.value)
    ):
        hits[cid].identities.append((kind, value))
    for cid, connector in session.execute(
        select(Link.contact_id, Link.connector).where(Link.contact_id.in_(ids)).group_by(Link.contact_id, Link.connector)
        .order_by(Link.connector)
    ):
        hits[cid].connectors.append(connector)
    for cid, last, count in session.execute(
        select(Event.contact_id, func.max(Event.occurred_at), func.count()).where(Event.contact_id.in_(ids)).group_by(Event.contact_id)
    ):
        hits[cid].last_event_at, hits[cid].event_count = last, count
    return [hits[cid] for cid in ids]


@dataclass
class StreamStatus:
    name: str
    cursor: Any
    cursor_updated_at: datetime | None


@dataclass
class ConnectorStatus:
    name: str
    type: str
    title: str
    enabled: bool
    #: ok | degraded | failing | idle | disabled
    health: str
    streams: list[StreamStatus]
    sinks: list[str]
    last_run: Run | None
    last_success_at: datetime | None
    #: Seconds since the last successful run finished (how stale this connector's data may be).
    lag_seconds: float | None
    #: Failed runs / runs, over the last :data:`RUN_WINDOW` runs.
    error_rate: float | None
    runs_considered: int
    inbox_pending: int
    inbox_rejected: int
    outbox_pending: int
    outbox_dead: int
    recent_runs: list[Run]
    recent_errors: list[dict[str, Any]]
    #: ``enabled: false`` in the config (only a config change brings it back).
    config_enabled: bool = True
    #: Switched off in the ops UI: ``{"by", "at"}`` (see :mod:`hub.pipeline.switches`).
    switched_off: dict[str, Any] | None = None
    #: Writes held while the remote blocks the instance: ``{"until", "reason"}`` (:mod:`hub.pipeline.pauses`).
    paused: dict[str, Any] | None = None
    #: A warning the connector left for operators: ``{"message", "since"}`` (:mod:`hub.connector.notices`).
    notice: dict[str, Any] | None = None


def _health(enabled: bool, runs: list[Run], rejected: int, dead: int) -> str:
    if not enabled:
        return "disabled"
    if not runs:
        return "idle"
    finished = [r for r in runs if r.status != "running"]
    if finished and finished[0].status == "failed":
        return "failing"
    if rejected or dead or any(r.status == "failed" for r in finished):
        return "degraded"
    return "ok"


def connector_statuses(runtime, session: Session, names: Iterable[str] | None = None, *, now: datetime | None = None,
                       runs: int = 5) -> list[ConnectorStatus]:
    """Health, last runs, cursors, backlog and recent errors of configured instances."""
    now = now or utcnow()
    wanted = sorted(runtime.config.connectors if names is None else [n for n in names if n in runtime.config.connectors])
    if not wanted:
        return []
    from hub.pipeline.switches import KEY as SWITCH

    switches = {c: v for c, v in session.execute(
        select(ConnectorState.connector, ConnectorState.value).where(ConnectorState.key == SWITCH, ConnectorState.connector.in_(wanted)))
        if isinstance(v, dict) and v.get("enabled") is False}
    from hub.connector.notices import KEY as NOTICE
    from hub.pipeline.pauses import active_pauses

    paused = active_pauses(session, wanted)
    notices = {c: v for c, v in session.execute(
        select(ConnectorState.connector, ConnectorState.value).where(ConnectorState.key == NOTICE, ConnectorState.connector.in_(wanted)))
        if isinstance(v, dict) and v.get("message")}
    for notice in notices.values():
        try:
            notice["since"] = datetime.fromisoformat(str(notice.get("since")))
        except ValueError:
            notice["since"] = None
    counts: dict[tuple[str, str, str], int] = {}
    for table, model in (("inbox", InboxRow), ("outbox", OutboxRow)):
        stmt = (select(model.connector, model.status, func.count()).where(model.connector.in_(wanted))
                .where(model.status.in_(["pending", "rejected", "dead", "retrying"])).group_by(model.connector, model.status))
        for connector, status, n in session.execute(stmt):
            counts[(table, connector, status)] = n
    cursors: dict[str, dict[str, Cursor]] = {}
    for c in session.execute(select(Cursor).where(Cursor.connector.in_(wanted))).scalars():
        cursors.setdefault(c.connector, {})[c.stream] = c
    out = []
    for name in wanted:
        inst = runtime.config.connectors[name]
        recent = list(session.execute(select(Run).where(Run.connector == name).order_by(Run.id.desc()).limit(RUN_WINDOW)).scalars())
        finished = [r for r in recent if r.status != "running"]
        last_ok = session.execute(
            select(func.max(Run.finished_at)).where(Run.connector == name, Run.status == "succeeded")
        ).scalar()
        rejected = counts.get(("inbox", name, "rejected"), 0)
        dead = counts.get(("outbox", name, "dead"), 0)
        errors: list[dict[str, Any]] = [
            {"source": "run", "ref": f"run:{r.id}", "at": r.finished_at or r.started_at, "message": r.error or ""}
            for r in finished if r.status == "failed"
        ][:5]
        for r in session.execute(select(InboxRow).where(InboxRow.connector == name, InboxRow.status == "rejected")
                                 .order_by(InboxRow.id.desc()).limit(5)).scalars():
            errors.append({"source": "inbox", "ref": f"inbox:{r.id}", "at": r.received_at, "message": r.error or ""})
        for r in session.execute(select(OutboxRow).where(OutboxRow.connector == name, OutboxRow.status == "dead")
                                 .order_by(OutboxRow.id.desc()).limit(5)).scalars():
            errors.append({"source": "outbox", "ref": f"outbox:{r.id}", "at": r.created_at, "message": r.last_error or ""})
        errors.sort(key=lambda e: e["at"] or now, reverse=True)
        stream_names = sorted(set(inst.streams) | set(cursors.get(name, {})))
        cls = inst.connector_class
        enabled = inst.enabled and name not in switches
        out.append(ConnectorStatus(
            name=name, type=inst.type, title=(getattr(cls, "title", None) or inst.type), enabled=enabled,
            config_enabled=inst.enabled, switched_off=switches.get(name), paused=paused.get(name), notice=notices.get(name),
            health=_health(enabled, recent, rejected, dead),
            streams=[StreamStatus(s, getattr(cursors.get(name, {}).get(s), "value", None),
                                  getattr(cursors.get(name, {}).get(s), "updated_at", None)) for s in stream_names],
            sinks=sorted(inst.sinks),
            last_run=recent[0] if recent else None,
            last_success_at=last_ok,
            lag_seconds=max(0.0, (now - last_ok).total_seconds()) if last_ok else None,
            error_rate=(sum(r.status == "failed" for r in finished) / len(finished)) if finished else None,
            runs_considered=len(finished),
            inbox_pending=counts.get(("inbox", name, "pending"), 0),
            inbox_rejected=rejected,
            outbox_pending=counts.get(("outbox", name, "pending"), 0) + counts.get(("outbox", name, "retrying"), 0),
            outbox_dead=dead,
            recent_runs=recent[:runs],
            recent_errors=errors[:8],
        ))
    return out


def _person_in_record(runtime, connector: str, stream: str, payload: Any) -> tuple[str | None, str | None]:
    """The name and phone a rejected raw record carries, read through the stream's own
    mapping field by field (``explain``): the fields that did map still say who it is,
    and no connector's layout is guessed here."""
    try:
        traces = runtime.mapping(connector, stream=stream).explain(payload if isinstance(payload, dict) else {}).traces
    except Exception:  # noqa: BLE001 - no mapping (any more): nothing to show, not an error page
        return None, None
    name = next((str(tr.value) for tr in traces if tr.target in ("attributes.name", "display_name") and tr.value), None)
    phone = next((str(tr.value) for tr in traces if tr.target == "identities.phone" and tr.value), None)
    return name, phone


def dead_letter_customers(runtime, session: Session, refs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``ref -> {"contact_id", "name", "phone", "from_record"}`` for dead letters: the contact an
    outbox row was for, the contact linked to a rejected inbox row's record, or — when the
    record never became a contact — the name and phone its mapping still reads from the raw
    record. Unmasked: the caller masks."""
    out_ids = [int(r.split(":")[1]) for r in refs if r.startswith("outbox:")]
    in_ids = [int(r.split(":")[1]) for r in refs if r.startswith("inbox:")]
    found: dict[str, dict[str, Any]] = {}
    contact_of: dict[str, int] = {}
    if out_ids:
        for row_id, contact_id in session.execute(select(OutboxRow.id, OutboxRow.contact_id).where(OutboxRow.id.in_(out_ids))):
            if contact_id is not None:
                contact_of[f"outbox:{row_id}"] = contact_id
    if in_ids:
        rows = session.execute(select(InboxRow.id, InboxRow.connector, InboxRow.stream, InboxRow.native_id, InboxRow.payload)
                               .where(InboxRow.id.in_(in_ids))).all()
        for row_id, connector, stream, native_id, payload in rows:
            link = session.execute(select(Link.contact_id).where(Link.connector == connector, Link.stream == stream,
                                                                 Link.native_id == native_id).limit(1)).scalar()
            if link is not None:
                contact_of[f"inbox:{row_id}"] = link
            else:
                name, phone = _person_in_record(runtime, connector, stream, payload)
                if name or phone:
                    found[f"inbox:{row_id}"] = {"contact_id": None, "name": name, "phone": phone, "from_record": True}
    roots = {ref: root_of(session, cid) or cid for ref, cid in contact_of.items()}
    names = dict(session.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(set(roots.values())))).all()) if roots else {}
    for ref, cid in roots.items():
        phone = session.execute(select(Identity.value).where(Identity.contact_id == cid, Identity.kind == "phone")
                                .order_by(Identity.id).limit(1)).scalar()
        found[ref] = {"contact_id": cid, "name": names.get(cid), "phone": phone, "from_record": False}
    return found


def list_runs(session: Session, *, connector: str | None = None, status: str | None = None, limit: int = 50,
              before: int | None = None, kind: str | None = None) -> list[Run]:
    """Runs newest first; ``before`` (a run id) pages to older ones."""
    stmt = select(Run).order_by(Run.id.desc()).limit(limit)
    if connector:
        stmt = stmt.where(Run.connector == connector)
    if kind:
        stmt = stmt.where(Run.kind == kind)
    if status:
        stmt = stmt.where(Run.status == status)
    if before is not None:
        stmt = stmt.where(Run.id < before)
    return list(session.execute(stmt).scalars())


def list_audit(session: Session, *, action: str | None = None, actor: str | None = None, target: str | None = None,
               limit: int = 50, before: int | None = None) -> list[AuditEntry]:
    """Audit entries newest first; ``before`` (an entry id) pages to older ones."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor.like(_like(actor), escape="\\"))
    if target:
        stmt = stmt.where(AuditEntry.target == target)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    return list(session.execute(stmt).scalars())


def audit(session: Session, actor: str, action: str, target: str | None, detail: dict | None = None) -> None:
    session.add(AuditEntry(actor=actor[:100], action=action[:64], target=(target or "")[:255] or None, at=utcnow(),
                           detail=detail or {}))


def ago(seconds: float | None) -> tuple[int, str] | None:
    """``(n, unit)`` for a duration, unit one of s/m/h/d (the UI translates the unit)."""
    if seconds is None:
        return None
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return int(seconds // size), unit
    return int(seconds), "s"


def since(moment: datetime | None, now: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return max(0.0, ((now or utcnow()) - moment).total_seconds())


__all__ = ["ContactHit", "ConnectorStatus", "MAX_ID", "search_contacts", "connector_statuses", "list_runs", "list_audit",
           "audit", "channel_of", "instances_of", "ago", "since"]
