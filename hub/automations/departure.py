"""Departure hand-over: when a member leaves, hand their customers to someone else.

```yaml
automations:
  departure:
    on: {member: left}
    do: {transfer_customers: {to: manager_of_member, fallback: sales_pool_lead}}
```

**The signal** is connector-neutral: any inbound mapping says a member left with an event
whose ``data`` holds ``departed_member`` (the member id) and optionally ``member_instance``
(the connector instance whose member it is; default: the record's own). WeCom's
``change_contact`` delete_user callback does so on a record of no contact (a member is not
a customer), its ``unassigned`` stream on each waiting customer, an HR system's mapping on
its employee rows. Processing (:func:`signal`) records the departure as one row in
``departures`` per (automation, instance, member): a departure signalled again — the
callback, then every unassigned pair — is the same row, made due again.

**The work** happens in the ticker's departures job (:func:`advance_departures`), outside
processing and with remote reads outside any transaction:

1. the transfers already under way are followed (:meth:`HandOver.statuses`, reads only):
   ``queued`` (in the outbox) → ``waiting`` → ``done`` / ``refused`` / ``limit`` /
   ``failed``, each change on the customer's timeline;
2. the member's customers are listed from the hub's own links (the relation streams the
   connector names — for WeCom the relations and the ``unassigned`` pairs) and those without
   a transfer yet are given a takeover by the rule (``manager_of_member``, a named member, or
   ``{round_robin: {department: ID}}``), else ``fallback``;
3. they are written as transfers of at most 100 (the connector's ``batch_size``) customers
   through the outbox, each batch keyed ``auto:<automation>:<instance>:<member>:<takeover>:b<n>``
   and each customer a row in ``automation_actions`` (kind ``transfer``, unique per
   departure and customer) — so a re-signalled departure, a job run twice or killed half
   way never transfers a customer twice.

The departure stays due (every :data:`CHECK_AFTER`) until every customer's transfer is final.
A previewed automation records what it would transfer (status ``preview``) and sends
nothing; a paused one keeps its departures waiting. The connector side is
:class:`hub.connector.handover.HandOver`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import func, select, update

from hub.automations.actions import ORIGIN_PREFIX, ledger_key, on_timeline
from hub.automations.control import LIVE, PAUSED, PREVIEW, statuses
from hub.automations.spec import Action, Automation, Trigger
from hub.connector.handover import DONE, FAILED, FINAL, LIMIT, REFUSED, WAITING
from hub.pipeline.hashing import payload_hash
from hub.store.models import AutomationAction, Departure, Link, OutboxRow
from hub.store.types import utcnow
from hub.store.upsert import column_in, insert_ignore

log = logging.getLogger(__name__)

#: The event data keys of the connector-neutral departure signal.
MEMBER_KEY, INSTANCE_KEY = "departed_member", "member_instance"
MANAGER = "manager_of_member"
#: Seconds between two looks at a departure with transfers under way (WeCom completes a
#: transfer 24 hours after the request).
CHECK_AFTER = 3600.0
#: A claimed departure is due again after this many seconds if its job dies.
LEASE = 600.0
#: A transfer still unresolved this long after it was sent is given up as failed.
STALE_AFTER = timedelta(days=3)
#: ``automation_actions.status`` of a transfer not final yet.
QUEUED = "queued"
OPEN = (QUEUED, WAITING)
TRANSFER = "transfer"

#: How each state reads on the timeline (zh; the field labels carry en, see core labels).
SAID = {
    QUEUED: "离职交接：{who} 的客户转给 {takeover}（第 {batch} 批，待发送）",
    WAITING: "离职交接：已发起转接给 {takeover}，等待接替",
    DONE: "离职交接：已由 {takeover} 接替",
    REFUSED: "离职交接：客户拒绝由 {takeover} 接替",
    LIMIT: "离职交接：{takeover} 的客户数已达上限，未能接替",
    FAILED: "离职交接：转给 {takeover} 失败（{detail}）",
}


@dataclass
class Transfer:
    """``transfer_customers:``: who takes over, and who when the rule yields nobody."""

    rule: str  # manager | member | round_robin
    value: str | None = None  # the member id (member) or the department (round_robin)
    fallback: str | None = None
    instance: str | None = None  # only departures of this instance (default: any)

    def describe(self) -> str:
        to = {"manager": MANAGER, "member": str(self.value), "round_robin": f"round robin in department {self.value}"}[self.rule]
        return f"transfer_customers to {to}" + (f", fallback {self.fallback}" if self.fallback else "")


# -- loading -------------------------------------------------------------------------------

TRANSFER_KEYS = ("to", "fallback", "instance")


def parse_rule(col: Any, base: tuple, raw: dict, connectors: dict, auto: Automation, errors: int) -> Automation | None:
    """``on: {member: left}`` with ``do: {transfer_customers: {...}}`` (called by the loader)."""
    from hub.config.errors import did_you_mean

    on = raw["on"]
    for key in on:
        if key != "member":
            col.add(base + ("on", key), f"a member trigger is just {{member: left}}; {key!r} does not belong to it")
    if on.get("member") != "left":
        col.add(base + ("on", "member"), f"expected member: left, got {on.get('member')!r}")
    auto.on = Trigger(member="left")
    if "do" not in raw:
        col.add(base, "a departure rule needs do: {transfer_customers: {to: manager_of_member, fallback: USERID}}")
        return None
    items = raw["do"] if isinstance(raw["do"], list) else [raw["do"]]
    here = base + ("do",) if not isinstance(raw["do"], list) else base + ("do", 0)
    if len(items) != 1 or not isinstance(items[0], dict) or list(items[0]) != ["transfer_customers"]:
        col.add(here, "a departure rule does one thing: {transfer_customers: {to: …, fallback: …}} "
                "(it acts per member, not per contact)")
        return None
    path = here + ("transfer_customers",)
    spec = items[0]["transfer_customers"]
    if not isinstance(spec, dict):
        col.add(path, "expected {to: manager_of_member | USERID | {round_robin: {department: ID}}, fallback: USERID}")
        return None
    for key in spec:
        if key not in TRANSFER_KEYS:
            col.add(path + (key,), f"unknown key{did_you_mean(str(key), TRANSFER_KEYS)}")
    transfer = _to(col, path + ("to",), spec.get("to"))
    fallback = spec.get("fallback")
    if fallback is not None and (not isinstance(fallback, (str, int)) or not str(fallback).strip()):
        col.add(path + ("fallback",), "expected the member id who takes over when the rule yields nobody")
        fallback = None
    able = sorted(n for n, inst in connectors.items() if getattr(inst.connector_class, "handover", None) is not None)
    instance = spec.get("instance")
    if instance is not None and str(instance) not in able:
        col.add(path + ("instance",), f"{instance!r} is no connector instance that can hand customers over"
                f"{did_you_mean(str(instance), able)}; those that can: {able or 'none'}")
    elif not able:
        col.add(path, "no configured connector instance can hand customers over (e.g. type wecom)")
    else:
        missing = [n for n in ([str(instance)] if instance is not None else able) if not _writes(connectors[n])]
        if missing:
            sink = connectors[missing[0]].connector_class.handover.sink
            col.add(path, f"{missing[0]} hands customers over through its {sink!r} sink, which is not configured: add "
                    f"connectors.{missing[0]}.sinks.{sink}: {{sources: [], mode: preview}} (hub plan / hub approve), "
                    f"or limit the rule with instance:")
    if transfer is not None:
        transfer.fallback = str(fallback).strip() if fallback is not None else None
        transfer.instance = str(instance) if instance is not None else None
        auto.actions = [Action(transfer=transfer)]
    return auto if len(col.errors) == errors else None


def _to(col: Any, path: tuple, raw: Any) -> Transfer | None:
    if raw == MANAGER:
        return Transfer("manager")
    if isinstance(raw, dict):
        robin = raw.get("round_robin")
        if list(raw) == ["round_robin"] and isinstance(robin, dict) and list(robin) == ["department"] \
                and str(robin["department"]).strip() not in ("", "None"):
            return Transfer("round_robin", str(robin["department"]).strip())
        col.add(path, "expected {round_robin: {department: ID}}")
        return None
    if isinstance(raw, (str, int)) and str(raw).strip():
        return Transfer("member", str(raw).strip())
    col.add(path, f"expected {MANAGER}, a member id or {{round_robin: {{department: ID}}}}, got {raw!r}")
    return None


def _writes(inst: Any) -> bool:
    """Whether the instance has its hand-over sink configured (delivery writes only those)."""
    sink = inst.connector_class.handover.sink
    return sink in inst.sinks and getattr(inst.sinks[sink], "enabled", True)


def is_departure(auto: Automation) -> bool:
    return auto.on is not None and auto.on.member is not None


def departure_rules(runtime: Any) -> dict[str, Automation]:
    return {n: a for n, a in runtime.config.automations.automations.items() if is_departure(a)}


# -- the signal (processing) -------------------------------------------------------------------


def signals_in(items: Iterable[tuple[Any, Any]]) -> list[tuple[str, str, str]]:
    """``(instance, member, source)`` of every departure signal among processed records."""
    out: dict[tuple[str, str], str] = {}
    for _row, item in items:
        for ev in item.record.events:
            data = ev.data or {}
            member = data.get(MEMBER_KEY)
            if member in (None, ""):
                continue
            instance = str(data.get(INSTANCE_KEY) or item.instance)
            out.setdefault((instance, str(member)), f"{item.instance}.{item.stream}:{item.native_id}"[:255])
    return [(i, m, s) for (i, m), s in out.items()]


def signal(session: Any, runtime: Any, items: list[tuple[Any, Any]]) -> int:
    """Record the departures this processed batch signals (inside processing's
    transaction); returns how many departure rows were made due."""
    rules = departure_rules(runtime)
    found = signals_in(items) if rules else []
    if not found:
        return 0
    now = utcnow()
    made = 0
    for name, auto in rules.items():
        transfer: Transfer = auto.actions[0].transfer
        for instance, member, source in found:
            if transfer.instance is not None and transfer.instance != instance:
                continue
            inst = runtime.config.connectors.get(instance)
            if inst is None or getattr(inst.connector_class, "handover", None) is None:
                log.info("departure of %s in %s: that instance cannot hand customers over; ignored", member, instance)
                continue
            record_departure(session, name, instance, member, source, now)
            made += 1
    return made


def record_departure(session: Any, automation: str, instance: str, member: str, source: str, now: datetime) -> None:
    """One row per (automation, instance, member); a repeated signal makes it due now."""
    got = insert_ignore(session, Departure, [{
        "automation": automation, "connector": instance, "member": member[:255], "status": "open", "signals": 1,
        "source": source[:255], "batches": 0, "next_due_at": now, "detail": None, "signalled_at": now, "updated_at": now,
    }], ["automation", "connector", "member"], returning=[Departure.id])
    if not got:
        session.execute(update(Departure).where(Departure.automation == automation, Departure.connector == instance,
                                                Departure.member == member[:255])
                        .values(signals=Departure.signals + 1, source=source[:255], next_due_at=now, updated_at=now))


# -- the job (ticker) ----------------------------------------------------------------------------


@dataclass
class Advanced:
    """What one :func:`advance_departures` pass did."""

    departures: int = 0
    queued: int = 0  # customers put into new transfers (or, in preview, recorded)
    previewed: int = 0
    changed: int = 0  # transfer states that moved on
    outbox_ids: list[int] = field(default_factory=list)


def departures_job() -> dict:
    """The ticker's job: advance due departures, then deliver the transfers they wrote."""
    from hub.pipeline.jobs import _safely, enqueue_deliver
    from hub.runtime import current

    runtime = current()
    done = advance_departures(runtime)
    if done.outbox_ids:
        _safely("delivery", enqueue_deliver, runtime, done.outbox_ids)
    return {"departures": done.departures, "queued": done.queued, "previewed": done.previewed, "changed": done.changed}


