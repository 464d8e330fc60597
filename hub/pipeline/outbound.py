"""Convergent outbound: which destinations a changed contact is rendered for, and with what.

Pipeline rule 6. Delivery used to be edge-triggered — a destination heard only of the names
that changed in one batch, and never when the change came from itself — so the end state
depended on arrival order (a CRM tier set before the WeCom relation existed never became a
tag). Here every decision reads the contact's *current* state and the destination's
rendering history, so once inputs stop every destination holds what its outbound mapping
renders from the contact's final state:

* **Scope.** A sink with ``sources: [a, b]`` holds the contacts known to ``a`` or ``b`` (an
  active link from one of them); without ``sources`` it holds every contact. Any change of
  a contact in scope is rendered there, whichever system it came from.
* **First rendering is full.** When a contact first renders for a destination (it just
  became addressable: a merge brought the ``external_userid`` the tags sink needs), the
  mapping sees every name as changed, so ``when: {path: changed, contains: tier}`` fires.
* **Never echo, but don't leave the origin stale.** A change that came only from the
  destination itself is not sent back — unless some of its values lost under the field
  policy (the destination now holds a value the hub does not), or it is the destination's
  first rendering and other systems supplied values it lacks.
* **Pending renderings collapse.** A newer rendering for the same destination and contact
  supersedes the pending one and covers the union of their changed names, and the
  destination never receives an older rendering after a newer one (``deliver`` claims a
  row only when no older one of the same contact and sink is being sent).
* **Serialised per contact.** On PostgreSQL the changed contacts are locked (``FOR UPDATE``,
  in id order) before their views are read, so of two workers changing one contact at once
  the later one renders both changes. SQLite serialises writers by itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

from sqlalchemy import case, func, literal_column, null, or_, select

from hub.store.models import Contact, Link, OutboxRow
from hub.store.upsert import column_in

#: The names a mapping sees as changed on a contact's first rendering for a destination,
#: besides every attribute the contact has.
STRUCTURAL = ("identities", "tags")

#: Outbox states that mean "this rendering is, or will be, at the destination".
LIVE_STATES = ("pending", "held", "sending", "delivered", "matched")
#: States of a rendering that reached the destination (or is reaching it now).
SENT_STATES = ("sending", "delivered", "matched")
#: Renderings not sent yet: waiting their turn, or held for approval (``hub plan``). A newer
#: rendering supersedes them.
UNSENT_STATES = ("pending", "held")


@dataclass
class Change:
    """What one batch did to one contact."""

    origins: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    #: origin instance → attribute names whose value it sent lost under the field policy.
    lost: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class History:
    """A contact's renderings for one destination sink."""

    latest_id: int = 0
    latest_status: str | None = None
    latest_hash: str | None = None
    #: The newest rendering that reached (or is reaching) the destination; 0: none ever
    #: did, so the next rendering is the contact's first there and is full.
    sent_id: int = 0
    pending_ids: list[int] = field(default_factory=list)
    pending_names: set[str] = field(default_factory=set)
    #: The earliest due time among unsent renderings: a newer create keeps it, so a
    #: contact that keeps changing is not held back by its settle window forever.
    pending_due: Any = None


def status_of(column=OutboxRow.status):
    """The outbox status as an expression no index matches (``status || ''``).

    Lookups by id or contact id filter on the status too; given a status condition, a
    planner with stale statistics (a bulk load before the next ANALYZE) picks
    ``ix_outbox_status_next`` and walks every pending row of the table, testing each
    against the ``= ANY`` array one element at a time — linear in the outbox per batch.
    Spelled like this, the status is a filter on the rows the id / contact id index found,
    whatever the statistics say."""
    return column.op("||")(literal_column("''"))


