"""Set-based statements for PostgreSQL: a batch's rows travel as one array per column.

Why not SQLAlchemy's executemany: its "insertmanyvalues" renders a multi-row ``VALUES``
literal with one placeholder per value. Every batch is then a new statement text longer
than psycopg's 4 KiB parse cache, re-tokenised on each call (17 % of the pipeline's wall
time in the profile of ``docs/operations.md``), and PostgreSQL plans it afresh.

Here the statement text depends only on the table and the columns — ``INSERT … SELECT …
FROM unnest(%s::bigint[], %s::text[], …) ON CONFLICT …`` — so psycopg prepares it once per
connection and every batch is one round trip with a handful of parameters, whatever its
size. Lookups use the same trick: ``JOIN unnest(…) AS k`` is one join against the batch
instead of ``IN (…)`` lists of 500 literals.

Statements run on the driver connection of the session's current transaction, so they
commit or roll back with everything else the session does. Only for PostgreSQL: callers
check :func:`is_postgres` and keep their portable path for SQLite.
"""

from __future__ import annotations

import json
import re
from datetime import timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

_PG = postgresql.dialect()
_SQL: dict[tuple, tuple[str, list[str], list[Any]]] = {}
_TYPES: dict[Table, dict[str, str]] = {}


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fetch(session: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run ``sql`` (``%s`` placeholders) in the session's transaction; all rows, or [].

    Through ``exec_driver_sql``: no statement compilation, but the engine's cursor events
    still fire (tests count statements with them)."""
    result = session.connection().exec_driver_sql(sql, tuple(params))
    # all(): one fetchall, not a driver fetchone per row (what iterating the result does)
    return [tuple(r) for r in result.all()] if result.returns_rows else []


def execute(session: Session, sql: str, params: Sequence[Any] = ()) -> int:
    """Run ``sql`` in the session's transaction; the row count."""
    return session.connection().exec_driver_sql(sql, tuple(params)).rowcount


def utc(value):
    """psycopg hands back ``timestamptz`` in the session's zone; the store speaks UTC."""
    return value.astimezone(timezone.utc) if value is not None else None


def _table(model) -> Table:
    return getattr(model, "__table__", model)


def array_types(model) -> dict[str, str]:
    """``{column: array cast}`` — element types without length (``varchar(64)[]`` would
    truncate silently on the cast; the insert into the column still checks the length)."""
    table = _table(model)
    types = _TYPES.get(table)
    if types is None:
        types = {c.name: re.sub(r"\(\d+\)", "", c.type.compile(dialect=_PG)) + "[]" for c in table.c}
        _TYPES[table] = types
    return types


#: ``json.dumps(v, ensure_ascii=False)`` without building an encoder per value (one call
#: per JSON cell: hundreds of thousands per initial load).
_json = json.JSONEncoder(ensure_ascii=False).encode


def _converter(column):
    """Python value → what psycopg puts in the array for this column."""
    impl = column.type
    if isinstance(impl, TypeDecorator):
        bind = impl.bind_processor(_PG)
        inner = impl.impl
        if isinstance(inner, JSON):
            return (lambda v: _json(bind(v))) if bind else _json
        return bind
    if isinstance(impl, JSON) or isinstance(impl.dialect_impl(_PG), JSON):
        # SQLAlchemy stores Python None in a JSON column as JSON ``null``: so do we.
        return _json
    return None


def _default(column):
    """The value SQLAlchemy would supply for an omitted column (Python-side defaults)."""
    default = column.default
    if default is None:
        return None, False
    if default.is_scalar:
        return default.arg, True
    if default.is_callable:
        return default.arg, True  # called once per batch: wrapped to take a context
    return None, False


def _statement(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...],
               returning: tuple[str, ...]) -> tuple[str, list[str], list[Any]]:
    cache_key = (table, columns, keys, update, returning)
    hit = _SQL.get(cache_key)
    if hit is not None:
        return hit
    types = array_types(table)
    defaults = []
    filled: list[str] = []
    for col in table.c:
        if col.name in columns or col.primary_key and col.autoincrement is True:
            continue
        value, has = _default(col)
        if has:
            filled.append(col.name)
            defaults.append((col, value))
    names = list(columns) + filled
    quoted = ", ".join(f'"{n}"' for n in names)
    arrays = ", ".join(f"%b::{types[n]}" for n in names)
    sql = f'INSERT INTO "{table.name}" ({quoted}) SELECT * FROM unnest({arrays})'
    if keys:
        target = ", ".join(f'"{k}"' for k in keys)
        if update:
            sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
    hit = (sql, names, defaults)
    _SQL[cache_key] = hit
    return hit


