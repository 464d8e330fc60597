"""Executemany ``INSERT … ON CONFLICT`` for large batches.

:mod:`hub.store.upsert` builds one multi-row ``VALUES`` statement, which SQLAlchemy must
compile afresh for every batch (seconds per thousand rows). Here the statement is the same
for every batch and the rows go as executemany parameters, so the compiled form is cached
and SQLAlchemy's "insertmanyvalues" still sends them in few round trips, RETURNING included.
Same atomic claim semantics: the database decides who wins a conflicting key.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.orm import Session


def _insert(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model.__table__)


def insert_ignore_many(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], returning=None) -> list:
    """Insert rows, skipping those whose ``keys`` already exist; optional RETURNING of the inserted."""
    if not rows:
        return []
    stmt = _insert(session, model).on_conflict_do_nothing(index_elements=list(keys))
    if returning is not None:
        return list(session.execute(stmt.returning(*returning), rows).all())
    session.execute(stmt, rows)
    return []


def upsert_many(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], update: Sequence[str]) -> None:
    """Insert rows; on a ``keys`` conflict overwrite the ``update`` columns."""
    if not rows:
        return
    stmt = _insert(session, model)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    session.execute(stmt, rows)
