"""Preview and approval: writes to a sink wait for an operator until the sink is approved.

Why: the first run of a two-way setup (a CRM or membership table that both feeds the hub
and receives from it) used to write straight into the live table — six WeCom customers
landed in ``members`` before anyone saw what was about to be written. Now:

* A sink's **mode** is ``live`` (write at once) or ``preview`` (hold). ``mode:`` in the
  sink's config decides; unset, a *two-way* sink (its instance also has a stream feeding
  the hub) is in preview and any other sink is live.
* Preview lasts **until the sink is approved once** (``hub approve INSTANCE.SINK --all``,
  or the UI): the approval is a row in ``sink_approvals``, and from then on the sink's
  writes flow. Approving only some rows (``hub approve crm.rows 12 13``) releases those
  and leaves the sink in preview.
* A held write is an ordinary outbox row with status ``held``: rendered, hashed and keyed
  like any other, shown by ``hub plan`` as a create (no native id yet) or an update.
  Releasing it sets it ``pending`` and delivery proceeds as always.

Processing asks :func:`hold_status` for each new outbox row (one lookup per sink and
transaction). The functions below are what the CLI and the UI call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select, update

from hub.store.models import AuditEntry, OutboxRow, SinkApproval
from hub.store.types import utcnow
from hub.store.upsert import column_in

HELD = "held"
PREVIEW = "preview"
LIVE = "live"


# -- the decision ------------------------------------------------------------------------------


def is_two_way(inst: Any) -> bool:
    """Whether ``inst`` (a ``ConnectorInstance``) also feeds the hub, so its sinks write into
    a system the hub reads: a stream enabled in its ``streams:`` section (what `hub sync`
    and the schedule pull), or — for a connector with a webhook — any stream not disabled
    there (pushes arrive whether or not the stream is listed)."""
    if any(cfg.enabled for cfg in inst.streams.values()):
        return True
    cls = inst.connector_class
    if cls is not None and getattr(cls, "webhook", None) is not None:
        return any(inst.streams.get(name) is None for name in cls.stream_names(inst.config))
    return False


def configured_mode(config: Any, instance: str, sink: str) -> str:
    """``preview`` or ``live`` as the config alone decides (before any approval)."""
    inst = config.connectors[instance]
    cfg = inst.sinks.get(sink)
    if cfg is not None and cfg.mode:
        return cfg.mode
    return PREVIEW if is_two_way(inst) else LIVE


def approved_sinks(session) -> dict[tuple[str, str], tuple[datetime, str]]:
    """``(instance, sink) → (approved_at, approved_by)`` of every approval."""
    return {(r.connector, r.sink): (r.approved_at, r.approved_by) for r in session.scalars(select(SinkApproval))}


def is_held(config: Any, instance: str, sink: str, approvals: Iterable[tuple[str, str]]) -> bool:
    """Whether new writes to ``instance.sink`` wait for approval."""
    if instance not in config.connectors:
        return False
    return configured_mode(config, instance, sink) == PREVIEW and (instance, sink) not in set(approvals)


def hold_status(runtime: Any, session: Any, instance: str, sink: str) -> str:
    """The status a new outbox row to ``instance.sink`` starts with: ``held`` or ``pending``.

    Called by processing for each row it writes, inside its transaction; the approvals are
    read once per transaction (cached in ``session.info``)."""
    cache = session.info.setdefault("hub_preview_hold", {})
    key = (instance, sink)
    if key not in cache:
        if "approvals" not in cache:
            cache["approvals"] = set(approved_sinks(session))
        cache[key] = HELD if is_held(runtime.config, instance, sink, cache["approvals"]) else "pending"
    return cache[key]


# -- what is held --------------------------------------------------------------------------------


@dataclass
class HeldWrite:
    """One held outbox row as ``hub plan`` and the UI show it."""

    id: int
    instance: str
    sink: str
    contact_id: int | None
    native_id: str | None
    payload: dict[str, Any]
    origin: str | None
    created_at: datetime

    @property
    def action(self) -> str:
        """``create`` (the destination has no record for the contact yet) or ``update``."""
        return "update" if self.native_id else "create"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "target": f"{self.instance}.{self.sink}", "action": self.action,
                "contact_id": self.contact_id, "native_id": self.native_id, "origin": self.origin,
                "payload": self.payload, "created_at": self.created_at.isoformat() if self.created_at else None}


@dataclass
class SinkPreview:
    """One sink's state for the plan: its mode, approval and held counts."""

    instance: str
    sink: str
    mode: str              # the configured mode (preview | live)
    approved_at: datetime | None
    approved_by: str | None
    held: int
    creates: int
    updates: int

    @property
    def holding(self) -> bool:
        return self.mode == PREVIEW and self.approved_at is None

    def as_dict(self) -> dict[str, Any]:
        return {"target": f"{self.instance}.{self.sink}", "mode": self.mode, "holding": self.holding,
                "approved_at": self.approved_at.isoformat() if self.approved_at else None,
                "approved_by": self.approved_by, "held": self.held, "creates": self.creates, "updates": self.updates}