def _name(column) -> str:
    return column if isinstance(column, str) else column.name


def insert_rows(session: Session, model, rows: list[dict[str, Any]], keys: Sequence[str] = (),
                update: Iterable[str] = (), returning: Sequence = ()) -> list[tuple]:
    """``INSERT … SELECT FROM unnest(arrays) [ON CONFLICT (keys) DO UPDATE | DO NOTHING]
    [RETURNING …]`` for ``rows`` (dicts; rows with different key sets go as separate
    statements). Omitted columns get the model's Python-side defaults, as SQLAlchemy's
    insert would. Like any single statement, ``DO UPDATE`` must not meet one key twice:
    callers pass distinct keys."""
    if not rows:
        return []
    table = _table(model)
    update = tuple(update)
    ret = tuple(_name(c) for c in returning)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    out: list[tuple] = []
    for columns, group in groups.items():
        sql, names, defaults = _statement(table, columns, tuple(keys), update, ret)
        params = []
        for name in columns:
            convert = _converter(table.c[name])
            values = [row[name] for row in group]
            params.append([convert(v) for v in values] if convert is not None else values)
        for col, value in defaults:
            value = value(None) if callable(value) else value
            convert = _converter(col)
            params.append([convert(value) if convert is not None else value] * len(group))
        out.extend(fetch(session, sql, params))
    return out


def lookup(session: Session, sql: str, *arrays: list[Any]) -> list[tuple]:
    """Run a lookup whose ``%s`` placeholders are the batch's key arrays (``unnest`` / ``ANY``)."""
    if arrays and not arrays[0]:
        return []
    return fetch(session, sql, list(arrays))


def update_rows(session: Session, model, key: str, rows: list[dict[str, Any]]) -> int:
    """``UPDATE t SET c = u.c … FROM unnest(arrays) AS u WHERE t.key = u.key`` for rows of
    the same columns (one of them ``key``); columns with a Python-side ``onupdate`` that the
    rows leave out get it, as SQLAlchemy's UPDATE would. Returns the number of rows updated."""
    if not rows:
        return 0
    table = _table(model)
    columns = tuple(rows[0])
    cache_key = ("update", table, columns, key)
    hit = _SQL.get(cache_key)
    if hit is None:
        types = array_types(table)
        onupdate = [c for c in table.c if c.onupdate is not None and c.name not in columns]
        sets = [f'"{c}" = u."{c}"' for c in columns if c != key] + [f'"{c.name}" = %b::{types[c.name][:-2]}' for c in onupdate]
        arrays = ", ".join(f"%b::{types[c]}" for c in columns)
        sql = (f'UPDATE "{table.name}" AS t SET {", ".join(sets)} FROM unnest({arrays}) AS u({", ".join(columns)}) '
               f'WHERE t."{key}" = u."{key}"')
        hit = _SQL[cache_key] = (sql, [], onupdate)
    sql, _names, onupdate = hit
    params: list[Any] = []
    for col in onupdate:
        value = col.onupdate.arg(None) if col.onupdate.is_callable else col.onupdate.arg
        convert = _converter(col)
        params.append(convert(value) if convert is not None else value)
    arrays = []
    for name in columns:
        convert = _converter(table.c[name])
        values = [row[name] for row in rows]
        arrays.append([convert(v) for v in values] if convert is not None else values)
    return execute(session, sql, params + arrays)