def advance_departures(runtime: Any, *, now: datetime | None = None, limit: int = 50) -> Advanced:
    """Work the departures that are due (up to ``limit``): follow transfers under way, hand
    new customers over. Each departure is claimed first (compare-and-set of its due time to
    a lease), so two workers never work one departure at once."""
    out = Advanced()
    rules = departure_rules(runtime)
    if not rules:
        return out
    now = now or utcnow()
    with runtime.db.session() as s:
        state = dict(statuses(s))
        active = [n for n in rules if state.get(n, PREVIEW) != PAUSED]
        due = s.execute(select(Departure.id, Departure.next_due_at).where(
            column_in(s, Departure.automation, active), Departure.next_due_at <= now)
            .order_by(Departure.next_due_at, Departure.id).limit(limit)).all() if active else []
    for dep_id, due_at in due:
        with runtime.db.session() as s:  # the claim is this transaction's first statement (SQLite)
            claimed = s.execute(update(Departure).where(Departure.id == dep_id, Departure.next_due_at == due_at)
                                .values(next_due_at=now + timedelta(seconds=LEASE))).rowcount
        if not claimed:
            continue
        try:
            work(runtime, dep_id, rules, state, now, out)
        except Exception as exc:  # one departure's trouble (the remote down) must not stop the others
            log.exception("departure %s: hand-over failed; due again after the lease", dep_id)
            with runtime.db.session() as s:
                s.execute(update(Departure).where(Departure.id == dep_id)
                          .values(detail=f"{type(exc).__name__}: {exc}"[:2000], updated_at=utcnow()))
        out.departures += 1
    return out


