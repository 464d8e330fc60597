"""Dialect-aware ``INSERT … ON CONFLICT`` for SQLite and PostgreSQL.

Claims (idempotency keys, identities, events) must be atomic: select-then-insert races
between workers. Both dialects share the same ``on_conflict_do_*`` API.

The statements are built once per (dialect, table, keys, columns) and the rows go as
executemany parameters: the compiled form is cached, and SQLAlchemy's "insertmanyvalues"
still sends many rows per round trip, ``RETURNING`` included. (A multi-row ``VALUES``
literal would be a new statement for every batch, compiled afresh — milliseconds per row.)

On PostgreSQL a list of rows takes the set-based path of :mod:`hub.store.pgbulk` instead:
one prepared ``INSERT … SELECT FROM unnest(arrays) ON CONFLICT …`` per batch, whose text
does not grow with the batch (insertmanyvalues' long ``VALUES`` lists defeat psycopg's
parse cache). SQLite keeps the executemany path.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import String, Text, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from hub.store import pgbulk

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
    if isinstance(values, list) and pgbulk.is_postgres(session):
        pgbulk.insert_rows(session, model, values, keys, update)
        return None
    return session.execute(conflict_statement(session, model, keys, tuple(update)), values)


def insert_ignore(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str], returning=None):
    """Insert rows, silently skipping those that conflict on ``keys``; optional RETURNING
    of the inserted rows (in no particular order)."""
    if not rows:
        return []
    if pgbulk.is_postgres(session):
        return pgbulk.insert_rows(session, model, rows, keys, returning=returning or ())
    if returning is not None:
        return session.execute(conflict_statement(session, model, keys, returning=tuple(returning)), rows).all()
    session.execute(conflict_statement(session, model, keys), rows)
    return []


def column_in(session: Session, column, values):
    """``column IN (values)``: the one place the batch lookups build their membership test.

    SQLite: an ``IN (…)`` list. PostgreSQL: ``column = ANY(:array)`` — one bound array, so
    the statement text stays the same for every batch (an ``IN`` list of 500 placeholders
    is a new, long text each time, which psycopg re-parses and PostgreSQL re-plans).

    An earlier measurement found ``ANY`` slower for *identity values* on a server without
    statistics: the prepared generic plan scanned every identity of a kind. Identity
    lookups therefore join against ``unnest`` of the batch (:mod:`hub.identity.pglookups`);
    what remains here are lookups by id or by a leading index column, which PostgreSQL
    plans as index scans either way."""
    values = list(values)
    if pgbulk.is_postgres(session):
        # The element type without its length: a cast to varchar(255)[] would truncate.
        element = Text() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, values, type_=ARRAY(element)))
    return column.in_(values)