def _parse_target(target: str | None) -> tuple[str | None, str | None]:
    if not target:
        return None, None
    instance, _, sink = target.partition(".")
    return instance, sink or None


def held_writes(db: Any, target: str | None = None, *, limit: int | None = None,
                ids: Iterable[int] | None = None) -> list[HeldWrite]:
    """Held rows, oldest first; ``target`` is ``INSTANCE`` or ``INSTANCE.SINK``."""
    instance, sink = _parse_target(target)
    with db.session() as s:
        query = select(OutboxRow).where(OutboxRow.status == HELD).order_by(OutboxRow.id)
        if instance:
            query = query.where(OutboxRow.connector == instance)
        if sink:
            query = query.where(OutboxRow.sink == sink)
        if ids is not None:
            query = query.where(column_in(s, OutboxRow.id, sorted(set(ids))))
        if limit:
            query = query.limit(limit)
        return [HeldWrite(r.id, r.connector, r.sink, r.contact_id, r.native_id, r.payload or {}, r.origin, r.created_at)
                for r in s.scalars(query)]


def sink_previews(runtime: Any, target: str | None = None) -> list[SinkPreview]:
    """Every configured sink (or those of ``target``) with its mode, approval and what it holds,
    plus any sink that holds rows but is no longer configured."""
    instance, sink = _parse_target(target)
    config = runtime.config
    with runtime.db.session() as s:
        approvals = approved_sinks(s)
        counts: dict[tuple[str, str], list[int]] = {}
        for conn, snk, has_native, n in s.execute(
            select(OutboxRow.connector, OutboxRow.sink, OutboxRow.native_id.is_not(None), func.count())
            .where(OutboxRow.status == HELD).group_by(OutboxRow.connector, OutboxRow.sink, OutboxRow.native_id.is_not(None))
        ):
            c = counts.setdefault((conn, snk), [0, 0])
            c[1 if has_native else 0] += n
    keys = [(n, k) for n, inst in config.connectors.items() for k in inst.connector_class.sink_names(inst.config)]
    keys += [k for k in counts if k not in keys]
    out = []
    for key in keys:
        if (instance and key[0] != instance) or (sink and key[1] != sink):
            continue
        mode = configured_mode(config, *key) if key[0] in config.connectors else LIVE
        at, by = approvals.get(key, (None, None))
        creates, updates = counts.get(key, [0, 0])
        out.append(SinkPreview(key[0], key[1], mode, at, by, creates + updates, creates, updates))
    return out


# -- approving -------------------------------------------------------------------------------


@dataclass
class Approval:
    released: list[int]
    approved: list[str]    # sinks recorded as approved ("instance.sink")


def _sinks_of(runtime: Any, target: str) -> list[tuple[str, str]]:
    instance, sink = _parse_target(target)
    config = runtime.config
    inst = config.connectors.get(instance or "")
    if inst is None:
        from hub.config import did_you_mean

        raise ValueError(f"no connector instance {instance!r}{did_you_mean(instance or '', config.connectors)}")
    offered = inst.connector_class.sink_names(inst.config)
    if sink is not None and sink not in offered:
        raise ValueError(f"{instance} ({inst.type}) has no sink {sink!r}; it has {offered}")
    return [(instance, sink)] if sink else [(instance, s) for s in offered]