@dataclass
class _Customer:
    customer: str
    contact_id: int


def _handover(runtime: Any, instance: str) -> Any:
    connector = runtime.connector(instance)
    cls = getattr(type(connector), "handover", None)
    if cls is None:
        raise LookupError(f"{instance} cannot hand customers over")
    return cls(connector)


def customers_of(session: Any, handover: Any, instance: str, member: str) -> list[_Customer]:
    """The member's customers among the hub's links (active relations and unassigned pairs)."""
    if not handover.relation_streams:
        return []
    pattern = "%" + member.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: dict[str, _Customer] = {}
    for stream, native_id, contact_id in session.execute(
        select(Link.stream, Link.native_id, Link.contact_id).where(
            Link.connector == instance, column_in(session, Link.stream, list(handover.relation_streams)),
            Link.state == "active", Link.native_id.like(pattern, escape="\\")).order_by(Link.id)
    ):
        pair = handover.relation(stream, native_id)
        if pair is not None and pair[1] == member and pair[0] not in found:
            found[pair[0]] = _Customer(pair[0], contact_id)
    return [found[c] for c in sorted(found)]


def choose(handover: Any, transfer: Transfer, member: str, customers: list[_Customer], offset: int) -> tuple[list[str | None], str]:
    """The takeover of each customer (None: nobody) and how it was chosen."""
    fallback = transfer.fallback if transfer.fallback and transfer.fallback != member else None
    if transfer.rule == "member":
        who = transfer.value if transfer.value != member else None
        return [who or fallback] * len(customers), "named member" if who else "fallback"
    if transfer.rule == "manager":
        managers = [m for m in handover.managers(member) if m and m != member]
        if managers:
            return [managers[0]] * len(customers), "manager"
        return [fallback] * len(customers), "fallback (no manager known)"
    pool = [m for m in handover.department_members(str(transfer.value)) if m and m != member]
    if not pool:
        return [fallback] * len(customers), f"fallback (nobody in department {transfer.value})"
    return [pool[(offset + i) % len(pool)] for i in range(len(customers))], f"round robin in department {transfer.value}"


