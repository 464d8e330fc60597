"""Schedule (cron) triggers: a rule that fires at set local times for a population.

``on: {schedule: "0 9 * * 1-5", where: {attribute: stage, is: 评估价格}}`` (``cron:`` is the
same key) fires at 09:00 on weekdays in ``automation_settings.timezone`` for every contact
that matches ``where:`` at that moment, and runs the rule's actions once per contact and
firing. ``where:`` is one condition or a list (all must hold):

* ``{attribute: stage, is: 评估价格}`` — the contact's current value (``is: [a, b]``: any of);
* ``{tag: 价格异议}`` — the contact has the hub tag;
* ``{not: {…}}`` — the condition does not hold.

Driven by the worker's ticker: every tick queues :func:`hub.automations.jobs.schedules_job`,
which calls :func:`fire_due`. The state of each schedule is one row in
``automation_schedules`` — the last instant fired and, while a firing is under way, the last
contact done — so nothing lives only in Redis:

* **Once per instant.** The row is locked for the whole batch (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL: a second worker skips it; SQLite: the write lock), and every action is keyed
  ``(automation, contact, schedule:<instant>, action)`` in ``automation_actions``.
* **Catch-up.** After downtime a schedule fires *once*, for its most recent instant, however
  many it missed (the row records how many were skipped); never once per missed instant.
* **New or changed schedules** fire from their next instant on (the instant before a schedule
  was first seen, or before its expression or time zone changed, is recorded as skipped).
* **Paused** schedules do not fire: instants that pass while paused are skipped, and a firing
  under way stops. **Preview** fires as usual and only records what it would do.
* Large populations are fired in batches of contacts (a worker killed halfway resumes from
  the last contact done; the keys make the batch it was in act once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from hub.store.types import utcnow

#: Contacts scanned per transaction while firing.
BATCH = 1000
#: Missed instants counted after downtime (beyond this the count says "at least").
MISSED_CAP = 10_000
FIRING, DONE, SKIPPED, STOPPED = "firing", "done", "skipped", "stopped"
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


@dataclass
class Condition:
    """One ``where:`` condition on a contact's current state."""

    attribute: str | None = None
    values: list[Any] = field(default_factory=list)  # ``is:``, any of
    tag: str | None = None
    negate: bool = False

    def holds(self, view: dict[str, Any]) -> bool:
        if self.tag is not None:
            found = self.tag in (view.get("tags") or [])
        else:
            value = (view.get("attributes") or {}).get(self.attribute)  # type: ignore[arg-type]
            found = value is not None and any(value == v or str(value) == str(v) for v in self.values)
        return found != self.negate

    def describe(self) -> str:
        if self.tag is not None:
            text = f"tag {self.tag}"
        else:
            shown = self.values[0] if len(self.values) == 1 else "|".join(str(v) for v in self.values)
            text = f"{self.attribute} = {shown}"
        return f"not ({text})" if self.negate else text