def approve(runtime: Any, target: str, *, ids: Iterable[int] | None = None, actor: str,
            deliver: bool = True, inline: bool = False) -> Approval:
    """Release held writes of ``target`` (``INSTANCE`` or ``INSTANCE.SINK``) and deliver them.

    With ``ids=None`` every held row of the target is released and each of its sinks is
    recorded as approved, so later writes flow. With ``ids`` only those rows are released
    (they must be held rows of the target) and the sinks stay in preview. Audited either
    way. Raises ``ValueError`` for an unknown target or ids that are not held there."""
    sinks = _sinks_of(runtime, target)
    wanted = None if ids is None else sorted(set(int(i) for i in ids))
    now = utcnow()
    with runtime.db.session() as s:
        query = select(OutboxRow.id, OutboxRow.connector, OutboxRow.sink).where(OutboxRow.status == HELD)
        if wanted is not None:
            query = query.where(column_in(s, OutboxRow.id, wanted))
        rows = [r for r in s.execute(query) if (r.connector, r.sink) in sinks]
        released = sorted(r.id for r in rows)
        if wanted is not None:
            missing = sorted(set(wanted) - set(released))
            if missing:
                raise ValueError(f"not held writes of {target}: {missing} (see `hub plan {target}`)")
        if released:
            s.execute(update(OutboxRow).where(column_in(s, OutboxRow.id, released), OutboxRow.status == HELD)
                      .values(status="pending", next_attempt_at=now))
        approved = []
        if wanted is None:
            existing = set(approved_sinks(s))
            for key in sinks:
                if key not in existing:
                    s.add(SinkApproval(connector=key[0], sink=key[1], approved_at=now, approved_by=actor[:100]))
                approved.append(f"{key[0]}.{key[1]}")
        s.add(AuditEntry(actor=actor[:100], action="outbox.approve", target=target[:255], at=now,
                         detail={"released": len(released), "ids": released[:200], "approved": approved}))
    if released and deliver:
        _deliver(runtime, released, inline)
    return Approval(released, approved)


def revoke(runtime: Any, target: str, *, actor: str) -> list[str]:
    """Put ``target``'s sinks back in preview (forget their approval); audited."""
    sinks = _sinks_of(runtime, target)
    with runtime.db.session() as s:
        gone = []
        for key in sinks:
            row = s.get(SinkApproval, key)
            if row is not None:
                s.delete(row)
                gone.append(f"{key[0]}.{key[1]}")
        s.add(AuditEntry(actor=actor[:100], action="outbox.revoke", target=target[:255], at=utcnow(), detail={"revoked": gone}))
    return gone


def discard_held(runtime: Any, target: str, *, ids: Iterable[int] | None = None, actor: str) -> list[int]:
    """Drop held writes (status ``discarded``) instead of sending them; audited."""
    sinks = _sinks_of(runtime, target)
    wanted = None if ids is None else sorted(set(int(i) for i in ids))
    with runtime.db.session() as s:
        query = select(OutboxRow.id, OutboxRow.connector, OutboxRow.sink).where(OutboxRow.status == HELD)
        if wanted is not None:
            query = query.where(column_in(s, OutboxRow.id, wanted))
        dropped = sorted(r.id for r in s.execute(query) if (r.connector, r.sink) in sinks)
        if wanted is not None and set(wanted) - set(dropped):
            raise ValueError(f"not held writes of {target}: {sorted(set(wanted) - set(dropped))}")
        if dropped:
            s.execute(update(OutboxRow).where(column_in(s, OutboxRow.id, dropped)).values(status="discarded"))
        s.add(AuditEntry(actor=actor[:100], action="outbox.discard", target=target[:255], at=utcnow(),
                         detail={"discarded": len(dropped), "ids": dropped[:200]}))
    return dropped


def release_stranded(runtime: Any) -> list[int]:
    """Held rows whose sink no longer holds (approved, or now ``mode: live``) → pending.

    A batch that was processing while its sink was approved may commit a held row after the
    approval released the others; the reconciler calls this so none is stranded."""
    with runtime.db.session() as s:
        approvals = set(approved_sinks(s))
        pairs = s.execute(select(OutboxRow.connector, OutboxRow.sink).where(OutboxRow.status == HELD).distinct()).all()
        free = [(c, k) for c, k in pairs if c in runtime.config.connectors and not is_held(runtime.config, c, k, approvals)]
        ids: list[int] = []
        for conn, snk in free:
            ids += list(s.scalars(select(OutboxRow.id).where(OutboxRow.status == HELD, OutboxRow.connector == conn, OutboxRow.sink == snk)))
        if ids:
            s.execute(update(OutboxRow).where(column_in(s, OutboxRow.id, ids), OutboxRow.status == HELD)
                      .values(status="pending", next_attempt_at=utcnow()))
    return sorted(ids)


def _deliver(runtime: Any, ids: list[int], inline: bool) -> None:
    if inline:
        from hub.pipeline.inline import run_inline

        run_inline(runtime, outbox_ids=ids)
        return
    from hub.pipeline.jobs import _safely, enqueue_deliver

    _safely("delivery", enqueue_deliver, runtime, ids)