def _lock(session: Any, dep_id: int) -> Departure:
    """The departure row, locked for this transaction (SQLite: the write lock, taken by a
    no-op update as the first statement)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Departure).where(Departure.id == dep_id).values(batches=Departure.batches))
        return session.get(Departure, dep_id)
    return session.execute(select(Departure).where(Departure.id == dep_id).with_for_update()).scalar_one()


def _followed(runtime: Any, handover: Any, dep_id: int, now: datetime) -> dict[int, tuple[str, str]]:
    """``action id → (new state, detail)`` for the transfers of this departure under way."""
    with runtime.db.session() as s:
        rows = s.execute(select(AutomationAction.id, AutomationAction.outbox_id, AutomationAction.status,
                                AutomationAction.payload, AutomationAction.created_at).where(
            AutomationAction.departure_id == dep_id, AutomationAction.kind == TRANSFER,
            column_in(s, AutomationAction.status, list(OPEN)))).all()
        outbox = {r.id: r for r in s.execute(select(OutboxRow.id, OutboxRow.status, OutboxRow.payload, OutboxRow.idempotency_key,
                                                    OutboxRow.last_error)
                                             .where(column_in(s, OutboxRow.id, sorted({r.outbox_id for r in rows if r.outbox_id}))))}
    changes: dict[int, tuple[str, str]] = {}
    by_batch: dict[int, list[Any]] = {}
    for row in rows:
        by_batch.setdefault(row.outbox_id, []).append(row)
    for outbox_id, actions in by_batch.items():
        sent = outbox.get(outbox_id)
        if sent is None or sent.status in ("dead", "discarded", "superseded"):
            reason = (sent.last_error if sent is not None else None) or "the transfer was not written"
            changes.update({a.id: (FAILED, reason[:500]) for a in actions})
            continue
        if sent.status != "delivered":
            continue  # still in the outbox (pending, sending, held for approval)
        states = handover.statuses(sent.payload, sent.idempotency_key)
        for a in actions:
            state, detail = states.get((a.payload or {}).get("customer"), (WAITING, ""))
            if state == WAITING and now - a.created_at > STALE_AFTER:
                state, detail = FAILED, f"no result {STALE_AFTER.days} days after the request"
            if state != a.status:
                changes[a.id] = (state, detail)
    return changes


def work(runtime: Any, dep_id: int, rules: dict[str, Automation], state: dict[str, str], now: datetime, out: Advanced) -> None:
    """One departure: follow, list, choose, write (remote reads first, then one transaction)."""
    with runtime.db.session() as s:
        dep = s.get(Departure, dep_id)
        name, instance, member = dep.automation, dep.connector, dep.member
    auto = rules[name]
    transfer: Transfer = auto.actions[0].transfer
    mode = LIVE if state.get(name) == LIVE else PREVIEW
    handover = _handover(runtime, instance)
    changes = _followed(runtime, handover, dep_id, now) if mode == LIVE else {}
    with runtime.db.session() as s:
        customers = customers_of(s, handover, instance, member)
        had = set(s.scalars(select(AutomationAction.key).where(AutomationAction.departure_id == dep_id)))
        offset = s.scalar(select(func.count()).select_from(AutomationAction).where(
            AutomationAction.automation == name, AutomationAction.kind == TRANSFER,
            (AutomationAction.status != PREVIEW) if mode == LIVE else (AutomationAction.status == PREVIEW))) or 0
    new = [c for c in customers if _key(name, dep_id, c.customer, mode) not in had]
    takeovers, how = choose(handover, transfer, member, new, offset) if new else ([], "")
    who = handover.describe(member)
    names: dict[str, str] = {t: handover.describe(t) for t in set(takeovers) if t}
    names.update({t: handover.describe(t) for t in _takeovers_of(runtime, changes)})
    with runtime.db.session() as s:
        dep = _lock(s, dep_id)
        taken = set(s.scalars(select(AutomationAction.key).where(AutomationAction.departure_id == dep_id)))
        fresh = [(c, t) for c, t in zip(new, takeovers) if _key(name, dep_id, c.customer, mode) not in taken]
        _apply_changes(s, name, changes, names, now, out)
        batches = _write(s, runtime, handover, auto, dep, fresh, mode, who, names, how, now, out)
        open_left = s.scalar(select(func.count()).select_from(AutomationAction).where(
            AutomationAction.departure_id == dep_id, column_in(s, AutomationAction.status, list(OPEN)))) or 0
        dep.batches += batches
        dep.status = "previewed" if mode != LIVE else ("open" if open_left else "done")
        dep.next_due_at = now + timedelta(seconds=CHECK_AFTER) if mode == LIVE and open_left else None
        dep.detail = (f"{len(customers)} customer(s); {how}" if how else dep.detail or f"{len(customers)} customer(s)")[:2000]
        dep.updated_at = now


def _key(name: str, dep_id: int, customer: str, mode: str) -> str:
    return ledger_key(name, "departure", dep_id, customer, *(["preview"] if mode != LIVE else []))


def _takeovers_of(runtime: Any, changes: dict[int, tuple[str, str]]) -> set[str]:
    if not changes:
        return set()
    with runtime.db.session() as s:
        return {(p or {}).get("takeover") for p in s.scalars(select(AutomationAction.payload).where(
            column_in(s, AutomationAction.id, sorted(changes))))} - {None}


def _note(session: Any, automation: str, contact_id: int, action_id: int, state: str, payload: dict, names: dict[str, str],
          now: datetime, detail: str = "") -> None:
    takeover = payload.get("takeover")
    said = SAID[state].format(who=payload.get("member_name") or payload.get("member"), takeover=names.get(takeover, takeover or "—"),
                              batch=payload.get("batch"), detail=detail or "—")
    on_timeline(session, contact_id, automation, f"departure:{action_id}:{state}", said, now,
                departed_member=payload.get("member"), takeover=takeover, transfer_status=state,
                **({"reason": detail} if detail else {}))


def _apply_changes(session: Any, name: str, changes: dict[int, tuple[str, str]], names: dict[str, str], now: datetime,
                   out: Advanced) -> None:
    for action_id, (new_state, detail) in sorted(changes.items()):
        moved = session.execute(update(AutomationAction).where(
            AutomationAction.id == action_id, column_in(session, AutomationAction.status, list(OPEN)))
            .values(status=new_state, **({"detail": detail[:2000]} if detail else {}))).rowcount
        if not moved:
            continue
        row = session.get(AutomationAction, action_id)
        _note(session, name, row.contact_id, action_id, new_state, row.payload or {}, names, now, detail)
        out.changed += 1


def _write(session: Any, runtime: Any, handover: Any, auto: Automation, dep: Departure, fresh: list[tuple[_Customer, str | None]],
           mode: str, who: str, names: dict[str, str], how: str, now: datetime, out: Advanced) -> int:
    """The new customers' actions, and (live) their transfers in batches; returns the batches."""
    from hub.pipeline.preview import hold_status

    if not fresh:
        return 0
    name, instance, member = auto.name, dep.connector, dep.member
    target = f"{instance}.{handover.sink}"[:200]
    actions: list[dict[str, Any]] = []
    groups: dict[str, list[_Customer]] = {}
    for customer, takeover in fresh:
        base = {"automation": name, "contact_id": customer.contact_id, "key": _key(name, dep.id, customer.customer, mode),
                "kind": TRANSFER, "target": target, "is_message": False, "outbox_id": None, "created_at": now,
                "departure_id": dep.id, "detail": how[:2000] or None,
                "payload": {"member": member, "member_name": who, "customer": customer.customer, "takeover": takeover}}
        if takeover is None:
            base.update(status=FAILED, detail="nobody to take over: the rule found no one and there is no fallback")
        elif mode != LIVE:
            base["status"] = PREVIEW
            out.previewed += 1
        else:
            base["status"] = QUEUED
            groups.setdefault(takeover, []).append(customer)
        actions.append(base)
    batch_of: dict[str, tuple[int, int]] = {}  # customer → (batch number, outbox row index)
    rows: list[dict[str, Any]] = []
    number = dep.batches
    for takeover in sorted(groups):
        members = groups[takeover]
        for start in range(0, len(members), handover.batch_size):
            chunk = members[start:start + handover.batch_size]
            number += 1
            payload = handover.payload(member, takeover, [c.customer for c in chunk])
            rows.append({
                "connector": instance, "sink": handover.sink, "contact_id": None, "origin": (ORIGIN_PREFIX + name)[:64],
                "idempotency_key": ("auto:" + ledger_key(name, instance, member, takeover, f"b{number}"))[:255],
                "payload": payload, "payload_hash": payload_hash(payload), "written_values": None, "changed": None,
                "native_id": None, "status": hold_status(runtime, session, instance, handover.sink),
                "next_attempt_at": min(now, utcnow()),
            })
            for c in chunk:
                batch_of[c.customer] = (number, len(rows) - 1)
    got = insert_ignore(session, OutboxRow, rows, ["idempotency_key"], returning=[OutboxRow.id, OutboxRow.idempotency_key])
    ids = {key: oid for oid, key in got}
    for a in actions:
        placed = batch_of.get(a["payload"]["customer"])
        if placed is not None:
            a["payload"]["batch"] = placed[0]
            a["outbox_id"] = ids.get(rows[placed[1]]["idempotency_key"])
    inserted = insert_ignore(session, AutomationAction, actions, ["key"], returning=[AutomationAction.id, AutomationAction.key])
    by_key = {a["key"]: a for a in actions}
    for action_id, key in sorted(inserted):
        a = by_key[key]
        if a["status"] in (QUEUED, FAILED):
            _note(session, name, a["contact_id"], action_id, a["status"], a["payload"], names, now, a["detail"] if a["status"] == FAILED else "")
    out.queued += sum(1 for a in actions if a["status"] == QUEUED)
    out.outbox_ids += sorted(ids.values())
    return len(rows)


