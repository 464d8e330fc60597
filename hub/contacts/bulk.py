"""Executemany ``INSERT … ON CONFLICT`` for large batches.

The statement is the same for every batch and the rows go as executemany parameters, so
the compiled form is cached and SQLAlchemy's "insertmanyvalues" still sends them in few
round trips, RETURNING included (see :mod:`hub.store.upsert`, which builds and caches them).
Same atomic claim semantics: the database decides who wins a conflicting key. On
PostgreSQL the rows go set-based instead (:mod:`hub.store.pgbulk`: one prepared
``INSERT … SELECT FROM unnest(arrays) ON CONFLICT …`` per batch).
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.orm import Session

from hub.store import pgbulk
from hub.store.upsert import conflict_statement


def insert_ignore_many(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], returning=None) -> list:
    """Insert rows, skipping those whose ``keys`` already exist; optional RETURNING of the inserted."""
    if not rows:
        return []
    if pgbulk.is_postgres(session):
        return pgbulk.insert_rows(session, model, rows, keys, returning=returning or ())
    if returning is not None:
        return list(session.execute(conflict_statement(session, model, keys, returning=tuple(returning)), rows).all())
    session.execute(conflict_statement(session, model, keys), rows)
    return []


def upsert_many(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], update: Sequence[str]) -> None:
    """Insert rows; on a ``keys`` conflict overwrite the ``update`` columns."""
    if not rows:
        return
    if pgbulk.is_postgres(session):
        pgbulk.insert_rows(session, model, rows, keys, update)
        return
    session.execute(conflict_statement(session, model, keys, tuple(update)), rows)
