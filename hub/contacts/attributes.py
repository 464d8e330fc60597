"""Attribute rows in the store: load, write, and fold under the field policy."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from hub.contacts.policy import AttrValue, Policies, policy_for, wins
from hub.store.models import Contact, ContactAttribute
from hub.store.types import utcnow
from hub.contacts.bulk import upsert_many
from hub.store import pgbulk
from hub.store.upsert import column_in

CHUNK = 500


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load_attributes(session: Session, contact_ids: Iterable[int]) -> dict[int, dict[str, AttrValue]]:
    out: dict[int, dict[str, AttrValue]] = {}
    for part in chunks(set(contact_ids)):
        rows = session.execute(
            select(ContactAttribute.contact_id, ContactAttribute.name, ContactAttribute.value, ContactAttribute.connector,
                   ContactAttribute.source_ts).where(column_in(session, ContactAttribute.contact_id, part))
        ).all()
        for contact_id, name, value, connector, source_ts in rows:
            out.setdefault(contact_id, {})[name] = AttrValue(value, connector, source_ts)
    return out


def write_attributes(session: Session, rows: dict[tuple[int, str], AttrValue]) -> None:
    """Upsert ``(contact, name) → value``; one statement per chunk."""
    now = utcnow()
    values = [
        {"contact_id": cid, "name": name, "value": av.value, "connector": av.connector, "source_ts": av.source_ts, "updated_at": now}
        for (cid, name), av in rows.items()
    ]
    upsert_many(session, ContactAttribute, values, keys=("contact_id", "name"), update=("value", "connector", "source_ts", "updated_at"))
    names = [{"cid": cid, "display_name": _display(av.value)} for (cid, name), av in rows.items() if name == "name"]
    if names and pgbulk.is_postgres(session):  # one UPDATE … FROM unnest, not one UPDATE per contact
        pgbulk.update_rows(session, Contact, "id", [{"id": n["cid"], "display_name": n["display_name"]} for n in names])
    elif names:
        session.execute(
            Contact.__table__.update().where(Contact.id == bindparam("cid")).values(display_name=bindparam("display_name")),
            names,
        )


def _display(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)[:200]


def merge_attribute_maps(policies: Policies, survivor: dict[str, AttrValue], merged: dict[str, AttrValue]) -> list[str]:
    """Fold ``merged``'s attributes into ``survivor`` in place; returns names that changed."""
    changed = []
    for name, incoming in merged.items():
        if wins(policy_for(policies, name), survivor.get(name), incoming):
            if survivor.get(name) != incoming:
                survivor[name] = incoming
                changed.append(name)
    return changed


def merge_attribute_rows(session: Session, policies: Policies, survivor_id: int, merged_id: int) -> list[str]:
    """Merge two contacts' stored attributes under the policy (used outside a batch)."""
    loaded = load_attributes(session, [survivor_id, merged_id])
    target = loaded.get(survivor_id, {})
    changed = merge_attribute_maps(policies, target, loaded.get(merged_id, {}))
    session.execute(delete(ContactAttribute).where(ContactAttribute.contact_id == merged_id))
    write_attributes(session, {(survivor_id, name): target[name] for name in changed})
    return changed
