"""``hub discover`` for a SQL instance: the database catalogue, not guesses from records.

Configured streams report the columns they will read (a ``columns:`` list narrows them)
with the database's types; configured sinks report the table's columns and which of them
the hub may write; every other table of the default schema is listed as not configured, so
an admin can see what there is to sync. ``sample`` reads real rows exactly as the stream
will hand them to the mapping (JSON-safe values), ready for ``hub mappings test``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc, inspect, text

from hub.connector.discovery import FieldInfo, StreamInfo, json_type

from connectors.sql import values
from connectors.sql.db import quote, quote_table, raise_translated
from connectors.sql.streams import selected_columns, source_sql

if TYPE_CHECKING:
    from connectors.sql.connector import SqlConnector


def _table_columns(connector: "SqlConnector", table: str) -> list[dict[str, Any]] | None:
    """The catalogue's columns of ``table`` (``schema.table`` allowed); None if it has none."""
    schema, _, bare = table.rpartition(".")
    insp = inspect(connector.engine)
    try:
        cols = insp.get_columns(bare, schema=schema or None)
        pk = set(insp.get_pk_constraint(bare, schema=schema or None).get("constrained_columns") or [])
    except sa_exc.NoSuchTableError:
        return None
    return [{"name": c["name"], "type": str(c["type"]), "nullable": c.get("nullable"), "key": c["name"] in pk} for c in cols]


def _rows(connector: "SqlConnector", sql: str, limit: int) -> tuple[list[str], list[dict[str, Any]]]:
    with connector.engine.connect() as conn:
        result = conn.execute(text(sql), {"limit": limit})
        keys = list(result.keys())
        return keys, [{k: values.jsonable(v) for k, v in row.items()} for row in result.mappings().all()]


def _stream(connector: "SqlConnector", name: str, spec: dict[str, Any], sample: int) -> StreamInfo:
    engine = connector.engine
    cols = selected_columns(spec)
    select_list = "*" if cols is None else ", ".join(quote(engine, c) for c in cols)
    cur, key = quote(engine, spec["cursor_column"]), quote(engine, spec["key"])
    # the stream's own first page: same columns, same order, same values
    sql = f"SELECT {select_list} FROM {source_sql(connector, spec)} WHERE {cur} IS NOT NULL ORDER BY {cur}, {key} LIMIT :limit"
    keys, rows = _rows(connector, sql, sample if spec.get("table") else max(sample, 20))
    fields: list[FieldInfo] = []
    if spec.get("table"):
        catalogue = {c["name"]: c for c in _table_columns(connector, spec["table"]) or []}
        for k in keys:
            c = catalogue.get(k, {})
            fields.append(FieldInfo(k, c.get("type", "?"), nullable=c.get("nullable"), key=k == spec["key"]))
    else:  # a query: names from the result, types from the values read
        for k in keys:
            seen = sorted({json_type(r[k]) for r in rows} - {"null"})
            fields.append(FieldInfo(k, "|".join(seen) or "?", nullable=any(r[k] is None for r in rows) or None, key=k == spec["key"]))
    return StreamInfo(name, "stream", spec.get("table") and f"table {spec['table']}" or "a query", source=spec.get("table") or "query",
                      fields=fields, samples=rows[:sample])


def _sink(connector: "SqlConnector", name: str, spec: dict[str, Any]) -> StreamInfo:
    writable = {spec["key"], *spec["columns"]}
    catalogue = _table_columns(connector, spec["table"])
    if catalogue is None:
        return StreamInfo(name, "sink", f"table {spec['table']}", source=spec["table"], note=f"table {spec['table']} does not exist",
                          fields=[FieldInfo(c, "?", writable=True, key=c == spec["key"]) for c in sorted(writable)])
    return StreamInfo(name, "sink", f"upsert into {spec['table']} by {spec['key']}", source=spec["table"],
                      fields=[FieldInfo(c["name"], c["type"], nullable=c["nullable"], key=c["name"] == spec["key"],
                                        writable=c["name"] in writable) for c in catalogue])


def _table(connector: "SqlConnector", table: str, sample: int) -> StreamInfo:
    catalogue = _table_columns(connector, table) or []
    rows = _rows(connector, f"SELECT * FROM {quote_table(connector.engine, table)} LIMIT :limit", sample)[1] if sample else []
    return StreamInfo(table, "table", "not configured: add a stream or sink for it", source=table, configured=False,
                      fields=[FieldInfo(c["name"], c["type"], nullable=c["nullable"], key=c["key"]) for c in catalogue], samples=rows)


def discover(connector: "SqlConnector", stream: str | None = None, *, sample: int = 0) -> list[StreamInfo]:
    """Configured streams and sinks, then the other tables (see the module docstring).
    ``stream`` is a configured stream's name or any table's name."""
    streams, sinks = connector.config["streams"], connector.config["sinks"]
    try:
        if stream is not None:
            if stream in streams:
                return [_stream(connector, stream, streams[stream], sample)]
            if _table_columns(connector, stream) is not None:
                return [_table(connector, stream, sample)]
            raise KeyError(f"{connector.instance} has no stream or table {stream!r}; streams: {sorted(streams)}")
        out = [_stream(connector, n, spec, sample) for n, spec in sorted(streams.items())]
        out += [_sink(connector, n, spec) for n, spec in sorted(sinks.items())]
        used = {spec.get("table") for spec in (*streams.values(), *sinks.values())}
        for table in sorted(inspect(connector.engine).get_table_names()):
            if table not in used and table != connector.config.get("idempotency_table"):
                out.append(_table(connector, table, sample))
        return out
    except sa_exc.SQLAlchemyError as exc:
        raise_translated(exc, "discovery failed", connector.secrets)