# -- visibility -------------------------------------------------------------------------------


def progress(session: Any, name: str) -> dict[str, Any]:
    """Departures per status and customers per transfer state, for ``hub automations show``."""
    deps = dict(session.execute(select(Departure.status, func.count()).where(Departure.automation == name)
                                .group_by(Departure.status)).all())
    customers = dict(session.execute(select(AutomationAction.status, func.count()).where(
        AutomationAction.automation == name, AutomationAction.kind == TRANSFER).group_by(AutomationAction.status)).all())
    recent = session.execute(select(Departure.connector, Departure.member, Departure.status, Departure.signals, Departure.detail)
                             .where(Departure.automation == name).order_by(Departure.updated_at.desc(), Departure.id.desc())
                             .limit(10)).all()
    return {"departures": deps, "customers": customers, "recent": [tuple(r) for r in recent]}


def dry_run(runtime: Any, auto: Automation, *, limit: int = 20) -> list[Any]:
    """For ``hub automations run NAME --dry-run``: the departures recorded for ``auto`` and,
    per customer not handed over yet, the takeover its rule would choose now (the directory
    is read; nothing is written)."""
    from hub.automations.dryrun import Would

    transfer: Transfer = auto.actions[0].transfer
    found: list[Any] = []
    with runtime.db.session() as s:
        deps = s.execute(select(Departure.id, Departure.connector, Departure.member, Departure.signals, Departure.source)
                         .where(Departure.automation == auto.name).order_by(Departure.id.desc())).all()
        offset = s.scalar(select(func.count()).select_from(AutomationAction).where(
            AutomationAction.automation == auto.name, AutomationAction.kind == TRANSFER, AutomationAction.status != PREVIEW)) or 0
    for dep_id, instance, member, signals, source in deps:
        handover = _handover(runtime, instance)
        with runtime.db.session() as s:
            customers = customers_of(s, handover, instance, member)
            done = {(p or {}).get("customer") for p in s.scalars(select(AutomationAction.payload).where(
                AutomationAction.departure_id == dep_id, AutomationAction.status != PREVIEW))}
        todo = [c for c in customers if c.customer not in done]
        takeovers, how = choose(handover, transfer, member, todo, offset) if todo else ([], "")
        offset += len(todo)
        for c, t in zip(todo, takeovers):
            would = Would(c.contact_id, f"member {member} ({instance}) left — signalled {signals}× (last: {source})")
            would.actions.append({"target": f"{instance}.{handover.sink}", "status": PREVIEW if t else FAILED,
                                  "payload": {"customer": c.customer, "handover": member, "takeover": t, "chosen": how},
                                  "detail": None if t else "nobody to take over and no fallback"})
            found.append(would)
            if len(found) >= limit:
                return found
    return found


def describe(runtime: Any, auto: Automation) -> list[str]:
    """Lines for ``hub automations show``: the rule, departures and customers per state."""
    transfer: Transfer = auto.actions[0].transfer
    with runtime.db.session() as s:
        got = progress(s, auto.name)
    lines = [transfer.describe() + (f" (instance {transfer.instance})" if transfer.instance else ""),
             "departures: " + (", ".join(f"{k} {v}" for k, v in sorted(got["departures"].items())) or "none yet"),
             "customers: " + (", ".join(f"{k} {v}" for k, v in sorted(got["customers"].items())) or "none yet")]
    for instance, member, status, signals, detail in got["recent"]:
        lines.append(f"  {member} ({instance}): {status}, signalled {signals}×" + (f" — {detail}" if detail else ""))
    return lines