def lock_contacts(session, contact_ids: Iterable[int]) -> None:
    """Serialise renderings of the same contact across workers (PostgreSQL; in id order,
    so two workers never wait on each other in a cycle)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), 500):
        session.execute(
            select(Contact.id).where(column_in(session, Contact.id, ids[start : start + 500])).order_by(Contact.id).with_for_update()
        ).all()


class LinkView(NamedTuple):
    connector: str
    stream: str
    native_id: str
    #: What the record itself said when last read (canonical attributes; values equal to
    #: what the hub wrote there are stripped as echo), or None.
    attributes: dict[str, Any] | None
    #: The contact's values the hub last wrote to the record, or None.
    written: dict[str, Any] | None = None


def contact_links(session, contact_ids: Iterable[int], values_of: Iterable[str] | None = None) -> dict[int, list[LinkView]]:
    """``{contact_id: [LinkView, …]}`` of active links, oldest first.

    With ``values_of`` (instances), only the links of those instances carry their
    ``attributes`` and ``written`` values (the others None): what processing compares
    renderings with are the destinations' own records, and the links of the batch's source
    — one per record, just written — need not travel back."""
    out: dict[int, list[LinkView]] = defaultdict(list)
    ids = sorted(set(contact_ids))
    attributes, written = Link.attributes, Link.last_written_values
    if values_of is not None:
        wanted = sorted(set(values_of))
        attributes = case((Link.connector.in_(wanted), Link.attributes), else_=None) if wanted else null()
        written = case((Link.connector.in_(wanted), Link.last_written_values), else_=None) if wanted else null()
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Link.contact_id, Link.connector, Link.stream, Link.native_id, attributes, written)
            .where(column_in(session, Link.contact_id, ids[start : start + 500]), Link.state == "active")
            .order_by(Link.id)
        ).all()
        for contact_id, connector, stream, native_id, attributes, written in rows:
            out[contact_id].append(LinkView(connector, stream, native_id, attributes, written))
    return out


def record_for(links: list[LinkView], dest: str, sink: str) -> LinkView | None:
    """The contact's record in ``dest`` for ``sink``: the sink's own link first, else the
    oldest active link of that instance — the batch form of
    :func:`hub.pipeline.links.destination_native_id` (the links come oldest first)."""
    mine = [link for link in links if link.connector == dest]
    if not mine:
        return None
    return next((link for link in mine if link.stream == sink), mine[0])


def as_held_by(view: dict[str, Any], record: LinkView | None) -> dict[str, Any] | None:
    """The contact as the destination's own record has it: the contact's identities and
    tags with the record's attributes — what the hub last wrote there, overlaid by what the
    record said when last read (a read strips values equal to the hub's write as echo, so
    together they are the record's state). Rendered, it is what the destination already
    holds: a rendering equal to it needs no write. None when the hub knows neither."""
    if record is None or (record.attributes is None and record.written is None):
        return None
    held = {k: v for k, v in (record.written or {}).items() if k != "__tags__"}
    held.update(record.attributes or {})
    return {**view, "attributes": held}


def histories(session, contact_ids: Iterable[int]) -> dict[tuple[str, str, int], History]:
    """Each contact's latest rendering, latest sent one and pending (unclaimed) ones, per
    destination sink: two grouped lookups and one fetch per 500 contacts."""
    out: dict[tuple[str, str, int], History] = {}
    ids = sorted(set(contact_ids))
    columns = (OutboxRow.id, OutboxRow.connector, OutboxRow.sink, OutboxRow.contact_id, OutboxRow.status,
               OutboxRow.payload_hash, OutboxRow.changed, OutboxRow.next_attempt_at)
    # An automation's write (origin ``automation:<name>``) is not a rendering of the
    # destination's mapping: it neither supersedes nor is superseded by one.
    rendering = or_(OutboxRow.origin.is_(None), OutboxRow.origin.not_like("automation:%"))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        key = (OutboxRow.connector, OutboxRow.sink, OutboxRow.contact_id)
        latest = {row[0] for row in session.execute(
            select(func.max(OutboxRow.id)).where(column_in(session, OutboxRow.contact_id, chunk), status_of() != "superseded", rendering)
            .group_by(*key))}
        for connector, sink, contact_id, sent in session.execute(
            select(*key, func.max(OutboxRow.id))
            .where(column_in(session, OutboxRow.contact_id, chunk), status_of().in_(SENT_STATES), rendering).group_by(*key)
        ):
            out.setdefault((connector, sink, contact_id), History()).sent_id = sent
        rows = session.execute(select(*columns).where(column_in(session, OutboxRow.contact_id, chunk), status_of().in_(UNSENT_STATES),
                                                      rendering)).all()
        if latest:
            rows += session.execute(select(*columns).where(column_in(session, OutboxRow.id, sorted(latest)),
                                                           status_of().not_in(UNSENT_STATES))).all()
        for row_id, connector, sink, contact_id, status, digest, changed, due in rows:
            h = out.setdefault((connector, sink, contact_id), History())
            if row_id in latest:
                h.latest_id, h.latest_status, h.latest_hash = row_id, status, digest
            if status in UNSENT_STATES:
                h.pending_ids.append(row_id)
                h.pending_names.update(changed or [])
                h.pending_due = due if h.pending_due is None else min(h.pending_due, due)
    return out


def in_scope(sources: list[str] | None, links: list[LinkView]) -> bool:
    """Does a sink with these ``sources`` hold a contact with these links?"""
    if sources is None:
        return True
    wanted = set(sources)
    return any(link.connector in wanted for link in links)


def names_to_render(change: Change, dest: str, history: History | None, attributes: Iterable[str]) -> set[str]:
    """The names the destination's mapping sees as changed: everything on the contact's
    first rendering there, else what changed plus what the destination sent that lost,
    plus whatever pending renderings it supersedes already covered."""
    if history is None or history.sent_id == 0:
        names = set(attributes) | set(STRUCTURAL)
    else:
        names = set(change.names) | set(change.lost.get(dest, ()))
    if history is not None:
        names |= history.pending_names
    return names


def create_delay(runtime, dest: str, sink: str, matches: bool) -> float:
    """The settle window before a create is delivered: the sink's ``create_after``, else —
    for a sink that can match existing records — one and a half times the shortest
    schedule of the destination's streams (a pull has then run once before the create
    falls due), else no wait."""
    inst = runtime.config.connectors[dest]
    configured = inst.sinks[sink].create_after
    if configured is not None:
        return float(configured)
    if not matches:
        return 0.0
    schedules = [s.schedule for s in inst.streams.values() if s.enabled and s.schedule]
    return 1.5 * min(schedules) if schedules else 0.0
