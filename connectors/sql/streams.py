"""Incremental reads of a table or a query by the keyset ``(cursor_column, key)``.

Each page is one short statement::

    SELECT … FROM <table | (query) AS hub_src>
    WHERE cursor_col >= :c AND (cursor_col > :c OR key > :k)
    ORDER BY cursor_col, key LIMIT :batch

and the cursor is the ``(cursor_col, key)`` of the page's last row. Ties on the cursor
column (a bulk import stamping thousands of rows with one ``updated_at``) are broken by the
key, so a page boundary inside a tie neither skips nor repeats a row. Rows whose cursor
column is NULL are never read (give the column a NOT NULL default, or COALESCE it in a
query stream).

Known caveat: a row committed *late* with an ``updated_at`` older than the cursor (a long
transaction that stamped the row before a quicker one committed) is behind the cursor when
it becomes visible. ``overlap_seconds`` makes each incremental read start that many seconds
before the cursor; the re-read rows are exact duplicates the hub's inbox dedupes (same id,
same content hash).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import exc as sa_exc, text

from hub.connector import PermanentError, ReadBatch, Record, Stream

from connectors.sql import values
from connectors.sql.db import quote, quote_table, raise_translated

if TYPE_CHECKING:
    from connectors.sql.connector import SqlConnector

SOURCE_ALIAS = "hub_src"


def source_sql(connector: "SqlConnector", spec: dict[str, Any]) -> str:
    """The FROM clause item: a quoted table or the user's query as a derived table."""
    if spec.get("table"):
        return quote_table(connector.engine, spec["table"])
    query = spec["query"].strip().rstrip(";").strip()
    # Colons in the user's SQL (``::date`` casts, '10:30' literals) are SQL, not our
    # bind parameters: escape them for text().
    escaped = query.replace(":", "\\:")
    return f"({escaped}) AS {SOURCE_ALIAS}"


def selected_columns(spec: dict[str, Any]) -> list[str] | None:
    """The columns to select, key and cursor first; None means every column."""
    if not spec.get("columns"):
        return None
    wanted = [spec["key"], spec["cursor_column"], spec.get("deleted_column"), *spec["columns"]]
    return list(dict.fromkeys(c for c in wanted if c))


class TableStream(Stream):
    """Rows of one configured table or query. The connector makes one per configured
    stream name; ``rows`` is the name the standard suite and single-table setups use."""

    name = "rows"
    description = "rows of a configured table or query, incremental by (cursor_column, key)"

    def __init__(self, connector: "SqlConnector", name: str | None = None):
        super().__init__(connector)
        self.name = name or type(self).name  # type: ignore[misc]
        self.spec: dict[str, Any] = connector.stream_spec(self.name)

    # -- SQL --------------------------------------------------------------------------------
    def _statement(self, where: str) -> Any:
        c = self.connector
        spec = self.spec
        engine = c.engine
        cols = selected_columns(spec)
        select_list = "*" if cols is None else ", ".join(quote(engine, col) for col in cols)
        cur, key = quote(engine, spec["cursor_column"]), quote(engine, spec["key"])
        sql = f"SELECT {select_list} FROM {source_sql(c, spec)} WHERE {cur} IS NOT NULL"
        if where == "keyset":
            # The ``>=`` conjunct lets an index on (cursor_col, key) bound the scan.
            sql += f" AND {cur} >= :c AND ({cur} > :c OR {key} > :k)"
        elif where == "from":
            sql += f" AND {cur} >= :c"
        sql += f" ORDER BY {cur}, {key} LIMIT :limit"
        return text(sql)

    def _page(self, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        c = self.connector
        try:
            with c.engine.connect() as conn:
                result = conn.execute(self._statement(where), {**params, "limit": c.config["batch_size"]})
                keys = list(result.keys())
                rows = [dict(zip(keys, r)) for r in result.all()]  # plain tuples: no Row mappings per row
        except sa_exc.SQLAlchemyError as exc:
            raise_translated(exc, f"stream {self.name!r}: reading failed", c.secrets)
        for needed in (self.spec["key"], self.spec["cursor_column"], self.spec.get("deleted_column")):
            if needed and needed not in keys:
                raise PermanentError(f"stream {self.name!r}: column {needed!r} is not in the result (it has {keys})")
        return rows

    # -- records ----------------------------------------------------------------------------
    def _record(self, row: dict[str, Any]) -> Record:
        spec = self.spec
        stamp = None
        if spec["cursor_type"] == "timestamp":
            stamp = values.parse_timestamp(row[spec["cursor_column"]], self.connector.zone)
        deleted = values.is_deleted(row[spec["deleted_column"]]) if spec.get("deleted_column") else False
        jsonable, plain = values.jsonable, values.PLAIN
        return Record(
            native_id=str(jsonable(row[spec["key"]])),
            data={name: value if type(value) in plain else jsonable(value) for name, value in row.items()},
            updated_at=stamp,
            deleted=deleted,
        )

    def _cursor_of(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"cursor": values.encode(row[self.spec["cursor_column"]]), "key": values.encode(row[self.spec["key"]])}

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        limit = self.connector.config["batch_size"]
        if not cursor:
            where, params = "start", {}
        elif self.spec.get("overlap_seconds"):
            start = values.shift_back(values.decode(cursor["cursor"]), self.spec["overlap_seconds"])
            where, params = "from", {"c": start}
        else:
            where, params = "keyset", {"c": values.decode(cursor["cursor"]), "k": values.decode(cursor["key"])}
        while True:
            rows = self._page(where, params)
            if not rows:
                return
            cursor = self._cursor_of(rows[-1])
            yield ReadBatch(records=[self._record(r) for r in rows], cursor=cursor)
            if len(rows) < limit:
                return
            where, params = "keyset", {"c": values.decode(cursor["cursor"]), "k": values.decode(cursor["key"])}
