"""Dialect-aware ``INSERT … ON CONFLICT`` for SQLite and PostgreSQL.

Claims (idempotency keys, identities, events) must be atomic: select-then-insert races
between workers. Both dialects share the same ``on_conflict_do_*`` API.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy.orm import Session


def _insert_for(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other dialects are not supported yet
        raise NotImplementedError(f"upsert not implemented for {name}")
    return insert


def upsert(session: Session, model, values: dict[str, Any] | list[dict[str, Any]], keys: Sequence[str], update: Iterable[str] = ()):
    """Insert ``values``; on a ``keys`` conflict update the ``update`` columns (or do nothing)."""
    insert = _insert_for(session)
    stmt = insert(model).values(values)
    update = list(update)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    return session.execute(stmt)


def insert_ignore(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], returning=None):
    """Insert rows, silently skipping those that conflict on ``keys``; optional RETURNING."""
    if not rows:
        return []
    insert = _insert_for(session)
    stmt = insert(model).values(rows).on_conflict_do_nothing(index_elements=list(keys))
    if returning is not None:
        stmt = stmt.returning(*returning)
        return session.execute(stmt).all()
    session.execute(stmt)
    return []
