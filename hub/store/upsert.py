"""Dialect-aware ``INSERT … ON CONFLICT`` for SQLite and PostgreSQL.

Claims (idempotency keys, identities, events) must be atomic: select-then-insert races
between workers. Both dialects share the same ``on_conflict_do_*`` API.

The statements are built once per (dialect, table, keys, columns) and the rows go as
executemany parameters: the compiled form is cached, and SQLAlchemy's "insertmanyvalues"
still sends many rows per round trip, ``RETURNING`` included. (A multi-row ``VALUES``
literal would be a new statement for every batch, compiled afresh — milliseconds per row.)
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy.orm import Session

_STATEMENTS: dict[tuple, Any] = {}


def _insert_for(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other dialects are not supported yet
        raise NotImplementedError(f"upsert not implemented for {name}")
    return insert


def _table(model):
    return getattr(model, "__table__", model)


def conflict_statement(session: Session, model, keys: Sequence[str], update: Sequence[str] = (), returning: Sequence = ()):
    """The cached ``INSERT … ON CONFLICT (keys) DO UPDATE SET update… | DO NOTHING [RETURNING …]``."""
    table = _table(model)
    dialect = session.get_bind().dialect.name
    cache_key = (dialect, table, tuple(keys), tuple(update), tuple(returning))
    stmt = _STATEMENTS.get(cache_key)
    if stmt is None:
        stmt = _insert_for(session)(table)
        if update:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        if returning:
            stmt = stmt.returning(*returning)
        _STATEMENTS[cache_key] = stmt
    return stmt


def upsert(session: Session, model, values: dict[str, Any] | list[dict[str, Any]], keys: Sequence[str], update: Iterable[str] = ()):
    """Insert ``values``; on a ``keys`` conflict update the ``update`` columns (or do nothing)."""
    if isinstance(values, list) and not values:
        return None
    return session.execute(conflict_statement(session, model, keys, tuple(update)), values)


def insert_ignore(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], returning=None):
    """Insert rows, silently skipping those that conflict on ``keys``; optional RETURNING
    of the inserted rows (in no particular order)."""
    if not rows:
        return []
    if returning is not None:
        return session.execute(conflict_statement(session, model, keys, returning=tuple(returning)), rows).all()
    session.execute(conflict_statement(session, model, keys), rows)
    return []


def column_in(session: Session, column, values):
    """``column IN (values)``: the one place the batch lookups build their membership test.

    Measured alternative, kept out on purpose: PostgreSQL's ``column = ANY(:array)`` (one
    bound array, constant statement text) was slower on a server without statistics —
    the prepared generic plan scans every identity of a kind — and no faster with them
    (``benchmarks/identity.py``: 661 vs 947 records/s without ANALYZE)."""
    return column.in_(list(values))