@dataclass
class Schedule:
    """A cron expression (5 fields, or ``@daily`` …) and the population it fires for."""

    expression: str
    where: list[Condition]

    def cron(self, start: datetime, tz: ZoneInfo) -> Any:
        from croniter import croniter

        return croniter(self.expression, start.astimezone(tz))

    def latest(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The most recent instant at or before ``now`` (aware, UTC)."""
        from croniter import croniter

        local = now.astimezone(tz)
        if croniter.match(self.expression, local.replace(second=0, microsecond=0)):
            return local.replace(second=0, microsecond=0).astimezone(ZoneInfo("UTC"))
        return self.cron(now, tz).get_prev(datetime).astimezone(ZoneInfo("UTC"))

    def next(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first instant after ``now`` (aware, in ``tz``)."""
        return self.cron(now, tz).get_next(datetime)

    def missed_between(self, after: datetime, until: datetime, tz: ZoneInfo) -> int:
        """Instants strictly between ``after`` and ``until`` (both fired or skipped)."""
        it, n = self.cron(after, tz), 0
        while n < MISSED_CAP:
            if it.get_next(datetime) >= until:
                return n
            n += 1
        return n

    def matches(self, view: dict[str, Any]) -> bool:
        return all(c.holds(view) for c in self.where)

    def key(self, tz: ZoneInfo) -> str:
        """What a stored instant was computed from: another expression or zone starts afresh."""
        return f"{self.expression} {tz.key}"[:200]

    def describe(self) -> str:
        where = " and ".join(c.describe() for c in self.where)
        return f"schedule {self.expression}" + (f" where {where}" if where else "")


# -- loading --------------------------------------------------------------------------------


def parse(col: Any, path: tuple, raw: dict) -> Schedule | None:
    """``{schedule|cron: EXPR, where: …}`` → :class:`Schedule`; problems go to ``col`` as
    ``file:line key.path: message``."""
    from croniter import croniter

    from hub.config.errors import did_you_mean

    keys = [k for k in ("schedule", "cron") if k in raw]
    if len(keys) > 1:
        col.add(path + ("cron",), "schedule: and cron: are the same key; give one")
        return None
    key = keys[0]
    for other in raw:
        if other not in (key, "where"):
            col.add(path + (other,), f"unknown key{did_you_mean(str(other), (key, 'where'))}; a schedule trigger is "
                    f"{{{key}: \"0 9 * * 1-5\", where: {{attribute: stage, is: 评估价格}}}}")
    expression = raw[key]
    text = " ".join(str(expression).split()) if isinstance(expression, str) else ""
    errors = len(col.errors)
    if not text:
        col.add(path + (key,), f"expected a cron expression like \"0 9 * * 1-5\" (minute hour day month weekday), got {expression!r}")
    elif text.startswith("@"):
        if text not in ALIASES:
            col.add(path + (key,), f"unknown cron alias {text!r}{did_you_mean(text, ALIASES)}; aliases: {', '.join(ALIASES)}")
    elif len(text.split()) != 5:
        col.add(path + (key,), f"expected 5 fields (minute hour day month weekday), e.g. \"0 9 * * 1-5\"; {text!r} has {len(text.split())}")
    else:
        try:
            croniter(text)
        except Exception as exc:  # croniter's CroniterError family: its message names the field
            col.add(path + (key,), f"invalid cron expression {text!r}: {exc}")
    if "where" not in raw:
        col.add(path, "a schedule needs where: — the contacts it acts on, e.g. {attribute: stage, is: 评估价格} or {tag: 价格异议}")
        return None
    where = _where(col, path + ("where",), raw["where"])
    if len(col.errors) != errors or where is None:
        return None
    return Schedule(text, where)


def _where(col: Any, path: tuple, raw: Any) -> list[Condition] | None:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        col.add(path, "expected a condition or a list of conditions")
        return None
    out = []
    for i, item in enumerate(items):
        here = path + (i,) if isinstance(raw, list) else path
        cond = _condition(col, here, item)
        if cond is not None:
            out.append(cond)
    return out if len(out) == len(items) else None


def _condition(col: Any, path: tuple, raw: Any, negate: bool = False) -> Condition | None:
    from hub.config.errors import did_you_mean

    shape = "{attribute: stage, is: 评估价格}, {tag: 价格异议} or {not: {…}}"
    if not isinstance(raw, dict) or not raw:
        col.add(path, f"a condition is {shape}")
        return None
    if "not" in raw:
        if len(raw) > 1:
            col.add(path, "not: stands alone: {not: {tag: 已购买}}")
            return None
        return _condition(col, path + ("not",), raw["not"], not negate)
    known = ("attribute", "is") if "attribute" in raw else ("tag",)
    for key in raw:
        if key not in known:
            col.add(path + (key,), f"unknown key{did_you_mean(str(key), ('attribute', 'is', 'tag', 'not'))}; a condition is {shape}")
            return None
    if "tag" in raw:
        if not isinstance(raw["tag"], str) or not raw["tag"].strip():
            col.add(path + ("tag",), "expected a tag name")
            return None
        return Condition(tag=raw["tag"].strip(), negate=negate)
    if not isinstance(raw["attribute"], str) or not raw["attribute"]:
        col.add(path + ("attribute",), "expected an attribute name")
        return None
    if "is" not in raw:
        col.add(path, "give is: VALUE (or a list of values) with attribute:")
        return None
    values = raw["is"] if isinstance(raw["is"], list) else [raw["is"]]
    if not values or any(v is None for v in values):
        col.add(path + ("is",), "expected a value or a list of values")
        return None
    return Condition(attribute=raw["attribute"], values=values, negate=negate)


# -- the population -------------------------------------------------------------------------


def population(session: Any, schedule: Schedule, after: int, limit: int) -> tuple[list[tuple[int, dict[str, Any]]], int | None]:
    """Contacts with id > ``after`` matching ``where`` now, from up to ``limit`` candidates:
    ``([(contact_id, view)], last candidate id or None when none is left)``.

    Candidates come from the first positive condition's rows (contacts holding that
    attribute or tag), else from every unmerged contact, in id order."""
    from hub.pipeline.views import load_views
    from hub.store.models import Contact, ContactAttribute, ContactTag

    driver = next((c for c in schedule.where if not c.negate), None)
    if driver is None:
        query = select(Contact.id).where(Contact.merged_into.is_(None), Contact.id > after).order_by(Contact.id)
    elif driver.tag is not None:
        query = select(ContactTag.contact_id).where(ContactTag.tag == driver.tag, ContactTag.contact_id > after).order_by(ContactTag.contact_id)
    else:
        query = (select(ContactAttribute.contact_id).where(ContactAttribute.name == driver.attribute, ContactAttribute.contact_id > after)
                 .order_by(ContactAttribute.contact_id))
    ids = list(session.scalars(query.limit(limit)))
    if not ids:
        return [], None
    views = load_views(session, ids)
    found = [(cid, views[cid]) for cid in ids if schedule.matches(views[cid])]
    return found, (ids[-1] if len(ids) >= limit else None)


def first_matches(session: Any, schedule: Schedule, limit: int) -> list[int]:
    """The first ``limit`` contacts matching ``where`` now (``hub automations run --dry-run``)."""
    out: list[int] = []
    after: int | None = 0
    while after is not None and len(out) < limit:
        found, after = population(session, schedule, after, BATCH)
        out += [cid for cid, _ in found]
    return out[:limit]


# -- firing ---------------------------------------------------------------------------------


@dataclass
class Fired:
    """What one :func:`fire_due` pass did."""

    firings: list[tuple[str, datetime]] = field(default_factory=list)  # (automation, instant) started
    contacts: int = 0
    outbox_ids: list[int] = field(default_factory=list)
    skipped: list[tuple[str, datetime]] = field(default_factory=list)  # paused, or first seen


def schedules(runtime: Any) -> dict[str, Any]:
    """``name → automation`` of every rule with a schedule trigger."""
    return {n: a for n, a in runtime.config.automations.automations.items() if a.on is not None and a.on.schedule is not None}


def _lock(session: Any, name: str) -> Any:
    """The schedule's row, locked for this transaction; None if another worker holds it or
    there is none yet."""
    from hub.store.models import AutomationSchedule

    table = AutomationSchedule.__table__
    if session.get_bind().dialect.name == "sqlite":
        # A no-op write first: the database's write lock, held to the commit (hub.pipeline.claims).
        session.execute(update(table).where(table.c.automation == name).values(automation=table.c.automation))
        return session.execute(select(AutomationSchedule).where(AutomationSchedule.automation == name)).scalar_one_or_none()
    return session.execute(select(AutomationSchedule).where(AutomationSchedule.automation == name)
                           .with_for_update(skip_locked=True)).scalar_one_or_none()


def fire_due(runtime: Any, *, now: datetime | None = None, batch: int | None = None, budget: float = 60.0) -> Fired:
    """Fire every schedule whose instant has come (one batch of contacts per transaction),
    within ``budget`` seconds (one batch each at least); what is left goes on at the next
    tick."""
    import time

    out = Fired()
    autos = schedules(runtime)
    if not autos:
        return out
    now = now or utcnow()
    started = time.monotonic()
    for name, auto in autos.items():
        # At least one step each (a schedule whose row is new or due is never starved).
        while _step(runtime, name, auto, now, batch or BATCH, out) and time.monotonic() - started <= budget:
            pass
    return out


def _step(runtime: Any, name: str, auto: Any, now: datetime, batch: int, out: Fired) -> bool:
    """One transaction for one schedule: start a firing if its instant has come, and fire
    one batch of contacts. True if there is more to do now."""
    from hub.automations.actions import Job, perform_many
    from hub.automations.control import PAUSED, statuses
    from hub.store.models import AutomationSchedule
    from hub.store.upsert import insert_ignore

    settings = runtime.config.automations
    tz = settings.tz
    sched: Schedule = auto.on.schedule
    with runtime.db.session() as session:
        mode = statuses(session).get(name, "preview")
    with runtime.db.session() as session:
        row = _lock(session, name)
        due = sched.latest(now, tz)
        if row is None:
            # First seen (or held by another worker: the insert then does nothing).
            got = insert_ignore(session, AutomationSchedule, [{
                "automation": name, "schedule": sched.key(tz), "instant": due, "status": SKIPPED, "cursor": None,
                "contacts": 0, "missed": 0, "started_at": None, "finished_at": None, "updated_at": now}], ["automation"],
                returning=[AutomationSchedule.automation])
            if got:
                out.skipped.append((name, due))
            return False
        if row.schedule != sched.key(tz):  # another expression or zone: fires from its next instant on
            row.schedule, row.instant, row.status, row.cursor, row.updated_at = sched.key(tz), due, SKIPPED, None, now
            out.skipped.append((name, due))
            return False
        if mode == PAUSED:
            if row.cursor is not None:
                row.status, row.cursor, row.finished_at, row.updated_at = STOPPED, None, now, now
            if due > row.instant:
                row.instant, row.status, row.updated_at = due, SKIPPED, now
                out.skipped.append((name, due))
            return False
        if row.cursor is None:
            if due <= row.instant:
                return False
            missed = sched.missed_between(row.instant, due, tz)
            row.instant, row.status, row.cursor, row.contacts, row.missed = due, FIRING, 0, 0, missed
            row.started_at, row.finished_at, row.updated_at = now, None, now
            out.firings.append((name, due))
        instant = row.instant
        found, last = population(session, sched, row.cursor, batch)
        key = f"schedule:{instant.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%MZ}"
        local = instant.astimezone(tz)
        label = f"{sched.expression} @ {local:%Y-%m-%d %H:%M %Z}"
        jobs = [Job(auto, cid, view, auto.actions, key, {}, mode, label) for cid, view in found]
        for done in perform_many(session, runtime, jobs, now):
            out.outbox_ids += done.outbox_ids
        out.contacts += len(found)
        row.contacts += len(found)
        row.updated_at = now
        if last is None:
            row.cursor, row.status, row.finished_at = None, DONE, now
            return False
        row.cursor = last
        return True


# -- visibility -----------------------------------------------------------------------------


def state(runtime: Any, name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """For ``hub automations show``: the next firing (local time), the last instant and how
    it went."""
    from hub.store.models import AutomationSchedule

    auto = runtime.config.automations.automations[name]
    tz = runtime.config.automations.tz
    now = now or utcnow()
    out: dict[str, Any] = {"next": auto.on.schedule.next(now, tz), "timezone": tz.key, "last": None}
    with runtime.db.session() as s:
        row = s.get(AutomationSchedule, name)
    if row is not None:
        out["last"] = {"instant": row.instant.astimezone(tz), "status": row.status, "contacts": row.contacts,
                       "missed": row.missed, "started_at": row.started_at, "finished_at": row.finished_at}
    return out


def describe_state(info: dict[str, Any]) -> list[str]:
    lines = [f"next firing: {info['next']:%Y-%m-%d %H:%M} ({info['timezone']})"]
    last = info["last"]
    if last is not None:
        text = {FIRING: "firing now", DONE: "fired", SKIPPED: "skipped", STOPPED: "stopped (paused)"}.get(last["status"], last["status"])
        line = f"last instant: {last['instant']:%Y-%m-%d %H:%M} {text}"
        if last["status"] in (FIRING, DONE, STOPPED):
            line += f", {last['contacts']} contact(s) matched"
            if last["missed"]:
                line += f"; caught up after downtime ({last['missed']} earlier instant(s) skipped)"
        lines.append(line)
    return lines

