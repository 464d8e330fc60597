"""The merge-conflict review queue: list open conflicts, resolve them as merge or keep apart.

A conflict is two contacts that share an identifier but hold different strong ids of one
kind (two CRM records with one phone). The resolver never merges them on its own; a person
decides. ``keep_apart`` also stops future records from merging the pair.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.contacts.policy import Policies
from hub.contacts.queries import ConflictView, conflict_view
from hub.identity.merge import merge_now, root_of
from hub.identity.rules import Rules, build_rules
from hub.store.models import AuditEntry, MergeConflict
from hub.store.types import utcnow

ACTIONS = ("merge", "keep_apart", "acknowledge")
#: A destination holding one person twice (``hub.pipeline.reviews``): the contacts are
#: already one; a person cleans up the destination and acknowledges the item.
DUPLICATE_RECORD = "duplicate_record"


class ReviewError(LookupError):
    """Unknown or already resolved conflict."""


def list_conflicts(session: Session, status: str | None = "open", limit: int = 100) -> list[ConflictView]:
    stmt = select(MergeConflict).order_by(MergeConflict.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(MergeConflict.status == status)
    return [conflict_view(c) for c in session.execute(stmt).scalars()]


def resolve_conflict(session: Session, conflict_id: int, action: str, actor: str, *, rules: Rules | None = None,
                     policies: Policies = None, runtime=None) -> ConflictView:
    """``merge`` (the reviewer says: same person; both strong ids stay on one contact) or
    ``keep_apart``; a duplicate-record item is ``acknowledge``d. Writes an audit entry.
    With the ``runtime``, a merge that leaves one person with two records of a destination
    opens a duplicate-record item."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    conflict = session.get(MergeConflict, conflict_id)
    if conflict is None:
        raise ReviewError(f"no merge conflict {conflict_id}")
    if conflict.status != "open":
        raise ReviewError(f"merge conflict {conflict_id} is already {conflict.status}")
    if (conflict.kind == DUPLICATE_RECORD) != (action == "acknowledge"):
        raise ReviewError(f"review item {conflict_id} ({conflict.kind}) takes "
                          + ("acknowledge (the contacts are already one)" if conflict.kind == DUPLICATE_RECORD else "merge or keep_apart"))
    detail = {"contacts": [conflict.contact_a, conflict.contact_b], "kind": conflict.kind}
    if action == "acknowledge":
        conflict.status = "acknowledged"
    elif action == "merge":
        survivor, _ = merge_now(session, rules or build_rules(), policies, conflict.contact_a, conflict.contact_b,
                                conflict.kind, conflict.value, f"review:{actor}"[:64], force=True)
        conflict.status = "merged"
        detail["survivor"] = survivor
        if runtime is not None:  # the merged pair may hold two records of one destination
            from hub.pipeline.reviews import open_duplicate_reviews

            open_duplicate_reviews(session, runtime, [survivor])
    else:
        conflict.status = "kept_apart"
        detail["roots"] = [root_of(session, conflict.contact_a), root_of(session, conflict.contact_b)]
    conflict.resolved_at = utcnow()
    conflict.resolved_by = actor
    session.add(AuditEntry(actor=actor, action=f"conflict.{action}", target=f"merge_conflict:{conflict_id}", at=utcnow(),
                           detail=detail))
    session.flush()
    return conflict_view(conflict)
