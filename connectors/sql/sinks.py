"""Writes: upsert one row by its key column, at most once per idempotency key.

An existing row is UPDATEd by its key; a missing one is inserted with the dialect's upsert
(``INSERT … ON CONFLICT (key) DO UPDATE`` on SQLite and PostgreSQL, ``INSERT … ON
DUPLICATE KEY UPDATE`` on MySQL / MariaDB) so concurrent creations end in one row. That
makes writing the same values twice harmless, but not a *replay*: a delivery retried after a newer write would put the
older values back, and a payload without a key would insert a second row. So each applied
write is recorded in an idempotency ledger (``hub_applied_writes`` by default) in the same
transaction as the upsert; a write whose key is in the ledger returns the recorded native id
and touches nothing. ``idempotency_table: null`` turns the ledger off for databases where the
hub may not create tables; then only keyed upserts are accepted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Column, DateTime, MetaData, String, Table, exc as sa_exc, select, text
from sqlalchemy.engine import Connection

from psycopg import DatabaseError

from hub.connector import ConnectorError, scrubbed, Match, PermanentError, Sink, WriteResult

from connectors.sql.db import driver_message, quote, quote_table, raise_translated
from connectors.sql.pgcopy import PgTableWriter

if TYPE_CHECKING:
    from connectors.sql.connector import SqlConnector

log = logging.getLogger(__name__)


def ledger_table(name: str) -> Table:
    """The idempotency ledger: one row per (connector instance, idempotency key) applied."""
    schema, _, table = name.rpartition(".")
    return Table(
        table,
        MetaData(),
        Column("instance", String(64), primary_key=True),
        Column("idempotency_key", String(255), primary_key=True),
        Column("sink", String(64), nullable=False),
        Column("native_id", String(255), nullable=True),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        schema=schema or None,
    )


def ledger_key(idempotency_key: str) -> str:
    """Keys longer than the column are stored as a digest (still unique in practice)."""
    if len(idempotency_key) <= 255:
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


def _db_value(value: Any) -> Any:
    """JSON payload values as the driver takes them: lists / objects as JSON text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class TableSink(Sink):
    """Upserts rows of one configured table. The connector makes one per configured sink
    name; ``rows`` is the name the standard suite and single-table setups use."""

    name = "rows"
    description = "upsert rows of a configured table by its key column"

    def __init__(self, connector: "SqlConnector", name: str | None = None):
        super().__init__(connector)
        self.name = name or type(self).name  # type: ignore[misc]
        self.spec: dict[str, Any] = connector.sink_spec(self.name)

    # -- validation -------------------------------------------------------------------------
    def _split(self, payload: dict[str, Any], native_id: str | None) -> tuple[str | None, dict[str, Any]]:
        spec = self.spec
        key = spec["key"]
        writable = [key, *spec["columns"]]
        for column in payload:
            if column not in writable:
                raise PermanentError(
                    f"sink {self.name!r}: column {column!r} is not writable in {spec['table']} (writable: {', '.join(writable)})"
                )
        key_value = payload.get(key)
        if native_id is not None:
            if key_value is not None and str(key_value) != str(native_id):
                raise PermanentError(f"sink {self.name!r}: payload {key}={key_value!r} contradicts native id {native_id!r}")
            key_value = native_id
        values = {c: _db_value(v) for c, v in payload.items() if c != key}
        return (None if key_value is None else str(key_value)), values

    # -- SQL ----------------------------------------------------------------------------------
    def _now(self) -> tuple[str, dict[str, Any]]:
        """The ``updated_at_column`` value: the database's clock, SQLite's usual text form."""
        if self.connector.engine.dialect.name == "sqlite":
            now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            return ":hub_now", {"hub_now": now}
        return "CURRENT_TIMESTAMP", {}

    def _columns(self, values: dict[str, Any]) -> tuple[list[str], list[str], dict[str, Any]]:
        """Column names, their SQL value expressions and the bound parameters."""
        names = list(values)
        exprs = [f":v{i}" for i in range(len(names))]
        params = {f"v{i}": values[n] for i, n in enumerate(names)}
        if self.spec.get("updated_at_column"):
            expr, extra = self._now()
            names.append(self.spec["updated_at_column"])
            exprs.append(expr)
            params.update(extra)
        return names, exprs, params

    def _insert(self, conn: Connection, values: dict[str, Any]) -> str:
        """A new row whose key the database generates; returns that key."""
        engine = self.connector.engine
        names, exprs, params = self._columns(values)
        if not names:
            raise PermanentError(f"sink {self.name!r}: nothing to write (no key and no column values)")
        key = quote(engine, self.spec["key"])
        sql = (
            f"INSERT INTO {quote_table(engine, self.spec['table'])} ({', '.join(quote(engine, n) for n in names)}) "
            f"VALUES ({', '.join(exprs)})"
        )
        if engine.dialect.insert_returning:
            return str(conn.execute(text(sql + f" RETURNING {key}"), params).scalar_one())
        result = conn.execute(text(sql), params)
        if not result.lastrowid:
            raise PermanentError(f"sink {self.name!r}: the database generated no key for {self.spec['key']!r}; send it in the payload")
        return str(result.lastrowid)

    def _upsert(self, conn: Connection, key_value: str, values: dict[str, Any]) -> bool:
        """Update the row with ``key_value``, or insert it; True if it was created.

        An existing row is UPDATEd, not upserted: ``INSERT … ON CONFLICT`` checks the new
        row's NOT NULL columns before it finds the conflict, so a partial change (only
        ``tier``) of a row with a NOT NULL ``name`` would fail. A missing row is inserted
        with the dialect's upsert, so a concurrent creation of the same key still ends in
        one row.
        """
        engine = self.connector.engine
        table = quote_table(engine, self.spec["table"])
        key = quote(engine, self.spec["key"])
        names, exprs, params = self._columns(values)
        params["k"] = key_value
        quoted = [quote(engine, n) for n in names]
        if quoted:
            sets = ", ".join(f"{q} = {e}" for q, e in zip(quoted, exprs))
            # MySQL dialects count matched (not changed) rows: SQLAlchemy sets FOUND_ROWS.
            if conn.execute(text(f"UPDATE {table} SET {sets} WHERE {key} = :k"), params).rowcount:
                return False
        elif conn.execute(text(f"SELECT 1 FROM {table} WHERE {key} = :k"), {"k": key_value}).first() is not None:
            return False
        cols = ", ".join([key, *quoted])
        vals = ", ".join([":k", *exprs])
        insert = f"INSERT INTO {table} ({cols}) VALUES ({vals})"
        dialect = engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            action = "DO UPDATE SET " + ", ".join(f"{q} = excluded.{q}" for q in quoted) if quoted else "DO NOTHING"
            conn.execute(text(f"{insert} ON CONFLICT ({key}) {action}"), params)
        elif dialect in ("mysql", "mariadb"):
            updates = ", ".join(f"{q} = VALUES({q})" for q in quoted) or f"{key} = {key}"
            conn.execute(text(f"{insert} ON DUPLICATE KEY UPDATE {updates}"), params)
        else:  # other dialects: a plain INSERT; a concurrent creation fails as an integrity error
            conn.execute(text(insert), params)
        return True

    # -- match before create (connectors.sql.matching) -------------------------------------
    @property
    def matches(self) -> bool:  # type: ignore[override]
        return bool(self.spec.get("match_on"))

    def match(self, payload: dict[str, Any]) -> list[Match]:
        from connectors.sql.matching import find_matches

        return find_matches(self, payload)

    def record_stream(self) -> str | None:
        from connectors.sql.matching import record_stream_name

        return record_stream_name(self)

    # -- the contract -------------------------------------------------------------------------
    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c = self.connector
        key_value, values = self._split(payload, native_id)
        ledger = c.ledger()
        if ledger is None and key_value is None:
            raise self._unkeyed_without_ledger()
        stored_key = ledger_key(idempotency_key)
        try:
            with c.engine.begin() as conn:
                if ledger is not None:
                    done = self._recorded(conn, ledger, stored_key)
                    if done is not None:
                        return WriteResult(native_id=done, created=False)
                if key_value is None:
                    written, created = self._insert(conn, values), True
                else:
                    written, created = key_value, self._upsert(conn, key_value, values)
                if ledger is not None:
                    conn.execute(
                        ledger.insert().values(
                            instance=c.instance[:64],
                            idempotency_key=stored_key,
                            sink=self.name,
                            native_id=written,
                            applied_at=datetime.now(timezone.utc),
                        )
                    )
        except sa_exc.IntegrityError as exc:
            # A concurrent delivery of the same key may have committed first: its row wins.
            if ledger is not None:
                with c.engine.connect() as conn:
                    done = self._recorded(conn, ledger, stored_key)
                if done is not None:
                    return WriteResult(native_id=done, created=False)
            raise_translated(exc, f"sink {self.name!r}: {self.spec['table']} rejected the write", c.secrets)
        except sa_exc.SQLAlchemyError as exc:
            raise_translated(exc, f"sink {self.name!r}: writing {self.spec['table']} failed", c.secrets)
        data = {self.spec["key"]: written, **values}
        return WriteResult(native_id=written, created=created, data=data)

    def _unkeyed_without_ledger(self) -> PermanentError:
        return PermanentError(
            f"sink {self.name!r}: without an idempotency_table a write needs its key {self.spec['key']!r} "
            "(in the payload or as the native id) so a replay cannot insert a second row"
        )

    def write_many(self, writes: Sequence[tuple[dict[str, Any], str, str | None]]) -> list[WriteResult | ConnectorError]:
        """Apply ``(payload, idempotency_key, native_id)`` writes in one transaction.

        Each write has exactly :meth:`write`'s effect and result; the outcome of write ``i``
        is ``result[i]``: a :class:`WriteResult`, or the :class:`ConnectorError` that write
        alone raises (a payload the sink refuses). One ledger lookup for all keys, one
        transaction, one ledger insert; on PostgreSQL the rows themselves go set-based
        (:mod:`connectors.sql.pgcopy`: COPY into a staging table, one ``UPDATE … FROM`` and
        one ``INSERT … SELECT`` per shape of write), elsewhere one statement per row. If the
        database rejects anything in the transaction, nothing of it stays and every write
        is retried on its own with :meth:`write`, so one bad row cannot fail or block the
        others.
        """
        c = self.connector
        out: list[WriteResult | ConnectorError | None] = [None] * len(writes)
        ledger = c.ledger()
        todo: list[tuple[int, str | None, dict[str, Any], str]] = []
        for i, (payload, idempotency_key, native_id) in enumerate(writes):
            try:
                key_value, values = self._split(payload, native_id)
                if ledger is None and key_value is None:
                    raise self._unkeyed_without_ledger()
            except ConnectorError as exc:
                out[i] = exc
                continue
            todo.append((i, key_value, values, ledger_key(idempotency_key)))
        if not todo:
            return out  # type: ignore[return-value]
        try:
            with c.engine.begin() as conn:
                done = self._recorded_many(conn, ledger, [t[3] for t in todo]) if ledger is not None else {}
                plan: list[tuple[int, str | None, dict[str, Any]]] = []
                repeats: list[tuple[int, str]] = []  # a key already applied earlier in this batch
                first: dict[str, int] = {}
                for i, key_value, values, stored_key in todo:
                    if stored_key in done:  # applied before
                        out[i] = WriteResult(native_id=done[stored_key], created=False)
                    elif stored_key in first:
                        repeats.append((i, stored_key))
                    else:
                        first[stored_key] = i
                        plan.append((i, key_value, values))
                results = self._apply_many(conn, plan)
                applied = []
                now = datetime.now(timezone.utc)
                for i, _key_value, values in plan:
                    written, created = results[i]
                    out[i] = WriteResult(native_id=written, created=created, data={self.spec["key"]: written, **values})
                    applied.append((c.instance[:64], ledger_key(writes[i][1]), self.name, written, now))
                for i, stored_key in repeats:
                    out[i] = WriteResult(native_id=out[first[stored_key]].native_id, created=False)  # type: ignore[union-attr]
                if ledger is not None and applied:
                    self._record_many(conn, ledger, applied)
        except (sa_exc.SQLAlchemyError, ConnectorError, DatabaseError) as exc:
            # Rolled back: isolate the failure by writing one by one (each its own transaction).
            log.info("sink %s: a batch of %d writes was rejected (%s); writing them one by one", self.name, len(todo),
                     scrubbed(exc.message if isinstance(exc, ConnectorError) else driver_message(exc), c.secrets))
            for i, _key_value, _values, _stored in todo:
                payload, idempotency_key, native_id = writes[i]
                try:
                    out[i] = self.write(payload, idempotency_key=idempotency_key, native_id=native_id)
                except ConnectorError as exc:
                    out[i] = exc
        return out  # type: ignore[return-value]

    def _pg_writer(self) -> PgTableWriter | None:
        """The set-based writer on PostgreSQL (None elsewhere: one statement per row)."""
        engine = self.connector.engine
        if engine.dialect.name != "postgresql":
            return None
        writer = self.__dict__.get("_writer")
        if writer is None:
            writer = self.__dict__["_writer"] = PgTableWriter(
                quote_table(engine, self.spec["table"]), quote(engine, self.spec["key"]), self.spec["key"],
                lambda name: quote(engine, name), self.spec.get("updated_at_column"))
        return writer

    def _apply_many(self, conn: Connection, plan: list[tuple[int, str | None, dict[str, Any]]]) -> dict[int, tuple[str, bool]]:
        """Write every planned ``(index, key or None, values)``; ``{index: (native id, created)}``."""
        out: dict[int, tuple[str, bool]] = {}
        writer = self._pg_writer()
        if writer is None:
            for i, key_value, values in plan:
                if key_value is None:
                    out[i] = (self._insert(conn, values), True)
                else:
                    out[i] = (key_value, self._upsert(conn, key_value, values))
            return out
        unkeyed = [(i, values) for i, key_value, values in plan if key_value is None]
        for i, values in unkeyed:
            if not values and not self.spec.get("updated_at_column"):
                raise PermanentError(f"sink {self.name!r}: nothing to write (no key and no column values)")
        keys = writer.allocate(conn, len(unkeyed)) if unkeyed else []
        if keys is None:  # no sequence behind the key column: the database makes each key
            keys = []
            for i, values in unkeyed:
                out[i] = (self._insert(conn, values), True)
            unkeyed = []
        batch = [(key, values, True) for key, (i, values) in zip(keys, unkeyed)]
        order = [i for i, _values in unkeyed]
        for i, key_value, values in plan:
            if key_value is not None:
                batch.append((key_value, values, False))
                order.append(i)
        for i, (key, _values, _new), created in zip(order, batch, writer.apply(conn, batch)):
            out[i] = (key, created)
        return out

    def _record_many(self, conn: Connection, ledger: Table, rows: list[tuple[Any, ...]]) -> None:
        writer = self._pg_writer()
        if writer is not None:
            writer.record(conn, quote_table(self.connector.engine, ".".join(filter(None, (ledger.schema, ledger.name)))), rows)
            return
        conn.execute(ledger.insert(), [dict(zip(("instance", "idempotency_key", "sink", "native_id", "applied_at"), row))
                                       for row in rows])

    def _recorded_many(self, conn: Connection, ledger: Table, stored_keys: list[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        unique = sorted(set(stored_keys))
        writer = self._pg_writer()
        if writer is not None:
            return writer.recorded(conn, quote_table(self.connector.engine, ".".join(filter(None, (ledger.schema, ledger.name)))),
                                   self.connector.instance[:64], unique)
        for start in range(0, len(unique), 500):
            rows = conn.execute(
                select(ledger.c.idempotency_key, ledger.c.native_id).where(
                    ledger.c.instance == self.connector.instance[:64], ledger.c.idempotency_key.in_(unique[start : start + 500])
                )
            )
            found.update((key, native_id) for key, native_id in rows)
        return found

    def _recorded(self, conn: Connection, ledger: Table, stored_key: str) -> str | None:
        row = conn.execute(
            select(ledger.c.native_id).where(
                ledger.c.instance == self.connector.instance[:64], ledger.c.idempotency_key == stored_key
            )
        ).first()
        return None if row is None else row[0]
